import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Member } from "../members/membership.ts";
import type { Operation, ScaleDownOperation } from "../operation/operation.ts";
import type { PodLike } from "../pods/pods.ts";
import { membershipMayChange } from "./membership-change.ts";
import { actOnScaleDown, keepAll, needsPod, planScaleDown } from "./scale-down.ts";

const now = new Date("2026-12-01T10:00:00Z");

function pod(id: number, deleting = false): PodLike {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `s-${id}`,
      uid: `u${id}`,
      ...(deleting ? { deletionTimestamp: "2026-12-01T00:00:00Z" } : {}),
    },
  };
}

const members: Member[] = [
  { id: 0 },
  { id: 1 },
  { id: 2, removing: true },
  { id: 3, removing: true },
];

function scaleDown(drained: boolean): ScaleDownOperation {
  return {
    type: "ScaleDown",
    reason: "r",
    startedAt: "t",
    summary: "",
    removing: [2, 3],
    ...(drained ? { drained } : {}),
  };
}

test("planScaleDown() drains first, and starts an operation for members marked without one", () => {
  const pods = new Map([0, 1, 2, 3].map((id) => [id, pod(id)]));
  const step = planScaleDown(members, pods, undefined, now);
  assert.equal(step.kind, "drain");
  if (step.kind !== "drain") return;
  assert.deepEqual(
    step.removing.map((m) => m.id),
    [2, 3],
  );
  assert.deepEqual(step.operation.removing, [2, 3]);
  assert.equal(step.operation.startedAt, now.toISOString());
});

test("planScaleDown() keeps draining a member whose pod vanished before it was drained", () => {
  const pods = new Map([0, 1, 3].map((id) => [id, pod(id)]));
  assert.equal(planScaleDown(members, pods, scaleDown(false), now).kind, "drain");
  assert.ok(
    needsPod({ id: 2, removing: true }, scaleDown(false)),
    "its pod is recreated to drain it",
  );
});

test("planScaleDown() stops drained members one at a time, then forgets them", () => {
  let pods = new Map([0, 1, 2, 3].map((id) => [id, pod(id)]));
  let step = planScaleDown(members, pods, scaleDown(true), now);
  assert.deepEqual(step.kind === "stop" && step.member.id, 2);
  pods = new Map([...pods, [2, pod(2, true)]]);
  assert.deepEqual(planScaleDown(members, pods, scaleDown(true), now).kind, "await-stop");
  pods.delete(2);
  step = planScaleDown(members, pods, scaleDown(true), now);
  assert.deepEqual(step.kind === "stop" && step.member.id, 3);
  pods.delete(3);
  step = planScaleDown(members, pods, scaleDown(true), now);
  assert.equal(step.kind, "forget");
  assert.deepEqual(step.kind === "forget" && step.staying.map((m) => m.id), [0, 1]);
  assert.ok(
    !needsPod({ id: 2, removing: true }, scaleDown(true)),
    "a drained member is not restarted",
  );
});

test("planScaleDown() never forgets a member before it is recorded as drained", () => {
  fc.assert(
    fc.property(
      fc.subarray([0, 1, 2, 3]),
      fc.subarray([2, 3]),
      fc.boolean(),
      (present, deleting, drained) => {
        const pods = new Map(present.map((id) => [id, pod(id, deleting.includes(id))]));
        const step = planScaleDown(members, pods, scaleDown(drained), now);
        if (step.kind === "forget" || step.kind === "stop" || step.kind === "await-stop")
          assert.ok(drained);
        if (step.kind === "forget")
          for (const id of [2, 3]) assert.ok(!pods.has(id), `member ${id}'s pod is gone`);
      },
    ),
  );
});

test("membershipMayChange() cuts into a roll only between two members, and into a scale-down only to take members back", () => {
  const add = { kind: "add" as const, members: [], added: [3] };
  const remove = { kind: "remove" as const, members: [], removing: [3] };
  const roll = (current?: number): Operation => ({
    type: "Roll",
    reason: "r",
    startedAt: "t",
    summary: "",
    pending: [1],
    done: [],
    ...(current === undefined ? {} : { current }),
  });
  assert.ok(membershipMayChange(add, undefined));
  assert.ok(membershipMayChange(add, roll()));
  assert.ok(!membershipMayChange(add, roll(0)));
  assert.ok(!membershipMayChange(remove, roll(0)));
  assert.ok(membershipMayChange(add, scaleDown(false)));
  assert.ok(!membershipMayChange(add, scaleDown(true)));
  assert.ok(!membershipMayChange(remove, scaleDown(false)));
  const scalingUp: Operation = {
    type: "ScaleUp",
    reason: "r",
    startedAt: "t",
    summary: "",
    adding: [3],
  };
  assert.ok(!membershipMayChange(remove, scalingUp));
  assert.ok(!membershipMayChange({ kind: "none" }, undefined));
});

test("a drain that refuses calls the removal off: every member kept, the operation cleared, no pod or volume touched", async () => {
  const step = planScaleDown(
    members,
    new Map([2, 3].map((id) => [id, pod(id)])),
    scaleDown(false),
    now,
  );
  assert.equal(step.kind, "drain");
  const recorded: { members: readonly Member[]; operation: Operation | null }[] = [];
  const events: string[] = [];
  const untouchable = new Proxy(
    {},
    {
      get: (_t, verb) => () => {
        throw new Error(`the API was called (${String(verb)})`);
      },
    },
  );
  const result = await actOnScaleDown(
    step,
    {
      name: (m) => `member ${m.id}`,
      claimName: (m) => `data-${m.id}`,
      drain: async () => ({ kind: "refused", message: "topic wide needs 4" }),
      forget: async () => assert.fail("forget called"),
    },
    {
      ctx: { client: untouchable as never, signal: new AbortController().signal },
      namespace: "ns",
      busyRequeueMs: 1000,
      record: async () => assert.fail("the operation was recorded instead of cleared"),
      recordMembers: async (m, operation) => {
        recorded.push({ members: m, operation });
      },
      event: (e) => events.push(`${e.reason}: ${e.note}`),
    },
  );
  assert.notEqual(result, "continue");
  assert.deepEqual(recorded, [
    { members: [{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }], operation: null },
  ]);
  assert.deepEqual(events, ["ScaleDownCalledOff: keeping member 2, member 3: topic wide needs 4"]);
});

test("keepAll() takes back every removal and leaves the other fields and the order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ id: fc.nat(50), removing: fc.boolean(), role: fc.string() })),
      (list) => {
        const kept = keepAll(list);
        assert.deepEqual(
          kept.map((m) => [m.id, m.role]),
          list.map((m) => [m.id, m.role]),
        );
        assert.ok(kept.every((m) => !m.removing));
        kept.forEach((m, i) => {
          if (!list[i]?.removing)
            assert.equal(m, list[i], "a member not removing is the same object");
        });
      },
    ),
  );
});
