import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type Blocker,
  caughtUpBlockers,
  chooseNextRestart,
  describeBlocker,
  describeBlockers,
  restartBlockers,
  restartOrder,
} from "./restart.ts";
import type {
  ClusterNode,
  KafkaObservation,
  NodeId,
  PartitionState,
  QuorumVoter,
  Role,
} from "./state.ts";

const now = 1_000_000;

// --- generators -------------------------------------------------------------

const arbRoles = fc.constantFrom<Role[]>(["broker"], ["controller"], ["broker", "controller"]);

const mostly = <T>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ arbitrary: usual, weight: 3 }, { arbitrary: rare, weight: 1 });

interface Scenario {
  nodes: ClusterNode[];
  obs: KafkaObservation;
  pending: ClusterNode[];
  catchingUp: NodeId | undefined;
}

const arbPartition = (topic: string, partition: number, brokers: NodeId[]) =>
  fc
    .integer({ min: 1, max: Math.min(3, brokers.length) })
    .chain((rf) => fc.shuffledSubarray(brokers, { minLength: rf, maxLength: rf }))
    .chain((replicas) =>
      fc
        .record({
          leaderIndex: fc.integer({ min: 0, max: replicas.length - 1 }),
          // Mostly healthy clusters, so that restarts are actually chosen and checked.
          followers: mostly(fc.constant(replicas), fc.subarray(replicas)),
          offlineRoll: fc.integer({ min: 0, max: 39 }),
        })
        .map(({ leaderIndex, followers, offlineRoll }): PartitionState => {
          const leader = replicas[leaderIndex] ?? -1;
          if (offlineRoll === 0) {
            return {
              topic,
              partition,
              replicas,
              isr: followers.filter((r) => r !== leader),
              leader: -1,
            };
          }
          const isr = replicas.filter((r) => r === leader || followers.includes(r));
          return { topic, partition, replicas, isr, leader };
        }),
    );

const arbScenario: fc.Arbitrary<Scenario> = fc
  .array(arbRoles, { minLength: 1, maxLength: 6 })
  .chain((roles) => {
    const nodes: ClusterNode[] = roles.map((r, id) => ({ id, roles: r }));
    const brokers = nodes.filter((n) => n.roles.includes("broker")).map((n) => n.id);
    const controllers = nodes.filter((n) => n.roles.includes("controller")).map((n) => n.id);
    const arbTopicPartitions =
      brokers.length === 0
        ? fc.constant([] as PartitionState[])
        : fc
            .array(fc.integer({ min: 1, max: 3 }), { maxLength: 4 })
            .chain((counts) =>
              fc.tuple(
                ...counts.flatMap((count, t) =>
                  Array.from({ length: count }, (_, p) => arbPartition(`t${t}`, p, brokers)),
                ),
              ),
            );
    const arbVoter = (id: NodeId): fc.Arbitrary<QuorumVoter> =>
      fc
        .oneof(
          { arbitrary: fc.integer({ min: now - 3000, max: now }), weight: 6 },
          { arbitrary: fc.constant(-1), weight: 1 },
          { arbitrary: fc.integer({ min: now - 20_000, max: now }), weight: 1 },
          { arbitrary: fc.integer({ min: now - 5_001, max: now - 4_999 }), weight: 1 },
        )
        .map((lastCaughtUpTimestamp) => ({ id, logEndOffset: 100, lastCaughtUpTimestamp }));
    return fc.record({
      nodes: fc.constant(nodes),
      partitions: arbTopicPartitions,
      minIsr: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
      defaultMinIsr: fc.integer({ min: 1, max: 3 }),
      liveBrokers: mostly(fc.constant(brokers), fc.subarray(brokers)),
      voters: fc.tuple(...controllers.map(arbVoter)),
      leaderId:
        controllers.length === 0
          ? fc.constant(-1)
          : mostly(fc.constantFrom(...controllers), fc.constant(-1)),
      reassigning: fc.integer({ min: 0, max: 9 }),
      pending: mostly(fc.shuffledSubarray(nodes, { minLength: 1 }), fc.subarray(nodes)),
      catchingUp: fc.option(fc.constantFrom(...nodes.map((n) => n.id)), { nil: undefined }),
    });
  })
  .map((s) => {
    const minIsr = new Map<string, number>();
    s.minIsr.forEach((m, t) => {
      // Leave some topics on the default.
      if (t % 2 === 0) minIsr.set(`t${t}`, m);
    });
    const first = s.partitions[0];
    const obs: KafkaObservation = {
      liveBrokers: new Set(s.liveBrokers),
      racks: new Map(),
      partitions: s.partitions,
      minIsr,
      defaultMinIsr: s.defaultMinIsr,
      quorum: { leaderId: s.leaderId, highWatermark: 100, voters: s.voters },
      reassignments: s.reassigning === 0 && first ? [{ ...first, adding: [], removing: [] }] : [],
      observedAt: now,
    };
    return { nodes: s.nodes, obs, pending: s.pending, catchingUp: s.catchingUp };
  });

// --- independent oracles ----------------------------------------------------

function minIsrOf(obs: KafkaObservation, topic: string): number {
  return obs.minIsr.get(topic) ?? obs.defaultMinIsr;
}

/** The cluster a moment after `node` goes down. */
function withoutNode(obs: KafkaObservation, node: NodeId): PartitionState[] {
  return obs.partitions.map((p) => {
    const isr = p.isr.filter((r) => r !== node);
    const leader = p.leader === node ? (isr[0] ?? -1) : p.leader;
    return { ...p, isr, leader };
  });
}

function caughtUpOracle(obs: KafkaObservation): NodeId[] {
  return obs.quorum.voters
    .filter(
      (v) =>
        v.id === obs.quorum.leaderId ||
        (v.lastCaughtUpTimestamp !== -1 && obs.observedAt - v.lastCaughtUpTimestamp <= 5000),
    )
    .map((v) => v.id);
}

const options = (s: Scenario) => (s.catchingUp === undefined ? {} : { catchingUp: s.catchingUp });

// --- properties -------------------------------------------------------------

test("chooseNextRestart() never restarts a broker that would take a partition below min.insync.replicas", () => {
  fc.assert(
    fc.property(arbScenario, (s) => {
      const decision = chooseNextRestart(s.pending, s.obs, options(s));
      if (!("restart" in decision)) return;
      const after = withoutNode(s.obs, decision.restart.id);
      s.obs.partitions.forEach((before, i) => {
        const p = after[i];
        assert.ok(p);
        const minIsr = minIsrOf(s.obs, p.topic);
        if (p.replicas.length > minIsr && p.isr.length < minIsr) {
          assert.ok(before.isr.length < minIsr, `${p.topic}-${p.partition} fell below min ISR`);
        }
        // Nor does it take a replicated partition offline.
        if (p.replicas.length > 1 && p.leader === -1) assert.equal(before.leader, -1);
      });
    }),
    { numRuns: 500 },
  );
});

test("chooseNextRestart() restarts a controller only if a majority of voters stays caught up (all others, below three voters)", () => {
  fc.assert(
    fc.property(arbScenario, (s) => {
      const decision = chooseNextRestart(s.pending, s.obs, options(s));
      if (!("restart" in decision)) return;
      const node = decision.restart;
      const isVoter = s.obs.quorum.voters.some((v) => v.id === node.id);
      if (!node.roles.includes("controller") && !isVoter) return;
      const remaining = caughtUpOracle(s.obs).filter((id) => id !== node.id);
      const voters = s.obs.quorum.voters.length;
      if (voters >= 3) assert.ok(remaining.length > voters / 2);
      // Smaller quorums cannot keep a majority through any restart: all the others must be caught up.
      else
        assert.equal(remaining.length, s.obs.quorum.voters.filter((v) => v.id !== node.id).length);
    }),
    { numRuns: 500 },
  );
});

test("chooseNextRestart() picks the active controller only when no other pending node may restart", () => {
  fc.assert(
    fc.property(arbScenario, (s) => {
      const decision = chooseNextRestart(s.pending, s.obs, options(s));
      if (!("restart" in decision) || decision.restart.id !== s.obs.quorum.leaderId) return;
      for (const other of s.pending) {
        if (other.id === decision.restart.id) continue;
        assert.notDeepEqual(restartBlockers(other, s.obs, options(s)), []);
      }
    }),
    { numRuns: 500 },
  );
});

test("chooseNextRestart() never restarts during a reassignment or with a partition offline", () => {
  fc.assert(
    fc.property(arbScenario, (s) => {
      const troubled =
        s.obs.reassignments.length > 0 || s.obs.partitions.some((p) => p.leader === -1);
      const decision = chooseNextRestart(s.pending, s.obs, options(s));
      if (troubled) assert.ok(!("restart" in decision));
    }),
    { numRuns: 500 },
  );
});

test("chooseNextRestart() is done exactly when nothing is pending", () => {
  fc.assert(
    fc.property(arbScenario, (s) => {
      const decision = chooseNextRestart(s.pending, s.obs, options(s));
      assert.equal("done" in decision, s.pending.length === 0);
      if ("wait" in decision) assert.ok(decision.wait.length > 0);
      if ("restart" in decision) assert.ok(s.pending.includes(decision.restart));
    }),
  );
});

test("restartBlockers() depends on the observation only, not on the order partitions arrive in", () => {
  fc.assert(
    fc.property(arbScenario, fc.integer(), (s, seed) => {
      const shuffled: KafkaObservation = {
        ...s.obs,
        partitions: [...s.obs.partitions].sort(
          (a, b) => hash(a, seed) - hash(b, seed) || a.partition - b.partition,
        ),
      };
      for (const node of s.nodes) {
        const first = restartBlockers(node, s.obs, options(s));
        assert.deepEqual(restartBlockers(node, s.obs, options(s)), first);
        assert.deepEqual(restartBlockers(node, shuffled, options(s)), first);
      }
      assert.deepEqual(
        chooseNextRestart(s.pending, shuffled, options(s)),
        chooseNextRestart(s.pending, s.obs, options(s)),
      );
    }),
  );
});

function hash(p: PartitionState, seed: number): number {
  let h = seed | 0;
  for (const ch of `${p.topic}/${p.partition}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h;
}

test("restartOrder() goes controllers, combined nodes, brokers, and the active controller last", () => {
  fc.assert(
    fc.property(arbScenario, (s) => {
      const active = s.obs.quorum.leaderId;
      const order = restartOrder(s.pending, active);
      assert.deepEqual(
        order.map((n) => n.id).sort((a, b) => a - b),
        s.pending.map((n) => n.id).sort((a, b) => a - b),
      );
      const rank = (n: ClusterNode) =>
        n.id === active ? 3 : n.roles.includes("broker") ? (n.roles.length === 2 ? 1 : 2) : 0;
      for (let i = 1; i < order.length; i++) {
        const a = order[i - 1];
        const b = order[i];
        assert.ok(a && b);
        assert.ok(rank(a) < rank(b) || (rank(a) === rank(b) && a.id < b.id));
      }
    }),
  );
});

// --- examples ---------------------------------------------------------------

const broker = (id: NodeId): ClusterNode => ({ id, roles: ["broker", "controller"] });

/** Three combined nodes, one topic "orders" with 6 partitions, RF 3, min ISR 2. */
function threeNodes(
  isrOf: (p: number) => NodeId[] = () => [0, 1, 2],
  overrides: Partial<KafkaObservation> = {},
): KafkaObservation {
  const partitions = Array.from({ length: 6 }, (_, p): PartitionState => {
    const replicas = [p % 3, (p + 1) % 3, (p + 2) % 3];
    const isr = isrOf(p);
    return { topic: "orders", partition: p, replicas, isr, leader: isr[0] ?? -1 };
  });
  return {
    liveBrokers: new Set([0, 1, 2]),
    racks: new Map(),
    partitions,
    minIsr: new Map([["orders", 2]]),
    defaultMinIsr: 1,
    quorum: {
      leaderId: 0,
      highWatermark: 500,
      voters: [0, 1, 2].map((id) => ({ id, logEndOffset: 500, lastCaughtUpTimestamp: now - 100 })),
    },
    reassignments: [],
    observedAt: now,
    ...overrides,
  };
}

test("with every ISR full, the first node that is not the active controller restarts", () => {
  const decision = chooseNextRestart([broker(0), broker(1), broker(2)], threeNodes());
  assert.deepEqual(decision, { restart: broker(1) });
});

test("with one broker out of the ISR, the others wait and that broker may restart", () => {
  const obs = threeNodes(() => [0, 1], { liveBrokers: new Set([0, 1]) });
  assert.deepEqual(restartBlockers(broker(1), obs)[0], {
    kind: "under-min-isr",
    node: 1,
    topic: "orders",
    partition: 0,
    isr: [0, 1],
    minIsr: 2,
  });
  assert.equal(restartBlockers(broker(1), obs).length, 6);
  assert.deepEqual(chooseNextRestart([broker(0), broker(1), broker(2)], obs), {
    restart: broker(2),
  });
  const waiting = chooseNextRestart([broker(0), broker(1)], obs);
  assert.ok("wait" in waiting);
  assert.equal(waiting.wait.length, 12);
});

test("the node restarted last must be live and back in every ISR before the next one goes", () => {
  const obs = threeNodes((p) => (p === 4 ? [1, 0] : [0, 1, 2]), { liveBrokers: new Set([0, 1]) });
  assert.deepEqual(restartBlockers(broker(1), obs, { catchingUp: 2 }), [
    { kind: "not-live", node: 2 },
    { kind: "not-in-isr", node: 2, topic: "orders", partition: 4 },
    { kind: "under-min-isr", node: 1, topic: "orders", partition: 4, isr: [1, 0], minIsr: 2 },
  ]);
  assert.deepEqual(restartBlockers(broker(1), threeNodes(), { catchingUp: 2 }), []);
});

test("a controller waits while too few voters are caught up", () => {
  const obs = threeNodes(undefined, {
    quorum: {
      leaderId: 0,
      highWatermark: 500,
      voters: [
        { id: 0, logEndOffset: 500, lastCaughtUpTimestamp: -1 },
        { id: 1, logEndOffset: 500, lastCaughtUpTimestamp: now - 1000 },
        { id: 2, logEndOffset: 300, lastCaughtUpTimestamp: now - 60_000 },
      ],
    },
  });
  assert.deepEqual(restartBlockers(broker(1), obs), [
    { kind: "quorum", node: 1, caughtUp: [0], needed: 2 },
  ]);
  // Node 2 is the one behind: restarting it costs the quorum nothing.
  assert.deepEqual(chooseNextRestart([broker(1), broker(2)], obs), { restart: broker(2) });
  assert.deepEqual(restartBlockers(broker(1), obs, { quorumLagMs: 120_000 }), []);
});

test("a single controller may restart, and one of two only while the other is caught up", () => {
  const single = threeNodes(undefined, {
    quorum: {
      leaderId: 0,
      highWatermark: 1,
      voters: [{ id: 0, logEndOffset: 1, lastCaughtUpTimestamp: now }],
    },
  });
  assert.deepEqual(restartBlockers(broker(0), single), []);
  const voters = (behind: number): QuorumVoter[] =>
    [0, 1].map((id) => ({
      id,
      logEndOffset: 1,
      lastCaughtUpTimestamp: id === behind ? now - 60_000 : now,
    }));
  const two = (behind: number) =>
    threeNodes(undefined, { quorum: { leaderId: 0, highWatermark: 1, voters: voters(behind) } });
  assert.deepEqual(restartBlockers(broker(0), two(1)), [
    { kind: "quorum", node: 0, caughtUp: [], needed: 1 },
  ]);
  assert.deepEqual(restartBlockers(broker(1), two(1)), []);
});

test("a partition with no spare replica does not block the roll, unless the restart would take it offline", () => {
  const partitions: PartitionState[] = [
    { topic: "tight", partition: 0, replicas: [0, 1], isr: [0, 1], leader: 0 },
    { topic: "single", partition: 0, replicas: [1], isr: [1], leader: 1 },
  ];
  const obs = threeNodes(undefined, { partitions, minIsr: new Map([["tight", 2]]) });
  assert.deepEqual(restartBlockers(broker(1), obs), []);
  const lagging = { ...obs, partitions: [{ ...partitions[0], isr: [1], leader: 1 }] } as const;
  assert.equal(restartBlockers(broker(1), lagging as KafkaObservation)[0]?.kind, "under-min-isr");
});

test("offline partitions, reassignments and a missing quorum leader stop every restart", () => {
  const offline = threeNodes((p) => (p === 3 ? [] : [0, 1, 2]));
  const reassigning = threeNodes(undefined, {
    reassignments: [
      { topic: "orders", partition: 0, replicas: [0, 1, 2], adding: [2], removing: [] },
    ],
  });
  const leaderless = threeNodes(undefined, {
    quorum: { ...threeNodes().quorum, leaderId: -1 },
  });
  const pending = [broker(1), broker(2)];
  assert.deepEqual(chooseNextRestart(pending, offline), {
    wait: [{ kind: "offline-partition", topic: "orders", partition: 3 }],
  });
  assert.deepEqual(chooseNextRestart(pending, reassigning), {
    wait: [{ kind: "reassigning", count: 1 }],
  });
  const noLeader = chooseNextRestart(pending, leaderless);
  assert.ok("wait" in noLeader);
  assert.deepEqual(noLeader.wait[0], { kind: "no-quorum-leader" });
});

test("describeBlocker() explains each blocker in one sentence", () => {
  const cases: [Blocker, string][] = [
    [
      { kind: "under-min-isr", node: 2, topic: "orders", partition: 3, isr: [0, 2], minIsr: 2 },
      "broker 2 hosts orders-3 whose ISR [0,2] would fall below min.insync.replicas=2",
    ],
    [
      { kind: "not-in-isr", node: 1, topic: "orders", partition: 0 },
      "broker 1 was restarted and is not yet back in the ISR of orders-0",
    ],
    [
      { kind: "not-live", node: 1 },
      "broker 1 was restarted and has not yet registered as a live broker",
    ],
    [
      { kind: "quorum", node: 4, caughtUp: [3], needed: 2 },
      "restarting controller 4 would leave 1 caught-up voters [3], fewer than the 2 needed",
    ],
    [{ kind: "no-quorum-leader" }, "the KRaft controller quorum has no leader"],
    [
      { kind: "offline-partition", topic: "a", partition: 0 },
      "partition a-0 is offline (no leader)",
    ],
    [{ kind: "reassigning", count: 1 }, "1 partition reassignment is still in progress"],
    [{ kind: "reassigning", count: 3 }, "3 partition reassignments are still in progress"],
  ];
  for (const [blocker, sentence] of cases) assert.equal(describeBlocker(blocker), sentence);
});

test("caughtUpBlockers() holds a restarted broker back until it is live and in every ISR it belongs to", () => {
  const broker = { id: 2, roles: ["broker"] as const };
  assert.deepEqual(
    caughtUpBlockers(
      broker,
      threeNodes(() => [0, 1, 2]),
    ),
    [],
  );
  const out = threeNodes((p) => (p === 1 ? [0, 1] : [0, 1, 2]), { liveBrokers: new Set([0, 1]) });
  assert.deepEqual(
    caughtUpBlockers(broker, out).map((b) => b.kind),
    ["not-live", "not-in-isr"],
  );
  // A broker that hosts nothing yet must still be registered.
  const empty = { ...threeNodes(() => [0, 1]), partitions: [] };
  assert.deepEqual(
    caughtUpBlockers({ id: 3, roles: ["broker"] }, empty).map((b) => b.kind),
    ["not-live"],
  );
});

test("caughtUpBlockers() holds a restarted controller back until it is caught up with the metadata log", () => {
  const lagging = threeNodes(() => [0, 1, 2], {
    quorum: {
      leaderId: 0,
      highWatermark: 500,
      voters: [
        { id: 0, logEndOffset: 500, lastCaughtUpTimestamp: now },
        { id: 1, logEndOffset: 500, lastCaughtUpTimestamp: now },
        { id: 2, logEndOffset: 10, lastCaughtUpTimestamp: now - 60_000 },
      ],
    },
  });
  const controller = { id: 2, roles: ["broker", "controller"] as const };
  assert.deepEqual(caughtUpBlockers(controller, lagging).map(describeBlocker), [
    "controller 2 was restarted and is catching up with the metadata log",
  ]);
  assert.deepEqual(
    caughtUpBlockers({ id: 0, roles: ["controller"] }, lagging),
    [],
    "the leader is caught up",
  );
});

test("describeBlockers() says a node's per-partition blockers once, with a count and an example", () => {
  const lagging = threeNodes((p) => (p < 4 ? [0, 1] : [0, 1, 2]));
  const blockers = caughtUpBlockers({ id: 2, roles: ["broker"] }, lagging);
  assert.equal(blockers.length, 4);
  assert.deepEqual(describeBlockers(blockers), [
    "broker 2 was restarted and is not yet back in the ISR of 4 partitions (e.g. orders-0)",
  ]);
  // One blocker stays the sentence describeBlocker() gives; other kinds pass through.
  assert.deepEqual(describeBlockers(blockers.slice(0, 1)), [
    describeBlocker(blockers[0] as Blocker),
  ]);
  assert.deepEqual(describeBlockers([{ kind: "no-quorum-leader" }]), [
    "the KRaft controller quorum has no leader",
  ]);
  const minIsr: Blocker[] = [0, 1].map((partition) => ({
    kind: "under-min-isr",
    node: 1,
    topic: "orders",
    partition,
    isr: [1, 2],
    minIsr: 2,
  }));
  assert.deepEqual(describeBlockers(minIsr), [
    "broker 1 hosts 2 partitions whose ISR would fall below min.insync.replicas (e.g. orders-0 whose ISR [1,2] would fall below min.insync.replicas=2)",
  ]);
});
