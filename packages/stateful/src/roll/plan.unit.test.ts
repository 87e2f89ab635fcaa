import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Member } from "../members/membership.ts";
import type { Operation, RollOperation } from "../operation/operation.ts";
import type { PodLike } from "../pods/pods.ts";
import { planRoll, type RollHooks, type RollInput } from "./plan.ts";

interface TestPod {
  uid: string;
  stale: boolean;
  ready: boolean;
  deleting?: boolean;
  crashLoop?: string;
}

function pod(id: number, p: TestPod): PodLike {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `s-${id}`,
      namespace: "ns",
      uid: p.uid,
      annotations: { hash: p.stale ? "old" : "new" },
      ...(p.deleting ? { deletionTimestamp: "2026-12-01T00:00:00Z" } : {}),
    },
    status: {
      conditions: [{ type: "Ready", status: p.ready ? "True" : "False" }],
      ...(p.crashLoop
        ? {
            containerStatuses: [
              {
                name: "main",
                restartCount: 4,
                state: { waiting: { reason: "CrashLoopBackOff", message: p.crashLoop } },
              },
            ],
          }
        : {}),
    },
  };
}

/** The system's answer in these tests: members it lists as lagging, and members it will not restart. */
interface Observed {
  lagging: ReadonlySet<number>;
  unsafe: ReadonlySet<number>;
}

const hooks: RollHooks<Member, Observed> = {
  chooseNext(pending, observed) {
    const next = pending.find((m) => !observed.unsafe.has(m.id));
    return next
      ? { kind: "restart", member: next }
      : { kind: "wait", blockers: pending.map((m) => `member ${m.id} is unsafe`) };
  },
  caughtUp(member, observed) {
    return observed.lagging.has(member.id) ? [`member ${member.id} is catching up`] : [];
  },
};

function input(
  pods: Record<number, TestPod>,
  operation: Operation | undefined,
  observed: Partial<Observed> = {},
  members: Member[] = Object.keys(pods).map((id) => ({ id: Number(id) })),
): RollInput<Member, Observed> {
  return {
    operation,
    members,
    pods: new Map(Object.entries(pods).map(([id, p]) => [Number(id), pod(Number(id), p)])),
    stale: (_m, p) => p.metadata.annotations?.hash === "old",
    observed: { lagging: new Set(), unsafe: new Set(), ...observed },
    hooks,
    reason: () => "configuration change",
    name: (m) => `member ${m.id}`,
    now: new Date("2026-12-01T10:00:00Z"),
  };
}

const fresh = (uid: string): TestPod => ({ uid, stale: false, ready: true });
const old = (uid: string): TestPod => ({ uid, stale: true, ready: true });

function rolling(current: number, restartedPod: string, done: number[] = []): RollOperation {
  return {
    type: "Roll",
    reason: "r",
    startedAt: "t",
    summary: "",
    pending: [],
    done,
    current,
    restartedPod,
  };
}

test("planRoll() is idle when no pod is stale and no roll is recorded", () => {
  assert.deepEqual(planRoll(input({ 0: fresh("a"), 1: fresh("b") }, undefined)), { kind: "idle" });
});

test("planRoll() yields to a scale operation instead of restarting anything", () => {
  const op: Operation = { type: "ScaleUp", reason: "r", startedAt: "t", summary: "", adding: [2] };
  assert.deepEqual(planRoll(input({ 0: old("a") }, op)), { kind: "yield", to: "ScaleUp" });
});

test("planRoll() records the chosen member and its pod's uid as current, and lists the events", () => {
  const plan = planRoll(input({ 0: fresh("a"), 1: old("b"), 2: old("c") }, undefined));
  assert.equal(plan.kind, "restart");
  if (plan.kind !== "restart") return;
  assert.equal(plan.member.id, 1);
  assert.equal(plan.pod.metadata.uid, "b");
  assert.equal(plan.operation.current, 1);
  assert.equal(plan.operation.restartedPod, "b");
  assert.deepEqual(plan.operation.pending, [2]);
  assert.equal(plan.operation.summary, "Roll 0/2");
  assert.equal(plan.operation.reason, "configuration change");
  assert.deepEqual(
    plan.events.map((e) => e.note),
    ["restarting member 1 (1/2)"],
  );
});

test("planRoll() waits while the deleted pod is still terminating", () => {
  const plan = planRoll(
    input({ 1: { ...fresh("b"), deleting: true }, 2: old("c") }, rolling(1, "b")),
  );
  assert.equal(plan.kind, "wait");
  assert.match(
    plan.kind === "wait" ? (plan.operation.waitingFor ?? "") : "",
    /member 1 is restarting/,
  );
});

test("planRoll() deletes the recorded pod again when the operator died before deleting it", () => {
  // Also what a cache that has not yet seen the delete leads to: the delete is repeated, harmlessly.
  const op = rolling(1, "b", [0]);
  const plan = planRoll(input({ 0: fresh("a2"), 1: fresh("b"), 2: old("c") }, op));
  assert.equal(plan.kind, "restart");
  if (plan.kind !== "restart") return;
  assert.equal(plan.member.id, 1, "the recorded member, not the next one");
  assert.equal(plan.pod.metadata.uid, "b");
  assert.deepEqual(plan.operation, op, "nothing new is recorded");
  assert.deepEqual(plan.events, []);
});

test("planRoll() says a restarted member is crash-looping, with the container's message", () => {
  const plan = planRoll(
    input(
      { 1: { uid: "b2", stale: false, ready: false, crashLoop: "bad config" }, 2: old("c") },
      rolling(1, "b"),
    ),
  );
  assert.equal(plan.kind, "wait");
  assert.match(
    plan.kind === "wait" ? (plan.operation.waitingFor ?? "") : "",
    /member 1 is not starting: container main restarted 4 time\(s\) \(CrashLoopBackOff\): bad config/,
  );
});

test("planRoll() moves on once the new pod is Ready and caught up, and counts the member done", () => {
  const plan = planRoll(input({ 1: fresh("b2"), 2: old("c") }, rolling(1, "b")));
  assert.equal(plan.kind, "restart");
  if (plan.kind !== "restart") return;
  assert.equal(plan.member.id, 2);
  assert.deepEqual(plan.operation.done, [1]);
  assert.equal(plan.operation.summary, "Roll 1/2");
  assert.deepEqual(
    plan.events.map((e) => e.action),
    ["MemberRestarted", "RestartMember"],
  );
});

test("planRoll() accepts a replacement pod that is stale again after a spec change mid-roll", () => {
  // The user changed the spec while member 1 restarted: its new pod is stale too, but it is the new pod.
  const plan = planRoll(input({ 1: old("b2"), 2: old("c") }, rolling(1, "b")));
  assert.equal(plan.kind, "restart");
  assert.deepEqual(plan.kind === "restart" && plan.operation.done, [1]);
});

test("planRoll() replaces a restarted member's pod that cannot start once the spec changed again (a typo fixed)", () => {
  const stuck: TestPod = { uid: "b2", stale: true, ready: false, crashLoop: "no such version" };
  const plan = planRoll(input({ 1: stuck, 2: old("c") }, rolling(1, "b")));
  assert.equal(plan.kind, "restart");
  if (plan.kind !== "restart") return;
  assert.equal(plan.member.id, 1, "the same member, not the next one");
  assert.equal(plan.pod.metadata.uid, "b2");
  assert.equal(plan.operation.restartedPod, "b2");
  assert.equal(plan.operation.current, 1);
  assert.deepEqual(plan.operation.done, [], "not counted done: it never came back");

  // Without a spec change the broken pod is waited for (and its problem reported), not replaced.
  const same = planRoll(input({ 1: { ...stuck, stale: false }, 2: old("c") }, rolling(1, "b")));
  assert.equal(same.kind, "wait");
});

test("planRoll() completes when every pod is up to date, listing who was restarted", () => {
  const plan = planRoll(input({ 0: fresh("a2"), 1: fresh("b2") }, rolling(1, "b", [0])));
  assert.equal(plan.kind, "complete");
  assert.deepEqual(plan.kind === "complete" && plan.done, [0, 1]);
});

test("planRoll() waits with the system's blockers when no pending member may restart", () => {
  const plan = planRoll(
    input({ 0: old("a"), 1: old("b") }, undefined, { unsafe: new Set([0, 1]) }),
  );
  assert.equal(plan.kind, "wait");
  if (plan.kind !== "wait") return;
  assert.equal(plan.operation.current, undefined);
  assert.equal(plan.operation.waitingFor, "member 0 is unsafe; member 1 is unsafe");
  assert.deepEqual(plan.operation.pending, [0, 1]);
});

/**
 * The roll's safety, over generated states: whatever the pods and the
 * system say, a member is only restarted when the member restarted before
 * it is back (a new pod, Ready, caught up), only if it is pending and the
 * system chose it, and never while a scale operation is recorded.
 */
test("planRoll() never restarts a member while the previous one is not back, nor one the system refused", () => {
  const arbPod = fc.record({
    uid: fc.constantFrom("u1", "u2", "u3"),
    stale: fc.boolean(),
    ready: fc.boolean(),
    deleting: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc.dictionary(fc.constantFrom("0", "1", "2", "3", "4"), arbPod, { minKeys: 1 }),
      fc.option(
        fc.record({ current: fc.nat({ max: 4 }), uid: fc.constantFrom("u1", "u2", "u3") }),
        {
          nil: undefined,
        },
      ),
      fc.uniqueArray(fc.nat({ max: 4 })),
      fc.uniqueArray(fc.nat({ max: 4 })),
      fc.boolean(),
      (pods, recorded, lagging, unsafe, scaling) => {
        const byId = Object.fromEntries(Object.entries(pods).map(([k, v]) => [Number(k), v]));
        const op: Operation | undefined = scaling
          ? { type: "ScaleDown", reason: "r", startedAt: "t", summary: "", removing: [] }
          : recorded
            ? rolling(recorded.current, recorded.uid)
            : undefined;
        const i = input(byId, op, { lagging: new Set(lagging), unsafe: new Set(unsafe) });
        const plan = planRoll(i);
        if (plan.kind !== "restart") return;
        assert.ok(!scaling);
        const chosen = byId[plan.member.id];
        assert.ok(chosen && !chosen.deleting, "never a pod already being deleted");
        if (recorded && byId[recorded.current]) {
          const prev = byId[recorded.current];
          if (plan.member.id === recorded.current && prev?.uid === recorded.uid) {
            // Carrying out the recorded delete: that very pod, still running.
            assert.ok(!prev.deleting);
            assert.deepEqual(plan.operation, i.operation, "nothing new is recorded");
            return;
          }
          if (plan.member.id === recorded.current && prev && !prev.ready) {
            // Replacing the member's own new pod, which could not start, with the changed spec's.
            assert.ok(!prev.deleting && prev.uid !== recorded.uid && prev.stale);
            assert.equal(plan.operation.restartedPod, prev.uid);
            return;
          }
          assert.ok(prev && !prev.deleting && prev.uid !== recorded.uid && prev.ready);
          assert.ok(!lagging.includes(recorded.current), "the previous member caught up first");
        }
        assert.ok(chosen.stale, "only a stale pod is restarted");
        assert.ok(!unsafe.includes(plan.member.id), "only a member the system chose");
        assert.equal(plan.operation.current, plan.member.id);
        assert.equal(plan.operation.restartedPod, chosen?.uid);
      },
    ),
    { numRuns: 2000 },
  );
});
