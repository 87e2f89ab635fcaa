import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  endpoint,
  type MasterReport,
  type MemberReport,
  type MonitoringSentinelReport,
  type RedisAddress,
  type ReplicaReport,
  type SentinelReport,
} from "../admin/port.ts";
import { describeBlocker } from "./blockers.ts";
import { promotionCandidate } from "./candidate.ts";
import { chooseMaster, type MasterDecision } from "./master.ts";
import { type Repair, repairs } from "./repairs.ts";
import { caughtUp, chooseNextRestart, restartedBlockers } from "./restart.ts";
import { chooseSentinelRestart } from "./sentinel-restart.ts";
import {
  namedMaster,
  promotedBy,
  sentinelAgreement,
  sentinelsCanFailOver,
  sentinelsMissingReplicas,
} from "./sentinels.ts";
import {
  claimants,
  defaultSyncBound,
  majority,
  memberAt,
  type Observed,
  type ReplicationObservation,
  syncState,
} from "./state.ts";

// --- builders -------------------------------------------------------------

const addr = (id: number): RedisAddress => ({ host: `r-${id}.r-members`, port: 6379 });
const sentinelAddr = (id: number): RedisAddress => ({
  host: `r-sentinel-${id}.r-sentinels`,
  port: 26379,
});
const stranger: RedisAddress = { host: "10.9.9.9", port: 6379 };

function master(id: number, offset = 1000, replicationId = "H1", previous?: string): MasterReport {
  return {
    id,
    reachable: true,
    role: "master",
    offset,
    replicationId,
    ...(previous ? { previousReplicationId: previous } : {}),
    loading: false,
    replicas: [],
  };
}

function replica(
  id: number,
  of: RedisAddress,
  offset = 1000,
  extra: Partial<Omit<ReplicaReport, "id" | "role" | "reachable">> = {},
): ReplicaReport {
  return {
    id,
    reachable: true,
    role: "replica",
    offset,
    replicationId: "H1",
    loading: false,
    following: of,
    masterLinkStatus: "up",
    syncInProgress: false,
    priority: 100,
    ...extra,
  };
}

const down = (id: number): MemberReport => ({
  id,
  reachable: false,
  role: "unknown",
  error: { reason: "unreachable", message: "connect ECONNREFUSED" },
});

/** Every master lists the replicas following it with their link up (lag `lag`). */
function linked(
  members: readonly Observed<MemberReport>[],
  lag = 0,
  unlisted: readonly number[] = [],
): Observed<MemberReport>[] {
  return members.map((m) => {
    const r = m.report;
    if (r?.role !== "master") return m;
    const replicas = members.flatMap((o) => {
      const x = o.report;
      return x?.role === "replica" &&
        x.masterLinkStatus === "up" &&
        endpoint(x.following) === endpoint(m.address) &&
        !unlisted.includes(o.id)
        ? [{ address: o.address, state: "online", offset: x.offset, lagSeconds: lag }]
        : [];
    });
    return { ...m, report: { ...r, replicas } };
  });
}

interface SentinelOptions {
  epoch?: number;
  failover?: boolean;
  /**
   * Its own failover is past promoting member `promoted` (state
   * `reconf_slaves`, the replica flagged `promoted`); `SENTINEL MASTER`
   * still names the old master.
   */
  promoted?: number;
  /** Members it knows as replicas (up). @default every member but the master */
  knows?: readonly number[];
  downKnown?: readonly number[];
  /** Sentinels it knows (up). @default every other */
  peers?: readonly number[];
  quorum?: number;
  ghostReplica?: boolean;
  ghostPeer?: boolean;
}

function sentinel(
  id: number,
  names: RedisAddress,
  n: number,
  k: number,
  o: SentinelOptions = {},
): MonitoringSentinelReport {
  const masterId = Array.from({ length: n }, (_, i) => i).find(
    (i) => endpoint(addr(i)) === endpoint(names),
  );
  const knows = o.knows ?? Array.from({ length: n }, (_, i) => i).filter((i) => i !== masterId);
  const peers = o.peers ?? Array.from({ length: k }, (_, i) => i).filter((i) => i !== id);
  const view = (address: RedisAddress, isDown: boolean) => ({
    address,
    flags: [
      ...(isDown ? ["s_down", "slave"] : ["slave"]),
      ...(o.promoted !== undefined && endpoint(address) === endpoint(addr(o.promoted))
        ? ["promoted"]
        : []),
    ],
    down: isDown,
    masterLinkOk: !isDown,
    offset: 0,
    priority: 100,
  });
  return {
    id,
    reachable: true,
    monitoring: true,
    master: names,
    flags: o.failover || o.promoted !== undefined ? ["master", "failover_in_progress"] : ["master"],
    subjectivelyDown: false,
    objectivelyDown: false,
    failoverInProgress: (o.failover ?? false) || o.promoted !== undefined,
    ...(o.promoted !== undefined ? { failoverState: "reconf_slaves" } : {}),
    configEpoch: o.epoch ?? 0,
    quorum: o.quorum ?? majority(k),
    replicas: [
      ...knows.map((i) => view(addr(i), o.downKnown?.includes(i) ?? false)),
      ...(o.ghostReplica ? [view({ host: "10.1.1.1", port: 6379 }, true)] : []),
    ],
    sentinels: [
      ...peers.map((p) => ({
        address: sentinelAddr(p),
        runId: `run-${p}`,
        flags: ["sentinel"],
        down: false,
      })),
      ...(o.ghostPeer
        ? [
            {
              address: { host: "10.2.2.2", port: 26379 },
              runId: "gone",
              flags: ["s_down", "sentinel"],
              down: true,
            },
          ]
        : []),
    ],
  };
}

/** `n` members, `m` the master, every replica in sync; `k` sentinels agreeing and knowing everything. */
function healthy(n: number, m = 0, k = 3, offsets?: readonly number[]): ReplicationObservation {
  const members = Array.from({ length: n }, (_, id) => ({
    id,
    address: addr(id),
    report:
      id === m
        ? master(id, Math.max(...(offsets ?? [1000])))
        : replica(id, addr(m), offsets?.[id] ?? 1000),
  }));
  return {
    members: linked(members),
    sentinels: Array.from({ length: k }, (_, id) => ({
      id,
      address: sentinelAddr(id),
      report: sentinel(id, addr(m), n, k),
    })),
    expectedSentinels: k,
    lastMaster: m,
  };
}

function withMember(
  obs: ReplicationObservation,
  id: number,
  report: MemberReport | undefined,
  extra: Partial<Observed<MemberReport>> = {},
): ReplicationObservation {
  const members = obs.members.map((m) =>
    m.id === id ? { id, address: m.address, ...extra, ...(report ? { report } : {}) } : m,
  );
  return { ...obs, members: linked(members) };
}

function withSentinel(
  obs: ReplicationObservation,
  id: number,
  report: SentinelReport | undefined,
): ReplicationObservation {
  return {
    ...obs,
    sentinels: obs.sentinels.map((s) =>
      s.id === id ? { id, address: s.address, ...(report ? { report } : {}) } : s,
    ),
  };
}

const sentinelDown = (id: number): SentinelReport => ({
  id,
  reachable: false,
  monitoring: false,
  error: { reason: "unreachable", message: "refused" },
});

/** What the set looks like once `actions` are carried out (Sentinel's own reactions left out). */
function apply(obs: ReplicationObservation, actions: readonly Repair[]): ReplicationObservation {
  let members = [...obs.members];
  let sentinels = [...obs.sentinels];
  const set = (id: number, report: MemberReport) => {
    members = members.map((m) => (m.id === id ? { ...m, report } : m));
  };
  for (const a of actions) {
    const current = members.find((m) => "id" in a && m.id === a.id)?.report;
    switch (a.kind) {
      case "demote":
      case "follow":
        if (current?.reachable) {
          set(
            a.id,
            replica(a.id, addr(a.to), current.offset, {
              masterLinkStatus: "down",
              syncInProgress: true,
            }),
          );
        }
        break;
      case "promote":
        if (current?.reachable) set(a.id, master(a.id, current.offset, "P", current.replicationId));
        break;
      case "monitor":
        sentinels = sentinels.map((s) =>
          s.id === a.sentinel
            ? {
                ...s,
                report: {
                  ...sentinel(s.id, addr(a.master), 0, 0, { knows: [], peers: [] }),
                  quorum: majority(obs.expectedSentinels),
                },
              }
            : s,
        );
        break;
      case "reset":
        sentinels = sentinels.map((s) =>
          s.id === a.sentinel && s.report?.monitoring
            ? { ...s, report: { ...s.report, replicas: [], sentinels: [] } }
            : s,
        );
        break;
    }
  }
  return { ...obs, members: linked(members), sentinels };
}

// --- generated states -------------------------------------------------------

const memberSpec = fc.record({
  kind: fc.constantFrom("master", "replica", "replica", "replica", "down"),
  follows: fc.integer({ min: -1, max: 4 }),
  offset: fc.integer({ min: 0, max: 3_000_000 }),
  linkUp: fc.constantFrom(true, true, true, false),
  syncing: fc.constantFrom(false, false, false, true),
  loading: fc.constantFrom(false, false, false, false, true),
  history: fc.constantFrom("H1", "H2", "H3"),
  previous: fc.option(fc.constantFrom("H1", "H2", "H3"), { nil: undefined }),
  unreachableForMs: fc.nat(60_000),
});

const sentinelSpec = fc.record({
  kind: fc.constantFrom("monitoring", "monitoring", "monitoring", "idle", "down"),
  names: fc.integer({ min: -1, max: 4 }),
  epoch: fc.nat(3),
  failover: fc.constantFrom(false, false, false, false, false, true),
  promoted: fc.option(fc.nat(4), { nil: undefined, freq: 4 }),
  knows: fc.subarray([0, 1, 2, 3, 4]),
  downKnown: fc.subarray([0, 1, 2, 3, 4]),
  peers: fc.subarray([0, 1, 2, 3, 4]),
  quorum: fc.integer({ min: 1, max: 5 }),
  ghostReplica: fc.constantFrom(false, false, true),
  ghostPeer: fc.constantFrom(false, false, true),
});

/** Anything: masters and replicas following anyone, sentinels saying anything. */
const arbChaos = fc
  .record({
    n: fc.integer({ min: 2, max: 5 }),
    k: fc.constantFrom(1, 3, 5),
    members: fc.array(memberSpec, { minLength: 5, maxLength: 5 }),
    sentinels: fc.array(sentinelSpec, { minLength: 5, maxLength: 5 }),
    lastMaster: fc.option(fc.nat(4), { nil: undefined }),
    lag: fc.nat(3),
  })
  .map(({ n, k, members, sentinels, lastMaster, lag }): ReplicationObservation => {
    const target = (i: number, f: number) =>
      f < 0 ? stranger : addr(f % n === i ? (i + 1) % n : f % n);
    const observed = members.slice(0, n).map((s, id) => {
      const report: MemberReport =
        s.kind === "down"
          ? down(id)
          : s.kind === "master"
            ? master(id, s.offset, s.history, s.previous)
            : replica(id, target(id, s.follows), s.offset, {
                masterLinkStatus: s.linkUp ? "up" : "down",
                syncInProgress: s.syncing,
                loading: s.loading,
                replicationId: s.history,
              });
      return { id, address: addr(id), report, unreachableForMs: s.unreachableForMs };
    });
    return {
      members: linked(observed, lag),
      sentinels: sentinels.slice(0, k).map((s, id) => {
        const report: SentinelReport =
          s.kind === "down"
            ? sentinelDown(id)
            : s.kind === "idle"
              ? { id, reachable: true, monitoring: false }
              : sentinel(id, s.names < 0 ? stranger : addr(s.names % n), n, k, {
                  epoch: s.epoch,
                  failover: s.failover,
                  ...(s.promoted !== undefined ? { promoted: s.promoted % n } : {}),
                  knows: s.knows.filter((i) => i < n),
                  downKnown: s.downKnown,
                  peers: s.peers.filter((p) => p < k && p !== id),
                  quorum: Math.min(s.quorum, k),
                  ghostReplica: s.ghostReplica,
                  ghostPeer: s.ghostPeer,
                });
        return { id, address: sentinelAddr(id), report };
      }),
      expectedSentinels: k,
      ...(lastMaster !== undefined && lastMaster < n ? { lastMaster } : {}),
    };
  });

/** A healthy set with a few of the things that go wrong. */
const arbTroubled = fc
  .record({
    n: fc.integer({ min: 2, max: 5 }),
    m: fc.nat(4),
    k: fc.constantFrom(1, 3, 5),
    offsets: fc.array(fc.integer({ min: 0, max: 2_000_000 }), { minLength: 5, maxLength: 5 }),
    downMembers: fc.subarray([0, 1, 2, 3, 4]),
    downSentinels: fc.subarray([0, 1, 2, 3, 4]),
    returning: fc.option(fc.nat(4), { nil: undefined }),
    promotedBy: fc.option(fc.nat(4), { nil: undefined }),
    /** The promoting sentinel is still re-pointing the replicas, and the others learnt its epoch. */
    finishing: fc.boolean(),
    forgetful: fc.boolean(),
    unreachableForMs: fc.nat(60_000),
  })
  .map(
    ({
      n,
      m: m0,
      k,
      offsets,
      downMembers,
      downSentinels,
      returning,
      promotedBy,
      finishing,
      forgetful,
      unreachableForMs,
    }) => {
      const m = m0 % n;
      let obs = healthy(n, m, k, offsets.slice(0, n));
      // An old master comes back, still a master, in another history.
      if (returning !== undefined && returning % n !== m) {
        const r = returning % n;
        obs = withMember(obs, r, master(r, offsets[r] ?? 0, "OLD"));
      }
      // One sentinel finished a failover to another member the others do not know of yet.
      if (promotedBy !== undefined && promotedBy % k !== 0 && n > 1) {
        const to = (m + 1) % n;
        obs = withMember(obs, to, master(to, offsets[to] ?? 0, "NEW", "H1"));
        obs = withSentinel(
          obs,
          promotedBy % k,
          finishing
            ? sentinel(promotedBy % k, addr(m), n, k, { epoch: 1, promoted: to })
            : sentinel(promotedBy % k, addr(to), n, k, { epoch: 1 }),
        );
        if (finishing) {
          for (let id = 0; id < k; id++)
            if (id !== promotedBy % k)
              obs = withSentinel(obs, id, sentinel(id, addr(to), n, k, { epoch: 1 }));
        }
      }
      for (const id of downMembers)
        if (id < n) obs = withMember(obs, id, down(id), { unreachableForMs });
      for (const id of downSentinels) if (id < k) obs = withSentinel(obs, id, sentinelDown(id));
      if (forgetful) {
        obs = {
          ...obs,
          sentinels: obs.sentinels.map((s) =>
            s.report?.monitoring ? { ...s, report: { ...s.report, replicas: [] } } : s,
          ),
        };
      }
      return obs;
    },
  );

/** A healthy set a roll could go on in, with small troubles: replicas behind, sentinels forgetful or remembering ghosts. */
const arbRollable = fc
  .record({
    n: fc.integer({ min: 2, max: 5 }),
    m: fc.nat(4),
    k: fc.constantFrom(1, 3, 5),
    offsets: fc.array(fc.integer({ min: 2_000_000, max: 3_000_000 }), {
      minLength: 5,
      maxLength: 5,
    }),
    troubles: fc.array(
      fc.constantFrom("ok", "ok", "ok", "link-down", "syncing", "far-behind", "unlisted", "down"),
      { minLength: 5, maxLength: 5 },
    ),
    sentinelTroubles: fc.array(
      fc.constantFrom("ok", "ok", "ok", "ghost-replica", "ghost-peer", "knows-none", "down"),
      { minLength: 5, maxLength: 5 },
    ),
  })
  .map(({ n, m: m0, k, offsets, troubles, sentinelTroubles }) => {
    const m = m0 % n;
    let obs = healthy(n, m, k, offsets.slice(0, n));
    for (let id = 0; id < n; id++) {
      if (id === m) continue;
      const offset = offsets[id] ?? 0;
      const t = troubles[id];
      if (t === "link-down")
        obs = withMember(obs, id, replica(id, addr(m), offset, { masterLinkStatus: "down" }));
      if (t === "syncing")
        obs = withMember(obs, id, replica(id, addr(m), offset, { syncInProgress: true }));
      if (t === "far-behind") obs = withMember(obs, id, replica(id, addr(m), 0));
      if (t === "down") obs = withMember(obs, id, down(id));
      if (t === "unlisted") obs = { ...obs, members: linked(obs.members, 0, [id]) };
    }
    for (let id = 0; id < k; id++) {
      const t = sentinelTroubles[id];
      if (t === "ghost-replica")
        obs = withSentinel(obs, id, sentinel(id, addr(m), n, k, { ghostReplica: true }));
      if (t === "ghost-peer")
        obs = withSentinel(obs, id, sentinel(id, addr(m), n, k, { ghostPeer: true }));
      if (t === "knows-none")
        obs = withSentinel(obs, id, sentinel(id, addr(m), n, k, { knows: [] }));
      if (t === "down") obs = withSentinel(obs, id, sentinelDown(id));
    }
    return obs;
  });

const arbObservation = fc.oneof(arbChaos, arbTroubled, arbRollable);

const masterIds = (obs: ReplicationObservation) => claimants(obs).sort((a, b) => a - b);

// --- chooseMaster -----------------------------------------------------------

test("chooseMaster() takes the master the sentinels agree on", () => {
  assert.deepEqual(chooseMaster(healthy(3, 1)), {
    kind: "master",
    id: 1,
    demote: [],
    by: "sentinels",
  });
});

test("chooseMaster() demotes an old master that returns, on the sentinels' word", () => {
  const obs = withMember(healthy(3, 1), 0, master(0, 5000, "OLD"));
  assert.deepEqual(chooseMaster(obs), { kind: "master", id: 1, demote: [0], by: "sentinels" });
  const plan = repairs(obs);
  assert.deepEqual(plan[0], {
    kind: "demote",
    id: 0,
    to: 1,
    reason: "member 0 says it is master, but member 1 is",
  });
});

test("chooseMaster() waits while a sentinel holds a newer epoch than the stale majority (never demotes the new master)", () => {
  // Sentinel 0 just promoted member 1; 1 and 2 still name member 0, which still says master.
  let obs = withMember(healthy(3, 0), 1, master(1, 1000, "NEW", "H1"));
  obs = withSentinel(obs, 0, sentinel(0, addr(1), 3, 3, { epoch: 1 }));
  const decision = chooseMaster(obs);
  assert.deepEqual(decision, {
    kind: "wait",
    blockers: [{ kind: "SentinelsConverging", sentinel: 0, epoch: 1 }],
    demote: [],
    toward: undefined,
  });
  assert.deepEqual(repairs(obs), []);
});

test("chooseMaster() waits while a failover is in progress, touching nothing", () => {
  const obs = withSentinel(healthy(3, 0), 2, sentinel(2, addr(0), 3, 3, { failover: true }));
  assert.deepEqual(chooseMaster(obs), {
    kind: "wait",
    blockers: [{ kind: "FailoverInProgress", sentinel: 2 }],
    demote: [],
    toward: undefined,
  });
});

test("chooseMaster() recognises the replica a failover promoted while its sentinel still re-points the others; only the old master is demoted meanwhile", () => {
  // A controlled failover: member 0 (writes paused) still says master; sentinel 0 promoted member 1
  // and is re-pointing member 2; sentinels 1 and 2 learnt the new epoch from its hello.
  let obs = withMember(healthy(3, 0), 1, master(1, 1000, "NEW", "H1"));
  obs = withSentinel(obs, 0, sentinel(0, addr(0), 3, 3, { epoch: 1, promoted: 1 }));
  obs = withSentinel(obs, 1, sentinel(1, addr(1), 3, 3, { epoch: 1 }));
  obs = withSentinel(obs, 2, sentinel(2, addr(1), 3, 3, { epoch: 1 }));
  const leader = obs.sentinels[0]?.report;
  assert.ok(leader?.monitoring);
  assert.deepEqual(namedMaster(leader), addr(1), "what it tells clients, not SENTINEL MASTER");
  assert.deepEqual(chooseMaster(obs), {
    kind: "master",
    id: 1,
    demote: [0],
    by: "sentinels",
    finishing: 0,
  });
  // Member 2 still follows member 0: Sentinel re-points it, the operator does not race it.
  assert.deepEqual(
    repairs(obs).map((r) => r.kind),
    ["demote"],
  );
  assert.deepEqual(chooseNextRestart([0], obs), {
    kind: "wait",
    blockers: [{ kind: "DemotionPending", ids: [0] }],
  });
  const demoted = withMember(obs, 0, replica(0, addr(1), 1000));
  assert.deepEqual(chooseNextRestart([0], demoted), {
    kind: "wait",
    blockers: [{ kind: "FailoverInProgress", sentinel: 0 }],
  });
});

test("chooseMaster() waits while a failover has not promoted yet, or its promotion is not yet a majority's word", () => {
  let obs = withMember(healthy(3, 0), 1, master(1, 1000, "NEW", "H1"));
  // Before the promoted replica reported itself master: in progress, nothing to act on.
  obs = withSentinel(obs, 0, sentinel(0, addr(0), 3, 3, { epoch: 1, failover: true }));
  assert.deepEqual(chooseMaster(obs), {
    kind: "wait",
    blockers: [{ kind: "FailoverInProgress", sentinel: 0 }],
    demote: [],
    toward: undefined,
  });
  // Promoted, but the others have not heard its hello yet.
  obs = withSentinel(obs, 0, sentinel(0, addr(0), 3, 3, { epoch: 1, promoted: 1 }));
  assert.deepEqual(chooseMaster(obs), {
    kind: "wait",
    blockers: [{ kind: "SentinelsConverging", sentinel: 0, epoch: 1 }],
    demote: [],
    toward: undefined,
  });
  // The majority names another member than the one it promoted: wait.
  obs = withMember(obs, 2, master(2, 1000, "OTHER", "H1"));
  obs = withSentinel(obs, 1, sentinel(1, addr(2), 3, 3, { epoch: 1 }));
  obs = withSentinel(obs, 2, sentinel(2, addr(2), 3, 3, { epoch: 1 }));
  assert.deepEqual(chooseMaster(obs), {
    kind: "wait",
    blockers: [{ kind: "FailoverInProgress", sentinel: 0 }],
    demote: [],
    toward: undefined,
  });
});

test("chooseMaster() waits for Sentinel when the master is down and Sentinel can fail over", () => {
  const obs = withMember(healthy(3, 0), 0, down(0), { unreachableForMs: 600_000 });
  const d = chooseMaster(obs);
  assert.equal(d.kind, "wait");
  assert.deepEqual(d.kind === "wait" && d.blockers, [{ kind: "MasterDown", id: 0 }]);
});

test("chooseMaster() promotes the replica with the highest offset only when Sentinel cannot, and not at once", () => {
  // The sentinels restarted while the master was down: they know no replica.
  let obs = withMember(healthy(3, 0, 3, [0, 700, 900]), 0, down(0), { unreachableForMs: 5_000 });
  obs = {
    ...obs,
    sentinels: obs.sentinels.map((s) => ({
      ...s,
      report: sentinel(s.id, addr(0), 3, 3, { knows: [] }),
    })),
  };
  assert.equal(sentinelsCanFailOver(obs), false);
  const early = chooseMaster(obs);
  assert.deepEqual(early.kind === "wait" && early.blockers, [
    { kind: "MasterLostRecently", id: 0, forMs: 5_000, afterMs: 30_000 },
  ]);
  const later = withMember(obs, 0, down(0), { unreachableForMs: 31_000 });
  const d = chooseMaster(later);
  assert.equal(d.kind, "promote");
  assert.equal(d.kind === "promote" && d.id, 2);
  const plan = repairs(later);
  assert.deepEqual(
    plan.map((a) => [a.kind, "id" in a ? a.id : a.sentinel]),
    [
      ["promote", 2],
      ["follow", 1],
      ["monitor", 0],
      ["monitor", 1],
      ["monitor", 2],
    ],
  );
});

test("chooseMaster() recognises its own earlier promotion while the sentinels still name the lost master, and demotes any other claimant", () => {
  // The sentinels name member 0 (gone) and know no replica; member 2 is master.
  let obs = withMember(healthy(3, 0, 3, [0, 700, 900]), 0, down(0), { unreachableForMs: 60_000 });
  obs = {
    ...obs,
    sentinels: obs.sentinels.map((s) => ({
      ...s,
      report: sentinel(s.id, addr(0), 3, 3, { knows: [] }),
    })),
  };
  obs = withMember(obs, 2, master(2, 900, "P", "H1"));
  assert.deepEqual(chooseMaster({ ...obs, lastMaster: 2 }), {
    kind: "master",
    id: 2,
    demote: [],
    by: "last-master",
  });
  // Not the operator's: an old master come back. Demoted, and the best replica promoted.
  const d = chooseMaster({ ...obs, lastMaster: 0 });
  assert.equal(d.kind, "promote");
  assert.deepEqual(d.kind === "promote" && [d.id, d.demote], [1, [2]]);
});

test("chooseMaster() with every sentinel down keeps the one member that says it is master", () => {
  let obs = healthy(3, 2);
  for (const s of [0, 1, 2]) obs = withSentinel(obs, s, sentinelDown(s));
  assert.deepEqual(chooseMaster(obs), { kind: "master", id: 2, demote: [], by: "sole-claimant" });
});

test("chooseMaster() without sentinels settles two masters by replication history, else waits", () => {
  let obs = healthy(3, 1);
  for (const s of [0, 1, 2]) obs = withSentinel(obs, s, sentinelDown(s));
  // Member 1 was promoted from member 0's history (its replid2), and 0 came back unrestarted.
  obs = withMember(obs, 1, master(1, 900, "NEW", "H1"));
  obs = withMember(obs, 0, master(0, 800, "H1"));
  assert.deepEqual(chooseMaster(obs), { kind: "master", id: 1, demote: [0], by: "history" });
  const { lastMaster: _last, ...withoutLast } = withMember(obs, 0, master(0, 800, "ZZ"));
  assert.deepEqual(chooseMaster(withoutLast), {
    kind: "wait",
    blockers: [{ kind: "MastersDisagree", ids: [0, 1] }],
    demote: [],
    toward: undefined,
  });
  assert.deepEqual(chooseMaster({ ...withoutLast, lastMaster: 0 }), {
    kind: "master",
    id: 0,
    demote: [1],
    by: "last-master",
  });
});

test("chooseMaster() names one reachable master, demotes every other, never acts during a failover before its promotion, and after it only on the promoted replica", () => {
  fc.assert(
    fc.property(arbObservation, (obs) => {
      const d = chooseMaster(obs);
      const masters = masterIds(obs);
      const views = obs.sentinels.flatMap((s) => (s.report?.monitoring ? [s.report] : []));
      const failingViews = views.filter((v) => v.failoverInProgress);
      const failing = failingViews.length > 0;
      if (failingViews.some((v) => promotedBy(v) === undefined)) {
        assert.deepEqual(d.kind === "wait" && d.demote, [], "before a promotion: touch nothing");
      }
      if (failing) {
        assert.notEqual(d.kind, "promote", "never promote beside a failing-over sentinel");
        if (d.kind === "wait") assert.deepEqual(d.demote, []);
      }
      if (d.kind === "master" && failing) {
        assert.equal(d.by, "sentinels");
        assert.ok(d.finishing !== undefined, "the decision says a failover is finishing");
        for (const v of failingViews) {
          const to = promotedBy(v);
          assert.equal(to && memberAt(obs, to), d.id, "only the replica each one promoted");
        }
        assert.equal(sentinelAgreement(obs).master, d.id, "on a majority's word");
        assert.ok(
          repairs(obs).every((r) => r.kind === "demote" && r.to === d.id),
          "while it finishes, only demotions to the promoted master",
        );
      }
      if (d.kind === "master" && !failing) assert.equal(d.finishing, undefined);
      if (d.kind === "master") {
        assert.ok(masters.includes(d.id), "the master says it is master");
        assert.deepEqual(
          [...d.demote].sort(),
          masters.filter((id) => id !== d.id),
        );
      }
      if (d.kind === "promote") {
        assert.equal(
          sentinelsCanFailOver(obs),
          false,
          "never behind the back of a Sentinel that can act",
        );
        assert.deepEqual(
          [...d.demote].sort(),
          masters,
          "every member claiming master is demoted first",
        );
        const r = obs.members.find((m) => m.id === d.id)?.report;
        assert.equal(r?.role, "replica");
      }
      if (d.kind === "wait") {
        assert.ok(d.blockers.length > 0, "a wait says why");
        assert.ok(d.demote.every((id) => masters.includes(id)));
        if (d.demote.length > 0) assert.ok(d.toward !== undefined && !d.demote.includes(d.toward));
      }
      const agreement = sentinelAgreement(obs);
      if (!failing && agreement.master !== undefined && masters.includes(agreement.master)) {
        assert.equal(d.kind === "master" && d.id, agreement.master, "the sentinels' choice wins");
      }
    }),
    { numRuns: 2000 },
  );
});

// --- repairs ----------------------------------------------------------------

test("repairs() points a stray replica at the master, monitors an idle sentinel, resets one sentinel remembering ghosts", () => {
  let obs = withMember(healthy(4, 0), 3, replica(3, stranger));
  obs = withSentinel(obs, 1, { id: 1, reachable: true, monitoring: false });
  obs = withSentinel(obs, 2, sentinel(2, addr(0), 4, 3, { ghostPeer: true }));
  assert.deepEqual(repairs(obs), [
    {
      kind: "follow",
      id: 3,
      to: 0,
      reason: "member 3 follows 10.9.9.9:6379, not the master (member 0)",
    },
    { kind: "monitor", sentinel: 1, master: 0, reason: "sentinel 1 does not monitor the set" },
  ]);
  // With sentinel 1 back, the others are a majority and sentinel 2 may be reset.
  obs = withSentinel(obs, 1, sentinel(1, addr(0), 4, 3));
  obs = withSentinel(obs, 0, sentinel(0, addr(0), 4, 3, { ghostReplica: true }));
  const plan = repairs(withMember(obs, 3, replica(3, addr(0))));
  assert.deepEqual(plan, [
    {
      kind: "reset",
      sentinel: 0,
      reason: "sentinel 0 remembers replica 10.1.1.1:6379, which is gone",
    },
  ]);
});

test("repairs() leaves a dissenting sentinel to Sentinel's hello protocol, unless it names an address nobody answers at", () => {
  const behind = withSentinel(healthy(3, 0), 2, sentinel(2, addr(1), 3, 3));
  assert.deepEqual(repairs(behind), []);
  const lost = withSentinel(healthy(3, 0), 2, sentinel(2, stranger, 3, 3));
  assert.deepEqual(repairs(lost), [
    {
      kind: "monitor",
      sentinel: 2,
      master: 0,
      reason: "sentinel 2 names 10.9.9.9:6379 as master, not member 0",
    },
  ]);
});

test("repairs() leave exactly one master, every replica following it, and a plan that then has nothing left to repair", () => {
  fc.assert(
    fc.property(arbObservation, (obs) => {
      const d: MasterDecision = chooseMaster(obs);
      const plan = repairs(obs);
      const kinds = plan.map((a) => a.kind);
      const firstOther = kinds.findIndex((k) => k !== "demote");
      if (firstOther >= 0)
        assert.ok(!kinds.slice(firstOther).includes("demote"), "demotions come first");
      assert.ok(kinds.filter((k) => k === "reset").length <= 1, "one sentinel reset at a time");
      const after = apply(obs, plan);
      if (d.kind === "wait") {
        assert.ok(
          kinds.every((k) => k === "demote"),
          "while waiting, only demotions",
        );
        assert.ok(
          masterIds(after).every((id) => masterIds(obs).includes(id)),
          "no new master",
        );
        return;
      }
      assert.deepEqual(masterIds(after), [d.id], "exactly one master");
      if (d.kind === "master" && d.finishing !== undefined) {
        // The failing-over sentinel re-points the replicas itself.
        assert.ok(
          kinds.every((k) => k === "demote"),
          "while a failover finishes, only demotions",
        );
        return;
      }
      for (const m of after.members) {
        if (m.id !== d.id && m.report?.role === "replica") {
          assert.equal(
            endpoint(m.report.following),
            endpoint(addr(d.id)),
            `member ${m.id} follows the master`,
          );
        }
      }
      const again = chooseMaster(after);
      assert.equal(again.kind === "master" && again.id, d.id, JSON.stringify(again));
      assert.ok(
        repairs(after).every((a) => a.kind === "monitor" || a.kind === "reset"),
        "nothing left to do on the members",
      );
    }),
    { numRuns: 2000 },
  );
});

// --- promotionCandidate ------------------------------------------------------

test("promotionCandidate() takes the in-sync replica with the highest offset, not a lagging one ahead", () => {
  let obs = healthy(4, 0, 3, [3_000_000, 2_500_000, 2_900_000, 2_950_000]);
  assert.equal(promotionCandidate(obs, 0), 3);
  obs = withMember(obs, 3, replica(3, addr(0), 2_950_000, { masterLinkStatus: "down" }));
  assert.equal(promotionCandidate(obs, 0), 2);
  // The master is lost: the highest offset of those that answer.
  assert.equal(promotionCandidate(withMember(obs, 0, down(0)), 0), 3);
});

test("promotionCandidate() never promotes a replica out of sync while one in sync exists", () => {
  fc.assert(
    fc.property(arbObservation, (obs) => {
      for (const m of masterIds(obs)) {
        const chosen = promotionCandidate(obs, m);
        const inSync = obs.members
          .filter((x) => x.id !== m)
          .map((x) => ({ id: x.id, s: syncState(obs, x.id, m) }))
          .flatMap(({ id, s }) => (s.inSync ? [{ id, offset: s.offset }] : []));
        if (inSync.length === 0) {
          assert.equal(chosen, undefined);
          continue;
        }
        const best = inSync.find((x) => x.id === chosen);
        assert.ok(best, `member ${chosen} is in sync`);
        assert.ok(
          inSync.every((x) => x.offset <= best.offset),
          "highest offset",
        );
      }
    }),
    { numRuns: 1000 },
  );
});

// --- the roll ---------------------------------------------------------------

test("chooseNextRestart() restarts replicas in id order, then fails over to the best replica, then the old master", () => {
  const obs = healthy(3, 1, 3, [500, 0, 400]);
  assert.deepEqual(chooseNextRestart([0, 1, 2], obs), { kind: "restart", id: 0 });
  assert.deepEqual(chooseNextRestart([1, 2], obs), { kind: "restart", id: 2 });
  assert.deepEqual(chooseNextRestart([1], obs), { kind: "failover", to: 0, via: 0 });
  assert.deepEqual(chooseNextRestart([], obs), { kind: "done" });
});

test("chooseNextRestart() waits while another replica is not in sync, and says why", () => {
  const obs = withMember(healthy(3, 0), 2, replica(2, addr(0), 1000, { masterLinkStatus: "down" }));
  const d = chooseNextRestart([1, 0], obs);
  assert.deepEqual(d, {
    kind: "wait",
    blockers: [{ kind: "ReplicaNotInSync", id: 2, why: "link-down" }],
  });
  assert.deepEqual(d.kind === "wait" && d.blockers.map(describeBlocker), [
    "member 2 has its link to the master down",
  ]);
  // The replica out of sync may itself restart: that costs nothing more.
  assert.deepEqual(chooseNextRestart([2, 0], obs), { kind: "restart", id: 2 });
  const lagging = healthy(3, 0, 3, [5_000_000, 5_000_000, 1_000]);
  assert.deepEqual(chooseNextRestart([2], lagging), { kind: "restart", id: 2 });
  assert.deepEqual(chooseNextRestart([1], lagging), {
    kind: "wait",
    blockers: [{ kind: "ReplicaNotInSync", id: 2, why: "lagging" }],
  });
});

test("chooseNextRestart() fails over only through a sentinel that knows the candidate", () => {
  let obs = healthy(2, 0);
  obs = {
    ...obs,
    sentinels: obs.sentinels.map((s) => ({
      ...s,
      report: sentinel(s.id, addr(0), 2, 3, { knows: [] }),
    })),
  };
  assert.deepEqual(chooseNextRestart([0], obs), {
    kind: "wait",
    blockers: [{ kind: "SentinelDoesNotKnowReplica", id: 1 }],
  });
});

test("chooseNextRestart() waits while the sentinels do not agree, or a member is still to be demoted", () => {
  let obs = healthy(3, 0);
  obs = withSentinel(obs, 1, sentinelDown(1));
  obs = withSentinel(obs, 2, sentinelDown(2));
  assert.deepEqual(chooseNextRestart([1], obs), {
    kind: "wait",
    blockers: [{ kind: "SentinelsNotAgreeing", agreeing: 1, needed: 2 }],
  });
  const returning = withMember(healthy(3, 1), 0, master(0, 10, "OLD"));
  assert.deepEqual(chooseNextRestart([2], returning), {
    kind: "wait",
    blockers: [{ kind: "DemotionPending", ids: [0] }],
  });
});

test("caughtUp() is ready only once every replica, asked itself, holds the paused master's offset", () => {
  const obs = healthy(3, 0, 3, [1000, 1000, 1000]);
  assert.deepEqual(caughtUp(obs, 0, [1, 2]), { ready: true, offset: 1000 });
  // Ahead of the master's offset as read a moment before: it holds every write.
  assert.deepEqual(caughtUp(withMember(obs, 2, replica(2, addr(0), 1010)), 0, [1, 2]), {
    ready: true,
    offset: 1000,
  });
  const not = (o: ReplicationObservation, why: string) =>
    assert.deepEqual(caughtUp(o, 0, [1, 2]), {
      ready: false,
      offset: 1000,
      behind: [{ id: 2, why }],
    });
  not(withMember(obs, 2, replica(2, addr(0), 990)), "behind");
  not(withMember(obs, 2, replica(2, addr(0), 1000, { replicationId: "H2" })), "other-history");
  not(withMember(obs, 2, replica(2, addr(1), 1000)), "following-another");
  not(withMember(obs, 2, replica(2, addr(0), 1000, { syncInProgress: true })), "syncing");
  not(withMember(obs, 2, down(2)), "down");
  not(withMember(obs, 2, master(2, 1000)), "not-a-replica");
  assert.deepEqual(caughtUp(withMember(obs, 0, down(0)), 0, [1, 2]), {
    ready: false,
    offset: undefined,
    behind: [{ id: 0, why: "not-a-replica" }],
  });
});

test("caughtUp() ready means each replica holds every write the master had: same history, offset at least its own (property)", () => {
  fc.assert(
    fc.property(arbObservation, fc.nat(4), (obs, f) => {
      const from = f % obs.members.length;
      const ids = obs.members.map((m) => m.id).filter((id) => id !== from);
      const c = caughtUp(obs, from, ids);
      if (!c.ready) {
        assert.ok(c.behind.length > 0, "a refusal names who is behind");
        return;
      }
      const m = obs.members.find((x) => x.id === from);
      assert.equal(m?.report?.role, "master");
      if (m?.report?.role !== "master") return;
      for (const id of ids) {
        const r = obs.members.find((x) => x.id === id)?.report;
        assert.equal(r?.role, "replica");
        if (r?.role !== "replica") continue;
        assert.equal(endpoint(r.following), endpoint(m.address));
        assert.equal(r.replicationId, m.report.replicationId);
        assert.ok(r.offset >= m.report.offset);
        assert.ok(!r.loading && !r.syncInProgress);
      }
    }),
    { numRuns: 1000 },
  );
});

test("a roll never restarts the master, never while another replica is out of sync, and fails over only to an in-sync replica with the highest offset", () => {
  fc.assert(
    fc.property(
      arbObservation,
      fc.subarray([0, 1, 2, 3, 4], { minLength: 1 }),
      (obs, pendingAll) => {
        const pending = pendingAll.filter((id) => obs.members.some((m) => m.id === id));
        const d = chooseNextRestart(pending, obs);
        const decision = chooseMaster(obs);
        if (d.kind === "wait") {
          assert.ok(d.blockers.length > 0, "a wait says why");
          return;
        }
        if (d.kind === "done") {
          assert.equal(pending.length, 0);
          return;
        }
        assert.equal(decision.kind, "master");
        if (decision.kind !== "master") return;
        assert.deepEqual(decision.demote, []);
        assert.equal(
          sentinelAgreement(obs).master,
          decision.id,
          "the sentinels agree on the master",
        );
        const others = obs.members.filter((m) => m.id !== decision.id);
        if (d.kind === "restart") {
          assert.notEqual(d.id, decision.id, "never the master");
          assert.ok(pending.includes(d.id));
          for (const m of others) {
            if (m.id !== d.id)
              assert.ok(syncState(obs, m.id, decision.id).inSync, `member ${m.id} in sync`);
          }
        }
        if (d.kind === "failover") {
          assert.deepEqual(pending, [decision.id], "only once no replica is pending");
          for (const m of others) assert.ok(syncState(obs, m.id, decision.id).inSync);
          const to = syncState(obs, d.to, decision.id);
          assert.ok(to.inSync);
          for (const m of others) {
            const s = syncState(obs, m.id, decision.id);
            assert.ok(s.inSync && s.offset <= to.offset, "the highest offset");
          }
          const via = obs.sentinels.find((s) => s.id === d.via)?.report;
          assert.ok(
            via?.monitoring &&
              via.replicas.some((r) => memberAt(obs, r.address) === d.to && !r.down),
            "the sentinel asked knows the replica",
          );
        }
      },
    ),
    { numRuns: 4000 },
  );
});

test("a whole roll: each replica once, in id order and back in sync before the next, one controlled failover, the old master last", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 5 }),
      fc.nat(4),
      fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 5, maxLength: 5 }),
      (n, m0, offsets) => {
        const first = m0 % n;
        let obs = healthy(n, first, 3, offsets.slice(0, n));
        let current = first;
        let epoch = 0;
        const pending = new Set(Array.from({ length: n }, (_, i) => i));
        const steps: string[] = [];
        for (let i = 0; i < 3 * n + 2; i++) {
          const d = chooseNextRestart([...pending], obs);
          if (d.kind === "done") break;
          assert.notEqual(d.kind, "wait", JSON.stringify(d));
          if (d.kind === "restart") {
            assert.notEqual(d.id, current, "the master is never restarted");
            steps.push(`restart ${d.id}`);
            const wasOffset = obs.members.find((m) => m.id === d.id)?.report;
            obs = withMember(obs, d.id, down(d.id));
            assert.ok(restartedBlockers(d.id, obs).length > 0, "not back while down");
            obs = withMember(
              obs,
              d.id,
              replica(d.id, addr(current), wasOffset?.reachable ? wasOffset.offset : 0),
            );
            assert.deepEqual(restartedBlockers(d.id, obs), []);
            pending.delete(d.id);
          }
          if (d.kind === "failover") {
            steps.push(`failover ${d.to}`);
            const best = Math.max(...offsets.slice(0, n).filter((_, id) => id !== current));
            assert.equal(offsets[d.to], best, "the replica with the highest offset");
            // Sentinel promotes `to`, repoints the others, and the old master follows.
            const old = current;
            current = d.to;
            epoch++;
            const top = Math.max(...offsets.slice(0, n));
            obs = {
              ...obs,
              members: linked(
                obs.members.map((m) => ({
                  ...m,
                  report:
                    m.id === current
                      ? master(m.id, top, `E${epoch}`, "H1")
                      : replica(m.id, addr(current), top),
                })),
              ),
              sentinels: obs.sentinels.map((s) => ({
                ...s,
                report: sentinel(s.id, addr(current), n, 3, { epoch }),
              })),
            };
            assert.ok(pending.has(old));
          }
        }
        const replicas = Array.from({ length: n }, (_, i) => i).filter((i) => i !== first);
        assert.deepEqual(
          steps.slice(0, replicas.length),
          replicas.map((i) => `restart ${i}`),
        );
        assert.equal(steps[replicas.length]?.startsWith("failover"), true);
        assert.deepEqual(steps.slice(replicas.length + 1), [`restart ${first}`]);
        assert.equal(pending.size, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test("describeBlocker() says what every blocker waits for", () => {
  assert.equal(
    describeBlocker({ kind: "SentinelsNotAgreeing", agreeing: 1, needed: 2 }),
    "1 sentinel agrees on the master, 2 needed",
  );
  assert.equal(
    describeBlocker({ kind: "SentinelDoesNotKnowReplica", id: 2 }),
    "no sentinel lists member 2 as a healthy replica yet (a failover now would abort)",
  );
  assert.equal(defaultSyncBound.maxOffsetLag, 1_048_576);
});

test("sentinelsMissingReplicas() names the sentinels that do not list every replica as healthy yet", () => {
  const obs = healthy(3);
  assert.deepEqual(
    sentinelsMissingReplicas(obs, [1, 2]),
    [],
    "a healthy set: every sentinel knows both",
  );
  // Sentinel 1 has not read the master's INFO since replica 2 joined; sentinel 2 sees replica 1 down.
  const learning = withSentinel(
    withSentinel(obs, 1, sentinel(1, addr(0), 3, 3, { knows: [1] })),
    2,
    sentinel(2, addr(0), 3, 3, { downKnown: [1] }),
  );
  assert.deepEqual(sentinelsMissingReplicas(learning, [1, 2]), [
    { sentinel: 1, missing: [2] },
    { sentinel: 2, missing: [1] },
  ]);
  // A sentinel that does not monitor the set is not counted here (it counts as not agreeing elsewhere).
  assert.deepEqual(sentinelsMissingReplicas(withSentinel(obs, 0, sentinelDown(0)), [1, 2]), []);
});

// --- chooseSentinelRestart -----------------------------------------------------

test("chooseSentinelRestart() restarts the lowest stale sentinel of a healthy set, one at a time", () => {
  const obs = healthy(3);
  assert.deepEqual(chooseSentinelRestart([2, 1], obs, undefined, [1, 2]), {
    kind: "restart",
    id: 1,
  });
  assert.deepEqual(chooseSentinelRestart([], obs, undefined, [1, 2]), { kind: "done" });
});

test("chooseSentinelRestart() waits while the members are busy, a failover runs, or a sentinel is not back", () => {
  const obs = healthy(3);
  assert.equal(chooseSentinelRestart([0], obs, "a roll", [1, 2]).kind, "wait");
  const failing = withSentinel(obs, 2, sentinel(2, addr(0), 3, 3, { failover: true }));
  assert.equal(chooseSentinelRestart([0], failing, undefined, [1, 2]).kind, "wait");
  // The sentinel restarted last is not answering yet, or monitors nothing yet.
  assert.equal(
    chooseSentinelRestart([1], withSentinel(obs, 0, sentinelDown(0)), undefined, [1, 2]).kind,
    "wait",
  );
  const idle = withSentinel(obs, 0, { id: 0, reachable: true, monitoring: false });
  assert.equal(chooseSentinelRestart([1], idle, undefined, [1, 2]).kind, "wait");
  // Back but not yet known to the others (no hello heard): no vote for a failover yet.
  const unknown = withSentinel(obs, 2, sentinel(2, addr(0), 3, 3, { peers: [1] }));
  assert.equal(chooseSentinelRestart([1], unknown, undefined, [1, 2]).kind, "wait");
  // Another sentinel does not list a replica yet: it could not fail over without the one restarted.
  const learning = withSentinel(obs, 2, sentinel(2, addr(0), 3, 3, { knows: [1] }));
  assert.equal(chooseSentinelRestart([1], learning, undefined, [1, 2]).kind, "wait");
  // ... but the one to restart lacking a replica does not stop its own restart.
  assert.deepEqual(chooseSentinelRestart([2], learning, undefined, [1, 2]), {
    kind: "restart",
    id: 2,
  });
});

test("chooseSentinelRestart() never restarts a sentinel unless every sentinel answers, monitors and names the master (property)", () => {
  fc.assert(
    fc.property(arbObservation, fc.subarray([0, 1, 2, 3, 4]), (obs, stale) => {
      const d = chooseSentinelRestart(
        stale.filter((id) => id < obs.expectedSentinels),
        obs,
        undefined,
        obs.members.map((m) => m.id),
      );
      if (d.kind !== "restart") return;
      const decision = chooseMaster(obs);
      assert.equal(decision.kind, "master");
      assert.equal(obs.sentinels.length, obs.expectedSentinels);
      for (const s of obs.sentinels) {
        assert.ok(s.report?.monitoring, `sentinel ${s.id} monitors`);
        assert.ok(!s.report.failoverInProgress);
        if (decision.kind === "master") assert.equal(memberAt(obs, s.report.master), decision.id);
      }
    }),
  );
});
