import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { ClusterNodeReport, ClusterNodeView } from "../../admin/cluster-port.ts";
import { rangesOf, SLOTS, slotCount } from "../../admin/cluster-port.ts";
import { planClusterMembership, planHandover } from "./membership.ts";
import { planRepairs } from "./repairs.ts";
import { initialRanges, planSlotMoves, shares } from "./slots.ts";
import { buildView, type ClusterMember, type ClusterObservation, notServing } from "./view.ts";

// ---------------------------------------------------------------- slots

test("initialRanges() covers every slot once, in contiguous shares differing by at most one", () => {
  for (const n of [3, 4, 5, 7, 16, 100]) {
    const ranges = initialRanges(n);
    assert.equal(ranges.length, n);
    assert.equal(ranges[0]?.[0], 0);
    assert.equal(ranges[n - 1]?.[1], SLOTS - 1);
    for (let i = 1; i < n; i++) assert.equal(ranges[i]?.[0], (ranges[i - 1]?.[1] ?? 0) + 1);
    const sizes = ranges.map(([a, b]) => b - a + 1);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  }
  assert.deepEqual(initialRanges(3), [
    [0, 5461],
    [5462, 10922],
    [10923, 16383],
  ]);
});

/** A random ownership of every slot by shards 0..n-1 (contiguous blocks, as reshards leave them). */
const ownership = fc
  .record({
    shards: fc.integer({ min: 1, max: 8 }),
    cuts: fc.array(fc.integer({ min: 1, max: SLOTS - 1 }), { maxLength: 20 }),
    seed: fc.array(fc.nat(), { minLength: 21, maxLength: 21 }),
  })
  .map(({ shards, cuts, seed }) => {
    const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), SLOTS];
    const owners = new Map<number, number>();
    for (let i = 0; i + 1 < points.length; i++) {
      const shard = (seed[i] ?? 0) % shards;
      for (let s = points[i] ?? 0; s < (points[i + 1] ?? 0); s++) owners.set(s, shard);
    }
    return { shards, owners };
  });

function apply(owners: Map<number, number>, moves: ReturnType<typeof planSlotMoves>) {
  const out = new Map(owners);
  for (const m of moves) {
    assert.equal(out.get(m.slot), m.from, `slot ${m.slot} moved from a shard that does not own it`);
    out.set(m.slot, m.to);
  }
  return out;
}

function counts(owners: Map<number, number>) {
  const c = new Map<number, number>();
  for (const shard of owners.values()) c.set(shard, (c.get(shard) ?? 0) + 1);
  return c;
}

test("planSlotMoves() balances the staying shards, empties the removed ones, moves each slot at most once, only from over to under", () => {
  fc.assert(
    fc.property(
      ownership,
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 2 }),
      (o, added, removedCount) => {
        const existing = Array.from({ length: o.shards }, (_, i) => i);
        const removed = existing.slice(Math.max(1, o.shards - removedCount));
        const staying = [
          ...existing.filter((s) => !removed.includes(s)),
          ...Array.from({ length: added }, (_, i) => o.shards + i),
        ];
        const moves = planSlotMoves(o.owners, staying, removed);
        assert.equal(new Set(moves.map((m) => m.slot)).size, moves.length, "a slot moved twice");
        const after = apply(o.owners, moves);
        assert.equal(after.size, SLOTS);
        const c = counts(after);
        for (const r of removed) assert.equal(c.get(r) ?? 0, 0, `removed shard ${r} keeps slots`);
        const sizes = staying.map((s) => c.get(s) ?? 0);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unbalanced: ${sizes}`);
        const before = counts(o.owners);
        const share = shares(staying);
        for (const m of moves) {
          assert.ok(
            removed.includes(m.from) || (before.get(m.from) ?? 0) > (share.get(m.from) ?? 0),
            "a shard at or below its share gave a slot",
          );
          assert.ok(staying.includes(m.to), "a slot moved to a shard that is not staying");
        }
        // The fewest moves: exactly what the receivers lacked.
        const lacked = staying.reduce(
          (n, s) => n + Math.max(0, (share.get(s) ?? 0) - (before.get(s) ?? 0)),
          0,
        );
        assert.equal(moves.length, lacked);
      },
    ),
  );
});

test("planSlotMoves() of a balanced cluster moves nothing; 3 → 4 moves a quarter", () => {
  const owners = new Map<number, number>();
  initialRanges(3).forEach(([a, b], shard) => {
    for (let s = a; s <= b; s++) owners.set(s, shard);
  });
  assert.deepEqual(planSlotMoves(owners, [0, 1, 2]), []);
  const out = planSlotMoves(owners, [0, 1, 2, 3]);
  assert.equal(out.length, 4096);
  assert.ok(out.every((m) => m.to === 3));
});

// ---------------------------------------------------------------- membership

test("planClusterMembership(): bring-up in shard order, scale-out adds whole shards, scale-in marks the newest shard", () => {
  const created = planClusterMembership(undefined, { shards: 3, replicasPerShard: 1 }, new Map());
  assert.equal(created.kind, "create");
  const members = created.kind === "create" ? created.members : [];
  assert.deepEqual(
    members.map((m) => [m.id, m.shard]),
    [
      [0, 0],
      [1, 0],
      [2, 1],
      [3, 1],
      [4, 2],
      [5, 2],
    ],
  );
  const grown = planClusterMembership(members, { shards: 4, replicasPerShard: 1 }, new Map());
  assert.equal(grown.kind, "add");
  assert.deepEqual(grown.kind === "add" ? grown.added : [], [6, 7]);
  const four = grown.kind === "add" ? grown.members : [];
  assert.deepEqual(
    four.filter((m) => m.shard === 3).map((m) => m.id),
    [6, 7],
  );
  const shrunk = planClusterMembership(four, { shards: 3, replicasPerShard: 1 }, new Map());
  assert.equal(shrunk.kind, "remove");
  assert.deepEqual(shrunk.kind === "remove" ? shrunk.removing : [], [6, 7]);
  // Taking the shard back while it drains: its own members return.
  const marked = shrunk.kind === "remove" ? shrunk.members : [];
  const back = planClusterMembership(marked, { shards: 4, replicasPerShard: 1 }, new Map());
  assert.deepEqual(back.kind === "add" ? back.added : [], [6, 7]);
});

test("planClusterMembership() never marks a shard's master when replicas per shard go down", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 6 }),
      fc.integer({ min: 1, max: 4 }),
      fc.nat(),
      (shards, r, pick) => {
        const created = planClusterMembership(
          undefined,
          { shards, replicasPerShard: r },
          new Map(),
        );
        const members = created.kind === "create" ? created.members : [];
        const masters = new Map<number, number>();
        for (let s = 0; s < shards; s++) {
          const mine = members.filter((m) => m.shard === s);
          const m = mine[(pick + s) % mine.length];
          if (m) masters.set(s, m.id);
        }
        const change = planClusterMembership(members, { shards, replicasPerShard: r - 1 }, masters);
        assert.equal(change.kind, "remove");
        const removing = change.kind === "remove" ? change.removing : [];
        assert.equal(removing.length, shards);
        for (const id of masters.values()) assert.ok(!removing.includes(id), `master ${id} marked`);
      },
    ),
  );
});

// ---------------------------------------------------------------- view and repairs

const hex = (n: number) => n.toString(16).padStart(40, "0");

function line(id: number, over: Partial<ClusterNodeView> = {}): ClusterNodeView {
  return {
    nodeId: hex(id),
    ip: `10.0.0.${id}`,
    port: 6379,
    flags: ["master"],
    myself: false,
    master: true,
    failing: false,
    unusable: false,
    configEpoch: 1,
    connected: true,
    slots: [],
    migrating: [],
    importing: [],
    ...over,
  };
}

function report(
  id: number,
  nodes: ClusterNodeView[],
  over: Partial<ClusterNodeReport> = {},
): ClusterNodeReport {
  return {
    id,
    reachable: true,
    nodeId: hex(id),
    stateOk: true,
    knownNodes: nodes.length,
    slotsAssigned: 0,
    currentEpoch: 1,
    nodes: nodes.map((l) => (l.nodeId === hex(id) ? { ...l, myself: true } : l)),
    role: "master",
    offset: 0,
    masterLinkUp: false,
    loading: false,
    keys: 0,
    usedMemory: 0,
    ...over,
  };
}

const six: ClusterMember[] = [0, 1, 2, 3, 4, 5].map((id) => ({ id, shard: Math.floor(id / 2) }));

test("bring-up: every node meets every other, then each shard's lowest id gets its range, then the others replicate", () => {
  // Fresh nodes: each knows only itself.
  const fresh: ClusterObservation = {
    nodes: six.map((m) => ({
      member: m,
      answer: report(m.id, [line(m.id)]),
      podIP: `10.0.0.${m.id}`,
    })),
  };
  const ctx = { formed: false, shards: 3, leaving: new Set<number>() };
  const meets = planRepairs(fresh, buildView(fresh), ctx);
  assert.equal(meets.length, 30);
  assert.ok(meets.every((r) => r.kind === "meet"));
  // Everyone knows everyone: slots.
  const all = six.map((m) => line(m.id));
  const met: ClusterObservation = {
    nodes: six.map((m) => ({ member: m, answer: report(m.id, all), podIP: `10.0.0.${m.id}` })),
  };
  const assign = planRepairs(met, buildView(met), ctx);
  assert.deepEqual(
    assign
      .filter((r) => r.kind === "addSlots")
      .map((r) => (r.kind === "addSlots" ? [r.member, slotCount(r.ranges)] : [])),
    [
      [0, 5462],
      [2, 5461],
      [4, 5461],
    ],
  );
  // Formed: no slot is ever assigned again, even with slots unowned.
  assert.deepEqual(
    planRepairs(met, buildView(met), { ...ctx, formed: true }).filter((r) => r.kind === "addSlots"),
    [],
  );
});

test("a full restart at new IPs: nodes that know each other at old addresses are told the new ones, node ids kept", () => {
  const owning = (id: number) =>
    id % 2 === 0 ? { slots: [[id * 1000, id * 1000 + 10] as const] } : {};
  // Every node's table has the others at their OLD IPs (10.0.0.x); pods are now at 10.0.1.x.
  const stale = six.map((m) =>
    line(m.id, {
      ...owning(m.id),
      ...(m.id % 2 ? { master: false, flags: ["slave"], replicaOf: hex(m.id - 1) } : {}),
    }),
  );
  const obs: ClusterObservation = {
    nodes: six.map((m) => ({
      member: m,
      answer: report(
        m.id,
        stale.map((l) => (l.nodeId === hex(m.id) ? { ...l, ip: `10.0.1.${m.id}` } : l)),
        m.id % 2 ? { role: "replica" } : {},
      ),
      podIP: `10.0.1.${m.id}`,
    })),
  };
  const view = buildView(obs);
  assert.equal(view.masters.get(1), 2);
  const repairs = planRepairs(obs, view, { formed: true, shards: 3, leaving: new Set() });
  assert.equal(repairs.length, 30);
  for (const r of repairs) {
    assert.equal(r.kind, "meet");
    if (r.kind === "meet") assert.equal(r.ip, `10.0.1.${r.peer}`);
  }
});

test("a node back empty (its volume lost) replicates its shard's master; its old id is forgotten once failing", () => {
  // Shard 0: member 1 was promoted (owns the slots now); member 0 came back as a new node 0x100.
  const newId = hex(256);
  const table = [
    line(256, { nodeId: newId, ip: "10.0.0.0" }),
    line(1, { slots: [[0, 5461]], configEpoch: 7 }),
    line(0, { flags: ["master", "fail"], failing: true, ip: "10.0.0.99" }),
  ];
  const mine = (self: string) => table.map((l) => ({ ...l, myself: l.nodeId === self }));
  const obs: ClusterObservation = {
    nodes: [
      {
        member: { id: 0, shard: 0, nodeId: hex(0) },
        answer: { ...report(0, []), nodeId: newId, nodes: mine(newId), knownNodes: 3 },
        podIP: "10.0.0.0",
      },
      { member: { id: 1, shard: 0 }, answer: report(1, mine(hex(1))), podIP: "10.0.0.1" },
    ],
  };
  const view = buildView(obs);
  assert.equal(view.masters.get(0), 1);
  const repairs = planRepairs(obs, view, { formed: true, shards: 1, leaving: new Set() });
  assert.deepEqual(
    repairs.map((r) => r.kind),
    ["replicate", "forget"],
  );
  const forget = repairs.find((r) => r.kind === "forget");
  assert.equal(forget?.kind === "forget" ? forget.nodeId : "", hex(0));
});

test("slot ownership: the higher config epoch wins where tables disagree; a slot migrating is in flight", () => {
  const a = [
    line(0, { slots: [[0, 99]], configEpoch: 1, migrating: [{ slot: 5, peer: hex(2) }] }),
    line(2, { configEpoch: 2 }),
  ];
  const b = [line(0, { configEpoch: 1 }), line(2, { slots: [[50, 60]], configEpoch: 2 })];
  const obs: ClusterObservation = {
    nodes: [
      { member: { id: 0, shard: 0 }, answer: report(0, a), podIP: "10.0.0.0" },
      { member: { id: 2, shard: 1 }, answer: report(2, b), podIP: "10.0.0.2" },
    ],
  };
  const view = buildView(obs);
  assert.equal(view.owners.get(55), 2);
  assert.equal(view.owners.get(10), 0);
  assert.deepEqual(view.inFlight, [{ slot: 5, from: 0, to: 2 }]);
  assert.deepEqual(rangesOf([...view.owners].filter(([, m]) => m === 2).map(([s]) => s)), [
    [50, 60],
  ]);
});

test("notServing(): a replica must follow its shard's master with its link up; a down node says why", () => {
  const table = [line(0, { slots: [[0, 10]] }), line(1, { master: false, replicaOf: hex(0) })];
  const obs: ClusterObservation = {
    nodes: [
      { member: { id: 0, shard: 0 }, answer: report(0, table), podIP: "a" },
      {
        member: { id: 1, shard: 0 },
        answer: report(1, table, { role: "replica", masterLinkUp: false }),
        podIP: "b",
      },
      {
        member: { id: 2, shard: 1 },
        answer: { id: 2, reachable: false, error: { reason: "timeout", message: "t/o" } },
      },
    ],
  };
  const view = buildView(obs);
  assert.deepEqual(notServing(obs.nodes[0] as never, view), []);
  assert.deepEqual(notServing(obs.nodes[1] as never, view), ["has its link to the master down"]);
  assert.match(notServing(obs.nodes[2] as never, view).join(), /does not answer/);
});

// ---------------------------------------------------------------- replicas per shard

test("planClusterMembership() 1 → 2 → 1 replicas per shard: one new replica per shard, then each shard's highest-id replica goes", () => {
  const created = planClusterMembership(undefined, { shards: 3, replicasPerShard: 1 }, new Map());
  const six = created.kind === "create" ? created.members : [];
  const up = planClusterMembership(six, { shards: 3, replicasPerShard: 2 }, new Map());
  assert.equal(up.kind, "add");
  const nine = up.kind === "add" ? up.members : [];
  assert.deepEqual(up.kind === "add" ? up.added : [], [6, 7, 8]);
  assert.deepEqual(
    nine.filter((m) => m.id >= 6).map((m) => [m.id, m.shard]),
    [
      [6, 0],
      [7, 1],
      [8, 2],
    ],
  );
  // The roll made each shard's first replica its master (1, 3, 5).
  const masters = new Map([
    [0, 1],
    [1, 3],
    [2, 5],
  ]);
  const down = planClusterMembership(nine, { shards: 3, replicasPerShard: 1 }, masters);
  assert.deepEqual(down.kind === "remove" ? down.removing : [], [6, 7, 8]);
  // A new replica that became its shard's master stays; the other replica goes.
  const promoted = planClusterMembership(
    nine,
    { shards: 3, replicasPerShard: 1 },
    new Map([...masters, [0, 6]]),
  );
  assert.deepEqual(promoted.kind === "remove" ? promoted.removing : [], [1, 7, 8]);
});

test("planClusterMembership() removes replicas only from shards whose master is known, never the master, highest ids first", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 6 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.option(fc.nat(), { nil: undefined }), { minLength: 6, maxLength: 6 }),
      (shards, r, drop, picks) => {
        const created = planClusterMembership(
          undefined,
          { shards, replicasPerShard: r },
          new Map(),
        );
        const members = created.kind === "create" ? created.members : [];
        const want = Math.max(0, r - drop);
        const masters = new Map<number, number>();
        for (let s = 0; s < shards; s++) {
          const mine = members.filter((m) => m.shard === s);
          const pick = picks[s];
          const m = pick === undefined ? undefined : mine[pick % mine.length];
          if (m) masters.set(s, m.id);
        }
        const change = planClusterMembership(members, { shards, replicasPerShard: want }, masters);
        const removing = change.kind === "remove" ? change.removing : [];
        for (let s = 0; s < shards; s++) {
          const mine = members.filter((m) => m.shard === s);
          const gone = mine.filter((m) => removing.includes(m.id));
          const master = masters.get(s);
          if (master === undefined) {
            assert.deepEqual(gone, [], `shard ${s} without a known master lost members`);
            continue;
          }
          assert.equal(gone.length, r - want, `shard ${s}`);
          assert.ok(!gone.some((m) => m.id === master), `master ${master} marked`);
          const kept = mine.filter((m) => !removing.includes(m.id) && m.id !== master);
          for (const g of gone)
            for (const k of kept) assert.ok(g.id > k.id, `replica ${k.id} kept over ${g.id}`);
        }
        if (removing.length === 0) assert.ok(change.kind === "none");
      },
    ),
  );
});

/**
 * Shards of `perShard` members each, every member answering: `master[s]`
 * (an index into the shard) owns the shard's slots, the others replicate
 * it with their link up unless `down` holds them (then they do not
 * answer).
 */
function sharded(
  shards: number,
  perShard: number,
  master: readonly number[],
  removing: ReadonlySet<number>,
  down: ReadonlySet<number>,
): { members: ClusterMember[]; obs: ClusterObservation } {
  const members: ClusterMember[] = Array.from({ length: shards * perShard }, (_, id) => ({
    id,
    shard: Math.floor(id / perShard),
    ...(removing.has(id) ? { removing: true } : {}),
  }));
  const masterOf = (shard: number) => shard * perShard + ((master[shard] ?? 0) % perShard);
  const ranges = initialRanges(shards);
  const table = members.map((m) =>
    masterOf(m.shard) === m.id
      ? line(m.id, { slots: [ranges[m.shard] as [number, number]] })
      : line(m.id, { master: false, flags: ["slave"], replicaOf: hex(masterOf(m.shard)) }),
  );
  return {
    members,
    obs: {
      nodes: members.map((m) => ({
        member: m,
        answer: down.has(m.id)
          ? { id: m.id, reachable: false as const, error: { reason: "timeout", message: "t/o" } }
          : report(m.id, table, {
              role: masterOf(m.shard) === m.id ? "master" : "replica",
              masterLinkUp: masterOf(m.shard) !== m.id,
            }),
        podIP: `10.0.0.${m.id}`,
      })),
    },
  };
}

test("planHandover(): a removed member that is a staying shard's master hands over to a staying member that serves, else waits", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 5 }),
      fc.integer({ min: 2, max: 4 }),
      fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
      fc.uniqueArray(fc.nat({ max: 19 }), { maxLength: 8 }),
      fc.uniqueArray(fc.nat({ max: 19 }), { maxLength: 4 }),
      (shards, perShard, master, removingIds, downIds) => {
        const removing = new Set(removingIds.filter((id) => id < shards * perShard));
        const down = new Set(downIds.filter((id) => id < shards * perShard));
        const { members, obs } = sharded(shards, perShard, master, removing, down);
        const view = buildView(obs);
        const h = planHandover(members, obs, view);
        const needs = [...view.masters].filter(([shard, m]) => {
          const mine = members.filter((x) => x.shard === shard);
          return removing.has(m) && mine.some((x) => !x.removing);
        });
        if (needs.length === 0) {
          assert.equal(h.kind, "none");
          return;
        }
        assert.notEqual(h.kind, "none", "a removed master of a staying shard was not handed over");
        const [shard, from] = needs[0] as [number, number];
        if (h.kind === "failover") {
          assert.equal(h.shard, shard);
          assert.equal(h.from, from);
          const to = members.find((m) => m.id === h.to);
          assert.equal(to?.shard, shard, "handed to another shard's member");
          assert.ok(!to?.removing, "handed to a member being removed");
          assert.ok(!down.has(h.to), "handed to a member that does not serve");
        } else if (h.kind === "wait") {
          const candidates = members.filter(
            (m) => m.shard === shard && !m.removing && !down.has(m.id),
          );
          assert.deepEqual(candidates, [], "waited with a member that could take over");
          assert.match(h.blocker, new RegExp(`shard ${shard}'s master`));
        }
      },
    ),
  );
});

test("planHandover(): a shard removed whole moves its slots instead; a removed replica needs nothing", () => {
  const whole = sharded(3, 2, [0, 0, 0], new Set([4, 5]), new Set());
  assert.deepEqual(planHandover(whole.members, whole.obs, buildView(whole.obs)), { kind: "none" });
  const replica = sharded(3, 3, [0, 0, 0], new Set([2, 5, 8]), new Set());
  assert.deepEqual(planHandover(replica.members, replica.obs, buildView(replica.obs)), {
    kind: "none",
  });
  const promoted = sharded(3, 3, [2, 0, 0], new Set([2, 5, 8]), new Set([0]));
  assert.deepEqual(planHandover(promoted.members, promoted.obs, buildView(promoted.obs)), {
    kind: "failover",
    shard: 0,
    from: 2,
    to: 1,
  });
});
