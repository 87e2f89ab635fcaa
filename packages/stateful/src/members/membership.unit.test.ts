import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type Member, type MembershipPolicy, planMembership } from "./membership.ts";

interface Voter extends Member {
  readonly voter: boolean;
}

function policy(desired: number): MembershipPolicy<Voter> {
  return {
    desired,
    initial: () => Array.from({ length: desired }, (_, id) => ({ id, voter: id < 3 })),
    removable: (m) => !m.voter,
    create: (id) => ({ id, voter: false }),
    refusal: (have, removable) => `keep at least ${have - removable}`,
  };
}

test("planMembership() creates the initial members when none are recorded", () => {
  const change = planMembership(undefined, policy(4));
  assert.deepEqual(change.kind === "create" && change.members.map((m) => m.id), [0, 1, 2, 3]);
});

test("planMembership() refuses a scale-down that needs a member the system keeps", () => {
  const change = planMembership(policy(3).initial(), policy(2));
  assert.deepEqual(change, { kind: "refuse", message: "keep at least 3" });
});

test("planMembership() reaches the desired count with unique ids, taking back draining members first", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 8 }),
      fc.array(fc.nat({ max: 8 }), { maxLength: 6 }),
      (start, steps) => {
        let members = planMembership<Voter>(undefined, policy(Math.max(3, start)));
        let current = members.kind === "create" ? members.members : [];
        for (const step of steps) {
          const desired = Math.max(3, step);
          const before = current;
          members = planMembership(current, policy(desired));
          if (members.kind === "add" || members.kind === "remove") current = members.members;
          const active = current.filter((m) => !m.removing);
          assert.equal(active.length, desired);
          assert.equal(new Set(current.map((m) => m.id)).size, current.length);
          if (members.kind === "add") {
            const draining = before.filter((m) => m.removing).map((m) => m.id);
            const reused = members.added.filter((id) => draining.includes(id));
            assert.equal(reused.length, Math.min(draining.length, members.added.length));
          }
        }
      },
    ),
  );
});
