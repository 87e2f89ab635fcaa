import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  actFailover,
  clone,
  ending,
  type Kill,
  type Node,
  replicate,
  runFailover,
  runSwitchover,
  SYSID,
  type World,
  writers,
} from "./_model.ts";
import { type Blocker, describeBlocker } from "./blockers.ts";
import { ineligibility } from "./candidate.ts";
import { type FailoverStep, planFailover, recordFailover } from "./failover.ts";
import { formatLsn, maxLsn, parseLsn } from "./lsn.ts";
import { choosePrimary } from "./primary.ts";
import { planRejoin, toRepoint } from "./rejoin.ts";
import { nextRestart, planSwitchover } from "./switchover.ts";
import {
  type ClusterObservation,
  type Election,
  type InstanceObservation,
  instanceOf,
  isForeign,
  isWriter,
  type PostgresStatus,
  type ReachableInstance,
  type SwitchoverRecord,
  type UnreachableInstance,
  walEnd,
} from "./types.ts";

// --- builders -------------------------------------------------------------

const now = new Date("2026-01-01T00:00:00Z");
const FOREIGN = "6999999999999999999";

function standby(id: number, lsn: bigint, o: Partial<ReachableInstance> = {}): ReachableInstance {
  return {
    id,
    reachable: true,
    kubeletReportsUp: true,
    fenced: false,
    inRecovery: true,
    timeline: 1,
    systemIdentifier: SYSID,
    receivedLsn: lsn,
    replayedLsn: lsn,
    ...o,
  };
}

function writer(id: number, lsn: bigint, o: Partial<ReachableInstance> = {}): ReachableInstance {
  return {
    id,
    reachable: true,
    kubeletReportsUp: true,
    fenced: false,
    inRecovery: false,
    timeline: 1,
    systemIdentifier: SYSID,
    currentLsn: lsn,
    ...o,
  };
}

function down(
  id: number,
  forMs = 60_000,
  o: Partial<UnreachableInstance> = {},
): UnreachableInstance {
  return {
    id,
    reachable: false,
    unreachableForMs: forMs,
    kubeletReportsUp: false,
    fenced: false,
    ...o,
  };
}

function cluster(
  instances: InstanceObservation[],
  status: Partial<PostgresStatus> = {},
  o: Partial<Omit<ClusterObservation, "instances" | "status">> = {},
): ClusterObservation {
  return {
    instances,
    synchronous: "off",
    failoverDelayMs: 30_000,
    status: { systemIdentifier: SYSID, primary: { id: 0, timeline: 1 }, ...status },
    ...o,
  };
}

const fencing = (from = 0): Election => ({
  phase: "fencing",
  from,
  timeline: 1,
  startedAt: now.toISOString(),
});

const kinds = (blockers: readonly Blocker[]) => blockers.map((b) => b.kind);

// --- choosePrimary ----------------------------------------------------------

test("choosePrimary() names the recorded primary while it writes", () => {
  const d = choosePrimary(cluster([writer(0, 100n), standby(1, 90n, { streamingFrom: 0 })]));
  assert.deepEqual(d, {
    kind: "primary",
    id: 0,
    timeline: 1,
    by: "recorded",
    fence: [],
    foreign: [],
  });
});

test("choosePrimary() fences an old primary come back on an older timeline", () => {
  const obs = cluster([writer(0, 500n), writer(1, 800n, { timeline: 2 })], {
    primary: { id: 1, timeline: 2 },
  });
  const d = choosePrimary(obs);
  assert.equal(d.kind, "primary");
  assert.equal(d.kind === "primary" && d.id, 1);
  assert.deepEqual(d.fence, [0]);
});

test("choosePrimary() lets a writer on a newer timeline win and fences the recorded one", () => {
  const obs = cluster([writer(0, 500n), writer(2, 400n, { timeline: 2 }), standby(1, 300n)]);
  const d = choosePrimary(obs);
  assert.deepEqual(d, {
    kind: "primary",
    id: 2,
    timeline: 2,
    by: "newer-timeline",
    fence: [0],
    foreign: [],
  });
});

test("choosePrimary() reports a conflict for two writers on the same highest timeline", () => {
  const obs = cluster([
    writer(0, 500n),
    writer(1, 400n, { timeline: 2 }),
    writer(2, 450n, { timeline: 2 }),
  ]);
  const d = choosePrimary(obs);
  assert.deepEqual(d, { kind: "conflict", ids: [1, 2], timeline: 2, fence: [0], foreign: [] });
});

test("choosePrimary() never names another cluster's writer, even on a newer timeline", () => {
  const obs = cluster([down(0), writer(1, 900n, { timeline: 7, systemIdentifier: FOREIGN })]);
  assert.deepEqual(choosePrimary(obs), { kind: "none", fence: [], foreign: [1] });
});

test("choosePrimary() recognises the election's own promotion after a kill before it was recorded", () => {
  const e: Election = { phase: "promoting", from: 0, to: 2, timeline: 1, startedAt: "t" };
  const obs = cluster(
    [down(0, 60_000, { fenced: true }), standby(1, 300n), writer(2, 310n, { timeline: 2 })],
    {
      election: e,
    },
  );
  const d = choosePrimary(obs);
  assert.equal(d.kind === "primary" && d.by, "handover");
  assert.equal(d.kind === "primary" && d.id, 2);
});

// --- planFailover -----------------------------------------------------------

test("planFailover() waits for failoverDelay, then for the kubelet to stop reporting the primary up", () => {
  const replicas = [standby(1, 90n), standby(2, 95n)];
  const early = planFailover(cluster([down(0, 10_000), ...replicas]), now);
  assert.equal(early.kind, "wait");
  assert.deepEqual(early.kind === "wait" && kinds(early.blockers), ["PrimaryUnreachable"]);
  const ready = planFailover(
    cluster([down(0, 60_000, { kubeletReportsUp: true }), ...replicas]),
    now,
  );
  assert.deepEqual(ready.kind === "wait" && kinds(ready.blockers), ["PrimaryUpPerKubelet"]);
});

test("planFailover() fences the lost primary first, recording the election before acting", () => {
  const step = planFailover(cluster([down(0), standby(1, 90n), standby(2, 95n)]), now);
  assert.deepEqual(step, { kind: "fence", id: 0, election: fencing(0) });
  const status = recordFailover(cluster([]).status, step);
  assert.equal(status.election?.phase, "fencing");
});

test("planFailover() leaves a primary unfenced when nothing could replace it", () => {
  const step = planFailover(cluster([down(0), down(1), standby(2, 95n, { timeline: 3 })]), now);
  assert.equal(step.kind, "wait");
  assert.deepEqual(step.kind === "wait" && kinds(step.blockers), ["NoCandidate"]);
});

test("planFailover() waits while a standby still streams from the fenced old primary", () => {
  const obs = cluster(
    [down(0, 60_000, { fenced: true }), standby(1, 90n, { streamingFrom: 0 }), standby(2, 95n)],
    { election: fencing() },
  );
  const step = planFailover(obs, now);
  assert.deepEqual(step.kind === "wait" && step.blockers, [
    { kind: "StreamingFromOldPrimary", from: 0, ids: [1] },
  ]);
});

test("planFailover() promotes the standby with the highest WAL position, ties to the lowest id", () => {
  const obs = cluster(
    [down(0, 60_000, { fenced: true }), standby(1, 95n), standby(2, 95n), standby(3, 80n)],
    { election: fencing() },
  );
  const step = planFailover(obs, now);
  assert.equal(step.kind, "promote");
  assert.equal(step.kind === "promote" && step.id, 1);
  assert.deepEqual(step.kind === "promote" && step.election, {
    phase: "promoting",
    from: 0,
    to: 1,
    timeline: 1,
    startedAt: now.toISOString(),
  });
});

test("planFailover() counts a restarted standby by its replayed position when it received nothing yet", () => {
  const restarted = standby(2, 120n);
  delete restarted.receivedLsn;
  const obs = cluster([down(0, 60_000, { fenced: true }), standby(1, 100n), restarted], {
    election: fencing(),
  });
  const step = planFailover(obs, now);
  assert.equal(step.kind === "promote" && step.id, 2);
});

test("planFailover() with synchronous ANY 1 of 3 refuses while two listed standbys are lost", () => {
  const obs = cluster(
    [down(0, 60_000, { fenced: true }), standby(1, 90n), down(2), down(3)],
    {
      election: fencing(),
      synchronous: { any: 1, standbys: [1, 2, 3] },
    },
    { synchronous: { any: 1 } },
  );
  const step = planFailover(obs, now);
  assert.equal(step.kind, "wait");
  const [b] = step.kind === "wait" ? step.blockers : [];
  assert.deepEqual(b, {
    kind: "SynchronousQuorumUnreachable",
    any: 1,
    listed: [1, 2, 3],
    usable: [1],
    needed: 3,
  });
  assert.match(b ? describeBlocker(b) : "", /set synchronous to off to accept the loss/);
  // The same cluster with synchronous off promotes, saying what may be lost.
  const off = planFailover({ ...obs, synchronous: "off" }, now);
  assert.equal(off.kind === "promote" && off.id, 1);
  assert.match(off.kind === "promote" ? off.why : "", /instances 0, 2, 3 could not be compared/);
});

test("planFailover() with synchronous ANY 2 of 3 promotes once two listed standbys answer", () => {
  const obs = cluster(
    [down(0, 60_000, { fenced: true }), standby(1, 90n), standby(2, 70n), down(3)],
    {
      election: fencing(),
      synchronous: { any: 2, standbys: [1, 2, 3] },
    },
    { synchronous: { any: 2 } },
  );
  const step = planFailover(obs, now);
  assert.equal(step.kind === "promote" && step.id, 1);
});

test("planFailover() re-promotes the old primary back in recovery when it is the most advanced", () => {
  const obs = cluster(
    [standby(0, 200n, { fenced: true }), standby(1, 150n), down(2)],
    {
      election: fencing(),
      synchronous: { any: 1, standbys: [1, 2] },
    },
    { synchronous: { any: 1 } },
  );
  const step = planFailover(obs, now);
  assert.equal(step.kind === "promote" && step.id, 0);
});

test("planFailover() resumes a promotion that happened before the operator recorded it", () => {
  const e: Election = { phase: "promoting", from: 0, to: 1, timeline: 1, startedAt: "t" };
  const obs = cluster(
    [down(0, 60_000, { fenced: true }), writer(1, 95n, { timeline: 2 }), standby(2, 90n)],
    {
      election: e,
    },
  );
  const step = planFailover(obs, now);
  assert.deepEqual(step, {
    kind: "promoted",
    primary: { id: 1, timeline: 2 },
    election: { ...e, phase: "repointing" },
  });
});

test("planFailover() never picks another candidate while the chosen one does not answer", () => {
  const e: Election = { phase: "promoting", from: 0, to: 1, timeline: 1, startedAt: "t" };
  const obs = cluster([down(0, 60_000, { fenced: true }), down(1), standby(2, 999n)], {
    election: e,
  });
  assert.deepEqual(planFailover(obs, now), {
    kind: "wait",
    blockers: [{ kind: "PromotingUnreachable", id: 1 }],
  });
});

test("planFailover() repoints the standbys, then completes leaving the old primary to the rejoin plan", () => {
  const e: Election = { phase: "repointing", from: 0, to: 1, timeline: 1, startedAt: "t" };
  const history = [{ timeline: 1, switchpoint: 95n }];
  const base = { election: e, primary: { id: 1, timeline: 2 } };
  const before = cluster(
    [down(0, 60_000, { fenced: true }), writer(1, 120n, { timeline: 2 }), standby(2, 90n)],
    base,
    {
      primaryHistory: history,
    },
  );
  assert.deepEqual(planFailover(before, now), { kind: "repoint", ids: [2], to: 1, election: e });
  const after = cluster(
    [
      down(0, 60_000, { fenced: true }),
      writer(1, 120n, { timeline: 2 }),
      standby(2, 120n, { timeline: 2, streamingFrom: 1 }),
    ],
    base,
    { primaryHistory: history },
  );
  assert.deepEqual(planFailover(after, now), { kind: "complete", primary: { id: 1, timeline: 2 } });
});

test("planFailover() does not complete while the new primary's history is needed to place the standbys", () => {
  const e: Election = { phase: "repointing", from: 0, to: 1, timeline: 1, startedAt: "t" };
  const obs = cluster(
    [down(0, 60_000, { fenced: true }), writer(1, 120n, { timeline: 2 }), standby(2, 90n)],
    { election: e, primary: { id: 1, timeline: 2 } },
  );
  assert.deepEqual(planFailover(obs, now), {
    kind: "wait",
    blockers: [{ kind: "HistoryUnknown", id: 2, timeline: 1 }],
  });
});

test("planFailover() waits for a switchover in progress", () => {
  const r: SwitchoverRecord = { phase: "stopping", from: 0, to: 1, startedAt: "t" };
  const step = planFailover(cluster([down(0), standby(1, 90n)], { switchover: r }), now);
  assert.deepEqual(step.kind === "wait" && kinds(step.blockers), ["SwitchoverInProgress"]);
});

// --- planRejoin -------------------------------------------------------------

const newPrimary = writer(1, 500n, { timeline: 2, checkpointTimeline: 2 });
const history = [{ timeline: 1, switchpoint: 300n }];

test("planRejoin() repoints an old primary whose WAL ends before the switchpoint", () => {
  const obs = cluster(
    [standby(0, 300n, { fenced: true }), newPrimary],
    { primary: { id: 1, timeline: 2 } },
    {
      primaryHistory: history,
    },
  );
  assert.deepEqual(planRejoin(obs, 0, 1), { kind: "repoint", to: 1 });
});

test("planRejoin() rewinds an old primary with writes past the switchpoint, after a checkpoint if needed", () => {
  const fresh = { ...newPrimary, checkpointTimeline: 1 };
  const obs = cluster(
    [standby(0, 340n, { fenced: true }), fresh],
    { primary: { id: 1, timeline: 2 } },
    {
      primaryHistory: history,
    },
  );
  assert.deepEqual(planRejoin(obs, 0, 1), {
    kind: "rewind",
    from: 1,
    checkpointFirst: true,
    why: "past-switchpoint",
    discards: { switchpoint: 300n, bytes: 40n },
  });
});

test("planRejoin() lifts the fence of an instance following the primary", () => {
  const obs = cluster(
    [standby(0, 500n, { fenced: true, timeline: 2, streamingFrom: 1 }), newPrimary],
    {
      primary: { id: 1, timeline: 2 },
    },
  );
  assert.deepEqual(planRejoin(obs, 0, 1), { kind: "following", unfence: true });
});

test("planRejoin() never rejoins another cluster's data and fences a stray writer first", () => {
  const obs = cluster(
    [standby(0, 10n, { systemIdentifier: FOREIGN }), newPrimary, writer(2, 50n)],
    {
      primary: { id: 1, timeline: 2 },
    },
  );
  assert.deepEqual(planRejoin(obs, 0, 1), { kind: "foreign", systemIdentifier: FOREIGN });
  assert.deepEqual(planRejoin(obs, 2, 1), { kind: "fence" });
  assert.deepEqual(toRepoint(obs, 1), { ids: [], blockers: [] });
});

test("planRejoin() waits for the primary's history to place an instance from an older timeline", () => {
  const obs = cluster([standby(0, 300n), newPrimary], { primary: { id: 1, timeline: 2 } });
  assert.deepEqual(planRejoin(obs, 0, 1), {
    kind: "wait",
    blockers: [{ kind: "HistoryUnknown", id: 0, timeline: 1 }],
  });
});

// --- planSwitchover / nextRestart ------------------------------------------

function healthyWorld(n: number, ends?: readonly bigint[]): World {
  const nodes: Node[] = Array.from({ length: n }, (_, id) => ({
    id,
    up: true,
    writer: id === 0,
    timeline: 1,
    end: ends?.[id] ?? 1000n,
    history: [],
    ...(id === 0 ? {} : { upstream: 0 }),
    fenced: false,
    sysid: SYSID,
    checkpointLsn: 0n,
  }));
  const standbys = nodes.filter((x) => x.id !== 0).map((x) => x.id);
  return {
    nodes,
    status: {
      systemIdentifier: SYSID,
      primary: { id: 0, timeline: 1 },
      synchronous: { any: 1, standbys },
    },
    synchronous: "off",
    failoverDelayMs: 30_000,
  };
}

test("planSwitchover() walks checkpoint, stop, promote, repoint and completes with no WAL lost", () => {
  const trace = runSwitchover(healthyWorld(3), 2);
  const seen = trace.steps.map((s) => s.kind);
  assert.deepEqual(seen, [
    "checkpoint",
    "stop",
    "promote",
    "promoted",
    "repoint",
    "complete",
    "idle",
  ]);
  const w = trace.world;
  assert.deepEqual(w.status.primary, { id: 2, timeline: 2 });
  assert.deepEqual(writers(w), [2]);
  const [old, other, fresh] = w.nodes;
  assert.equal(old?.upstream, 2);
  assert.equal(other?.upstream, 2);
  assert.ok(
    fresh && old && fresh.end >= old.end,
    "the new primary holds the old one's shutdown checkpoint",
  );
});

test("planSwitchover() will not start toward a standby that does not stream from the primary", () => {
  const w = healthyWorld(3);
  const n2 = w.nodes[2];
  if (n2) delete n2.upstream;
  const obs = (() => {
    const o = runSwitchover(w, 2, { maxSteps: 1 });
    return o.steps[0];
  })();
  assert.deepEqual(obs, {
    kind: "wait",
    blockers: [{ kind: "TargetNotReady", id: 2, why: "not-streaming-from-primary" }],
  });
});

test("planSwitchover() waits for the target to receive the old primary's shutdown checkpoint", () => {
  const r: SwitchoverRecord = { phase: "stopping", from: 0, to: 1, startedAt: "t" };
  const obs = cluster([standby(0, 1040n, { fenced: true }), standby(1, 1000n)], { switchover: r });
  const step = planSwitchover(obs, undefined, now);
  assert.deepEqual(step, {
    kind: "wait",
    blockers: [{ kind: "TargetBehindShutdown", id: 1, received: 1000n, shutdown: 1040n }],
    record: { ...r, shutdownLsn: formatLsn(1040n) },
  });
});

test("nextRestart() restarts standbys first and asks for a switchover before the primary", () => {
  const obs = cluster([
    writer(0, 100n),
    standby(1, 100n, { streamingFrom: 0 }),
    standby(2, 90n, { streamingFrom: 0 }),
  ]);
  assert.deepEqual(nextRestart([0, 2, 1], obs), { kind: "restart", id: 1 });
  assert.deepEqual(nextRestart([0], obs), { kind: "switchover", to: 1 });
  assert.deepEqual(nextRestart([], obs), { kind: "done" });
});

test("nextRestart() keeps ANY N synchronous standbys streaming while one restarts", () => {
  const obs = cluster(
    [
      writer(0, 100n),
      standby(1, 100n, { streamingFrom: 0 }),
      standby(2, 100n, { streamingFrom: 0 }),
    ],
    { synchronous: { any: 2, standbys: [1, 2] } },
    { synchronous: { any: 2 } },
  );
  const d = nextRestart([1], obs);
  assert.deepEqual(d.kind === "wait" && kinds(d.blockers), ["SynchronousStandbysShort"]);
});

// --- generators -------------------------------------------------------------

const lsnArb = fc.bigInt({ min: 0n, max: 2000n });

function instanceArb(id: number, n: number): fc.Arbitrary<InstanceObservation> {
  const peer = fc.option(fc.nat(n - 1), { nil: undefined });
  const reachable = fc
    .record({
      inRecovery: fc.constantFrom(true, true, true, false),
      timeline: fc.constantFrom(1, 1, 1, 2, 3),
      foreign: fc.constantFrom(false, false, false, false, false, false, true),
      current: lsnArb,
      received: fc.option(lsnArb, { nil: undefined }),
      replayed: fc.option(lsnArb, { nil: undefined }),
      streamingFrom: peer,
      fenced: fc.boolean(),
      kubeletReportsUp: fc.boolean(),
      checkpoint: fc.option(lsnArb, { nil: undefined }),
    })
    .map((r): InstanceObservation => {
      const i: ReachableInstance = {
        id,
        reachable: true,
        kubeletReportsUp: r.kubeletReportsUp,
        // A fence in effect on a writer is a contradiction: never observed.
        fenced: r.fenced && r.inRecovery,
        inRecovery: r.inRecovery,
        timeline: r.timeline,
        systemIdentifier: r.foreign ? FOREIGN : SYSID,
      };
      if (r.checkpoint !== undefined) i.checkpointLsn = r.checkpoint;
      if (!r.inRecovery) i.currentLsn = r.current;
      else {
        if (r.received !== undefined) i.receivedLsn = r.received;
        if (r.replayed !== undefined) i.replayedLsn = r.replayed;
        if (r.streamingFrom !== undefined && r.streamingFrom !== id)
          i.streamingFrom = r.streamingFrom;
      }
      return i;
    });
  const unreachable = fc
    .record({
      forMs: fc.constantFrom(0, 5_000, 29_999, 30_000, 600_000),
      kubeletReportsUp: fc.boolean(),
      fenced: fc.boolean(),
    })
    .map(
      (r): InstanceObservation => ({
        id,
        reachable: false,
        unreachableForMs: r.forMs,
        kubeletReportsUp: r.kubeletReportsUp,
        fenced: r.fenced,
      }),
    );
  return fc.oneof({ arbitrary: reachable, weight: 3 }, { arbitrary: unreachable, weight: 1 });
}

function electionArb(n: number): fc.Arbitrary<Election | undefined> {
  const id = fc.nat(n - 1);
  const startedAt = fc.constantFrom("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z");
  return fc.option(
    fc.oneof(
      fc.record({
        phase: fc.constant("fencing" as const),
        from: id,
        timeline: fc.constantFrom(1, 2),
        startedAt,
      }),
      fc.record({
        phase: fc.constantFrom("promoting" as const, "repointing" as const),
        from: id,
        to: id,
        timeline: fc.constantFrom(1, 2),
        startedAt,
      }),
    ),
    { nil: undefined },
  );
}

const obsArb: fc.Arbitrary<ClusterObservation> = fc.integer({ min: 2, max: 5 }).chain((n) =>
  fc
    .record({
      instances: fc.tuple(...Array.from({ length: n }, (_, id) => instanceArb(id, n))),
      primary: fc.option(fc.record({ id: fc.nat(n - 1), timeline: fc.constantFrom(1, 1, 2) }), {
        nil: undefined,
        freq: 8,
      }),
      election: electionArb(n),
      any: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      listed: fc.subarray(Array.from({ length: n }, (_, id) => id)),
      recorded: fc.boolean(),
      history: fc.option(
        fc.array(fc.record({ timeline: fc.constantFrom(1, 2), switchpoint: lsnArb }), {
          maxLength: 2,
        }),
        {
          nil: undefined,
        },
      ),
    })
    .map((r): ClusterObservation => {
      const status: PostgresStatus = { systemIdentifier: SYSID };
      if (r.primary) status.primary = r.primary;
      if (r.election) status.election = r.election;
      if (r.any !== undefined && r.recorded)
        status.synchronous = { any: r.any, standbys: r.listed };
      return {
        instances: r.instances,
        synchronous: r.any === undefined ? "off" : { any: r.any },
        failoverDelayMs: 30_000,
        status,
        ...(r.history ? { primaryHistory: r.history } : {}),
      };
    }),
);

/** A primary (0) that writes, and standbys mostly streaming from it: where a roll or switchover acts. */
const healthyObsArb: fc.Arbitrary<ClusterObservation> = fc.integer({ min: 2, max: 5 }).chain((n) =>
  fc
    .record({
      standbys: fc.array(
        fc.record({
          kind: fc.constantFrom(
            "streaming",
            "streaming",
            "streaming",
            "down",
            "foreign",
            "fenced",
            "other-timeline",
            "idle",
          ),
          lag: fc.bigInt({ min: 0n, max: 40n * 1024n * 1024n }),
        }),
        { minLength: n - 1, maxLength: n - 1 },
      ),
      any: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
      checkpointed: fc.boolean(),
    })
    .map((r): ClusterObservation => {
      const top = 100n * 1024n * 1024n;
      const instances: InstanceObservation[] = [
        writer(0, top, r.checkpointed ? { checkpointLsn: top } : {}),
        ...r.standbys.map((x, k): InstanceObservation => {
          const id = k + 1;
          const at = top - x.lag;
          switch (x.kind) {
            case "down":
              return down(id);
            case "foreign":
              return standby(id, at, { systemIdentifier: FOREIGN, streamingFrom: 0 });
            case "fenced":
              return standby(id, at, { fenced: true, streamingFrom: 0 });
            case "other-timeline":
              return standby(id, at, { timeline: 2, streamingFrom: 0 });
            case "idle":
              return standby(id, at);
            default:
              return standby(id, at, { streamingFrom: 0 });
          }
        }),
      ];
      const standbys = r.standbys.map((_, k) => k + 1);
      return cluster(
        instances,
        r.any === undefined ? {} : { synchronous: { any: r.any, standbys } },
        r.any === undefined ? {} : { synchronous: { any: r.any } },
      );
    }),
);

const anyObsArb = fc.oneof(obsArb, healthyObsArb);

// --- properties: the failover's safety rules --------------------------------

test("planFailover() never promotes an instance with a lower WAL position than another eligible one", () => {
  fc.assert(
    fc.property(obsArb, (obs) => {
      const step = planFailover(obs, now);
      const e = obs.status.election;
      if (step.kind !== "promote" || e?.phase !== "fencing") return true;
      const chosen = walEnd(instanceOf(obs, step.id) as InstanceObservation) ?? -1n;
      const q = { from: e.from, timeline: e.timeline, allowFrom: true };
      return obs.instances.every(
        (i) => ineligibility(obs, i, q) !== undefined || (walEnd(i) ?? -1n) <= chosen,
      );
    }),
    { numRuns: 3000 },
  );
});

test("planFailover() promotes only with the election recorded and the old primary's fence in effect", () => {
  fc.assert(
    fc.property(obsArb, (obs) => {
      const step = planFailover(obs, now);
      const e = obs.status.election;
      if (!e) return !["promote", "promoted", "repoint"].includes(step.kind);
      if (step.kind !== "promote") return true;
      return (
        (e.phase === "fencing" || e.phase === "promoting") &&
        step.election.phase === "promoting" &&
        instanceOf(obs, e.from)?.fenced === true
      );
    }),
    { numRuns: 3000 },
  );
});

/**
 * Synchronous replication: L listed standbys with their true flushed
 * positions; a commit was acknowledged once ANY N of them flushed it, so
 * the newest acknowledged commit is at the N-th highest position. Some
 * standbys do not answer, some answer without a position.
 */
const syncArb = fc
  .record({
    listed: fc.array(
      fc.record({ lsn: lsnArb, seen: fc.constantFrom("yes", "yes", "down", "no-lsn") }),
      {
        minLength: 1,
        maxLength: 6,
      },
    ),
    unlisted: fc.array(lsnArb, { maxLength: 2 }),
    anyOffset: fc.nat(5),
    fromBack: fc.option(fc.bigInt({ min: 0n, max: 3000n }), { nil: undefined, freq: 4 }),
  })
  .map((r) => {
    const any = 1 + (r.anyOffset % r.listed.length);
    const sorted = r.listed.map((l) => l.lsn).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    const acked = sorted[any - 1] ?? 0n;
    const listedIds = r.listed.map((_, k) => k + 1);
    const instances: InstanceObservation[] = [
      r.fromBack === undefined
        ? down(0, 600_000, { fenced: true })
        : // Back in recovery it holds at least what any standby received from it.
          standby(0, maxLsn(r.fromBack, ...sorted, ...r.unlisted) ?? 0n, {
            fenced: true,
          }),
      ...r.listed.map((l, k): InstanceObservation => {
        if (l.seen === "down") return down(k + 1);
        const s = standby(k + 1, l.lsn);
        if (l.seen === "no-lsn") {
          delete s.receivedLsn;
          delete s.replayedLsn;
        }
        return s;
      }),
      ...r.unlisted.map((lsn, k) => standby(r.listed.length + 1 + k, lsn)),
    ];
    const obs = cluster(
      instances,
      { election: fencing(), synchronous: { any, standbys: listedIds } },
      {
        synchronous: { any },
      },
    );
    const usable = r.listed.filter((l) => l.seen === "yes").length;
    return {
      obs,
      acked,
      any,
      listedCount: r.listed.length,
      usable,
      fromBack: r.fromBack !== undefined,
    };
  });

test("planFailover() with synchronous ANY N never promotes when an acknowledged commit may be only on an unreachable standby", () => {
  fc.assert(
    fc.property(syncArb, ({ obs, acked }) => {
      const step = planFailover(obs, now);
      if (step.kind !== "promote") return true;
      const chosen = instanceOf(obs, step.id);
      return chosen !== undefined && (walEnd(chosen) ?? -1n) >= acked;
    }),
    { numRuns: 5000 },
  );
});

test("planFailover() with synchronous ANY N promotes once L − N + 1 listed standbys can be compared", () => {
  fc.assert(
    fc.property(syncArb, ({ obs, any, listedCount, usable, fromBack }) => {
      const step = planFailover(obs, now);
      const enough = usable >= listedCount - any + 1 || fromBack;
      return enough ? step.kind === "promote" : step.kind === "wait";
    }),
    { numRuns: 3000 },
  );
});

test("planFailover() never makes two promote decisions for one election, whatever it observes", () => {
  const rounds = fc.integer({ min: 2, max: 4 }).chain((n) =>
    fc.array(fc.tuple(...Array.from({ length: n }, (_, id) => instanceArb(id, n))), {
      minLength: 4,
      maxLength: 14,
    }),
  );
  fc.assert(
    fc.property(
      rounds,
      fc.constantFrom<"off" | { any: number }>("off", { any: 1 }),
      (seq, synchronous) => {
        let status: PostgresStatus = {
          systemIdentifier: SYSID,
          primary: { id: 0, timeline: 1 },
          synchronous: { any: 1, standbys: [1, 2, 3] },
        };
        const promoted = new Map<string, Set<number>>();
        seq.forEach((instances, k) => {
          const obs: ClusterObservation = {
            instances,
            synchronous,
            failoverDelayMs: 30_000,
            status,
          };
          const step = planFailover(obs, new Date(Date.UTC(2026, 0, 1, 0, k)));
          if (step.kind === "promote") {
            const key = `${step.election.from}@${step.election.startedAt}`;
            const ids = promoted.get(key) ?? new Set<number>();
            ids.add(step.id);
            promoted.set(key, ids);
          }
          status = recordFailover(status, step);
        });
        return [...promoted.values()].every((ids) => ids.size <= 1);
      },
    ),
    { numRuns: 2000 },
  );
});

test("a different system identifier is never chosen, promoted, repointed, rejoined or switched to", () => {
  fc.assert(
    fc.property(anyObsArb, (obs) => {
      const foreign = new Set(obs.instances.filter((i) => isForeign(obs, i)).map((i) => i.id));
      const d = choosePrimary(obs);
      if (d.kind === "primary" && foreign.has(d.id)) return false;
      const step = planFailover(obs, now);
      if (step.kind === "promote" && foreign.has(step.id)) return false;
      if (step.kind === "repoint" && step.ids.some((id) => foreign.has(id))) return false;
      for (const i of obs.instances) {
        for (const p of obs.instances) {
          if (p.id === i.id) continue;
          const r = planRejoin(obs, i.id, p.id);
          if (foreign.has(i.id) && r.kind !== "foreign" && r.kind !== "wait") return false;
          if (!foreign.has(i.id) && r.kind === "foreign") return false;
        }
        if (toRepoint(obs, i.id).ids.some((id) => foreign.has(id))) return false;
      }
      const s = planSwitchover(obs, {}, now);
      if ("record" in s && s.record && foreign.has(s.record.to)) return false;
      const r = nextRestart([0, 1, 2, 3, 4], obs);
      return !(r.kind === "switchover" && foreign.has(r.to));
    }),
    { numRuns: 3000 },
  );
});

test("choosePrimary() names one writer of the cluster and fences every other, or reports a conflict", () => {
  fc.assert(
    fc.property(obsArb, (obs) => {
      const d = choosePrimary(obs);
      const ws = obs.instances.filter((i) => isWriter(obs, i)).map((i) => i.id);
      if (d.kind === "primary") {
        return (
          isWriter(obs, instanceOf(obs, d.id)) &&
          !d.fence.includes(d.id) &&
          ws.every((w) => w === d.id || d.fence.includes(w))
        );
      }
      if (d.kind === "conflict") {
        return d.ids.length >= 2 && ws.every((w) => d.ids.includes(w) || d.fence.includes(w));
      }
      return ws.every((w) => d.fence.includes(w));
    }),
    { numRuns: 3000 },
  );
});

test("nextRestart() never restarts the primary while it is primary", () => {
  fc.assert(
    fc.property(anyObsArb, fc.subarray([0, 1, 2, 3, 4]), (obs, pending) => {
      const d = nextRestart(pending, obs);
      if (d.kind !== "restart") return true;
      const p = choosePrimary(obs);
      return (
        p.kind === "primary" && d.id !== p.id && isWriter(obs, instanceOf(obs, d.id)) === false
      );
    }),
    { numRuns: 3000 },
  );
});

test("planSwitchover() starts only toward a streaming standby of this cluster on the primary's timeline", () => {
  fc.assert(
    fc.property(healthyObsArb, fc.option(fc.nat(4), { nil: undefined }), (obs, to) => {
      const step = planSwitchover(obs, to === undefined ? {} : { to }, now);
      if (step.kind !== "checkpoint") return true;
      const t = instanceOf(obs, step.record.to);
      return (
        step.id === 0 &&
        t?.reachable === true &&
        t.inRecovery &&
        !t.fenced &&
        !isForeign(obs, t) &&
        t.timeline === 1 &&
        t.streamingFrom === 0 &&
        (to === undefined || to === t.id)
      );
    }),
    { numRuns: 3000 },
  );
});

test("planSwitchover() promotes only a target holding the old primary's shutdown LSN", () => {
  const recordArb = fc.record({
    phase: fc.constant("stopping" as const),
    from: fc.nat(1),
    to: fc.nat(4),
    startedAt: fc.constant("t"),
    shutdownLsn: fc.option(lsnArb.map(formatLsn), { nil: undefined }),
  });
  fc.assert(
    fc.property(obsArb, recordArb, (obs, raw) => {
      const { shutdownLsn, ...rest } = raw;
      const r: SwitchoverRecord = shutdownLsn === undefined ? rest : { ...rest, shutdownLsn };
      const o = { ...obs, status: { ...obs.status, switchover: r } };
      const { election: _, ...noElection } = o.status;
      const step = planSwitchover({ ...o, status: noElection }, undefined, now);
      if (step.kind !== "promote" || step.record.phase !== "promoting") return true;
      const t = instanceOf(o, step.id);
      const from = instanceOf(o, r.from);
      const shutdown = step.record.shutdownLsn;
      return (
        t !== undefined &&
        from?.reachable === true &&
        from.inRecovery &&
        (walEnd(t) ?? -1n) >= parseLsn(shutdown)
      );
    }),
    { numRuns: 3000 },
  );
});

// --- properties: the model, killed anywhere --------------------------------

interface Scenario {
  world: World;
  /** The newest commit acknowledged before the primary was lost. */
  acked: bigint;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    standbys: fc.array(
      fc.record({
        behind: fc.bigInt({ min: 0n, max: 400n }),
        up: fc.constantFrom(true, true, true, false),
      }),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
    primaryEnd: fc.bigInt({ min: 500n, max: 2000n }),
    any: fc.option(fc.nat(3), { nil: undefined }),
  })
  .map((r) => {
    const nodes: Node[] = [
      {
        id: 0,
        up: false,
        writer: true,
        timeline: 1,
        end: r.primaryEnd,
        history: [],
        fenced: false,
        sysid: SYSID,
        checkpointLsn: 0n,
      },
      ...r.standbys.map(
        (s, k): Node => ({
          id: k + 1,
          up: s.up,
          writer: false,
          timeline: 1,
          end: r.primaryEnd - s.behind,
          history: [],
          upstream: 0,
          fenced: false,
          sysid: SYSID,
          checkpointLsn: 0n,
        }),
      ),
    ];
    const listed = r.standbys.map((_, k) => k + 1);
    const any = r.any === undefined ? undefined : 1 + (r.any % listed.length);
    const ends = r.standbys
      .map((s) => r.primaryEnd - s.behind)
      .sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    const acked = any === undefined ? 0n : (ends[any - 1] ?? 0n);
    const world: World = {
      nodes,
      status: {
        systemIdentifier: SYSID,
        primary: { id: 0, timeline: 1 },
        ...(any === undefined ? {} : { synchronous: { any, standbys: listed } }),
      },
      synchronous: any === undefined ? "off" : { any },
      failoverDelayMs: 30_000,
    };
    return { world, acked };
  });

const killsArb = fc.array(fc.constantFrom<Kill>("none", "none", "before-record", "after-record"), {
  maxLength: 30,
});

test("a failover killed at any step reaches the same end as an uninterrupted one", () => {
  fc.assert(
    fc.property(scenarioArb, killsArb, ({ world }, kills) => {
      const straight = runFailover(world);
      const killed = runFailover(world, { kills, maxSteps: 80 });
      assert.deepEqual(ending(killed.world), ending(straight.world));
      return true;
    }),
    { numRuns: 1500 },
  );
});

test("a failover resumed from each phase it recorded reaches the same end", () => {
  fc.assert(
    fc.property(scenarioArb, ({ world }) => {
      const straight = runFailover(world);
      // Replay the uninterrupted run, and from each world it left behind
      // (status and instances as recorded), start a fresh operator.
      const w = clone(world);
      for (const [i, step] of straight.steps.entries()) {
        const resumed = runFailover(w);
        assert.deepEqual(
          ending(resumed.world),
          ending(straight.world),
          `resumed before step ${i} (${step.kind})`,
        );
        w.status = recordFailover(w.status, step);
        actFailover(w, step);
      }
      return true;
    }),
    { numRuns: 500 },
  );
});

test("a failover never leaves two writers, never loses an acknowledged commit, and is never undone by the old primary's return", () => {
  fc.assert(
    fc.property(scenarioArb, killsArb, fc.nat(20), ({ world, acked }, kills, returnAt) => {
      const old = world.nodes[0];
      const trace = runFailover(world, {
        kills,
        maxSteps: 80,
        after: (w, i) => {
          assert.ok(writers(w).length <= 1, `two writers: ${writers(w).join(", ")}`);
          const o = w.nodes[0];
          if (i === returnAt && o && old) {
            // The old primary's node comes back. Unfenced, it was only cut
            // off and still writes (with more WAL); fenced, its pod was
            // deleted and it starts in recovery.
            o.up = true;
            if (o.fenced) o.writer = false;
            else o.end += 7n;
            replicate(w);
          }
        },
      });
      const p = trace.world.status.primary;
      const primary = trace.world.nodes.find((n) => n.id === p?.id);
      assert.ok(writers(trace.world).length <= 1);
      if (p && p.id !== 0 && primary)
        assert.ok(primary.end >= acked, `lost commits up to ${acked}`);
      return true;
    }),
    { numRuns: 1500 },
  );
});

test("a switchover killed at any step reaches the same end, with the new primary holding all the old one wrote", () => {
  const arb = fc.record({
    n: fc.integer({ min: 2, max: 4 }),
    lag: fc.array(fc.bigInt({ min: 0n, max: 20n }), { minLength: 4, maxLength: 4 }),
    to: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  });
  fc.assert(
    fc.property(arb, killsArb, ({ n, lag, to }, kills) => {
      const w = healthyWorld(n, [1000n, ...lag.map((l) => 1000n - l)]);
      replicate(w);
      const target = to === undefined || to >= n ? undefined : to;
      const straight = runSwitchover(w, target);
      const killed = runSwitchover(w, target, {
        kills,
        maxSteps: 80,
        after: (x) => assert.ok(writers(x).length <= 1),
      });
      assert.deepEqual(ending(killed.world), ending(straight.world));
      const p = straight.world.status.primary;
      assert.notEqual(p?.id, 0);
      assert.equal(straight.world.status.switchover, undefined);
      const fresh = straight.world.nodes.find((x) => x.id === p?.id);
      const old = straight.world.nodes[0];
      assert.ok(fresh && old && fresh.end >= old.end && old.upstream === p?.id);
      return true;
    }),
    { numRuns: 1000 },
  );
});

test("describeBlocker() says something for every blocker the plans produce", () => {
  fc.assert(
    fc.property(anyObsArb, (obs) => {
      const steps: (FailoverStep | ReturnType<typeof planSwitchover>)[] = [
        planFailover(obs, now),
        planSwitchover(obs, {}, now),
      ];
      return steps.every(
        (s) => s.kind !== "wait" || s.blockers.every((b) => describeBlocker(b).length > 10),
      );
    }),
    { numRuns: 1000 },
  );
});
