/**
 * The real Redis Cluster port against real Redis: Debian's redis-server
 * 7.0 with `cluster-enabled yes`, four nodes each on its own loopback
 * address (127.0.0.x, so a restart can move a node to another address, as
 * a pod's restart does), every one requiring a password. The nodes start
 * knowing nothing; the port forms the cluster, moves slots with keys
 * (including a move left half done, as a killed operator leaves it), fails
 * a shard over and, after every node came back at a new address, heals
 * the cluster with MEETs alone, keeping every node id.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { Redis } from "ioredis";
import { RedisClusterAdmin } from "./cluster-admin.ts";
import type { ClusterMemberAddress, ClusterNodeReport, SlotOwner } from "./cluster-port.ts";

const password = `pw-${process.pid}-${Date.now()}`;
const admin = new RedisClusterAdmin({ password, connectTimeoutMs: 1000, commandTimeoutMs: 3000 });
// One port for every node (each has its own address); the bus is port + 10000.
const port = 20_000 + (process.pid % 9000);
let dir: string;
const running = new Map<number, ChildProcess>();
let subnet = 0;

const address = (id: number): ClusterMemberAddress => ({
  id,
  host: `127.0.${subnet}.${id + 10}`,
  port,
});

function start(id: number): void {
  const d = join(dir, `n${id}`);
  mkdirSync(d, { recursive: true });
  const ip = address(id).host;
  const child = spawn(
    "redis-server",
    [
      ...["--port", String(port), "--bind", ip, "--dir", d, "--logfile", join(d, "redis.log")],
      ...["--cluster-enabled", "yes", "--cluster-config-file", join(d, "nodes.conf")],
      ...["--cluster-node-timeout", "2000", "--cluster-announce-ip", ip],
      ...[
        "--cluster-announce-hostname",
        `node-${id}.test`,
        "--cluster-preferred-endpoint-type",
        "hostname",
      ],
      ...["--appendonly", "yes", "--requirepass", password, "--masterauth", password],
    ],
    { stdio: "ignore" },
  );
  running.set(id, child);
}

async function stopAll(): Promise<void> {
  await Promise.all(
    [...running.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
        }),
    ),
  );
  running.clear();
}

async function report(id: number): Promise<ClusterNodeReport> {
  const r = await admin.node(address(id));
  if (!r.reachable) throw new Error(r.error.message);
  return r;
}

function owner(r: ClusterNodeReport): SlotOwner {
  const a = address(r.id);
  return { address: a, nodeId: r.nodeId, ip: a.host, port };
}

const ids = [0, 1, 2, 3];
const nodeIds = new Map<number, string>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ballast-redis-cluster-"));
  for (const id of ids) start(id);
  await eventually("four nodes answer", async () => {
    for (const id of ids) await report(id);
    return true;
  });
});

after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

test("a fresh node reports itself alone, with no slots; a wrong password is `auth`, never echoed", async () => {
  const r = await report(0);
  assert.equal(r.knownNodes, 1);
  assert.equal(r.slotsAssigned, 0);
  assert.equal(r.role, "master");
  assert.equal(r.nodes.length, 1);
  assert.equal(r.nodes[0]?.myself, true);
  assert.match(r.nodeId, /^[0-9a-f]{40}$/);
  const wrong = `not-the-password-${Date.now()}`;
  const bad = await new RedisClusterAdmin({ password: wrong }).node(address(0));
  assert.equal(bad.reachable, false);
  if (!bad.reachable) {
    assert.equal(bad.error.reason, "auth");
    assert.ok(!bad.error.message.includes(wrong));
  }
});

test("meet, addSlots and replicate form a cluster of 3 masters and a replica", async () => {
  for (const id of [1, 2, 3]) await admin.meet(address(0), address(id).host, port);
  await eventually("every node knows four", async () => {
    for (const id of ids) if ((await report(id)).knownNodes !== 4) return undefined;
    return true;
  });
  await admin.addSlots(address(0), [[0, 5461]]);
  await admin.addSlots(address(1), [[5462, 10922]]);
  await admin.addSlots(address(2), [[10923, 16383]]);
  for (const id of ids) nodeIds.set(id, (await report(id)).nodeId);
  await eventually("node 3 knows node 0", async () =>
    (await report(3)).nodes.some((l) => l.nodeId === nodeIds.get(0) && !l.unusable)
      ? true
      : undefined,
  );
  await admin.replicate(address(3), nodeIds.get(0) ?? "");
  await eventually(
    "cluster ok, node 3 a linked replica of node 0",
    async () => {
      const r = await report(3);
      const self = r.nodes.find((l) => l.myself);
      return r.stateOk &&
        r.role === "replica" &&
        r.masterLinkUp &&
        self?.replicaOf === nodeIds.get(0)
        ? true
        : undefined;
    },
    { timeoutMs: 30_000 },
  );
  const r0 = await report(0);
  assert.deepEqual(r0.nodes.find((l) => l.myself)?.slots, [[0, 5461]]);
  assert.equal(r0.nodes.find((l) => l.nodeId === nodeIds.get(3))?.hostname, "node-3.test");
});

test("moveSlot moves a slot's keys and ownership; a half-done move (marks left by a kill) is finished", async () => {
  const c = new Redis({ host: address(0).host, port, password });
  // `{06S}` hashes to slot 0, `{4cG}`… found by asking: keys of slot 1.
  for (let i = 0; i < 1500; i++) await c.set(`{06S}:${i}`, String(i));
  const slot1 = (await c.call("CLUSTER", "KEYSLOT", "{Qi}")) as number;
  for (let i = 0; i < 20; i++) await c.set(`{Qi}:${i}`, String(i));
  c.disconnect();
  const from = owner(await report(0));
  const to = owner(await report(1));
  const moved = await admin.moveSlot({ slot: 0, from, to, others: [address(2)] });
  assert.equal(moved.keys, 1500);
  // Again: nothing left to move, no error.
  assert.equal((await admin.moveSlot({ slot: 0, from, to, others: [address(2)] })).keys, 0);
  const r1 = await report(1);
  assert.ok(r1.nodes.find((l) => l.myself)?.slots.some(([a, b]) => a <= 0 && 0 <= b));
  // A move an operator was killed in: IMPORTING and MIGRATING set, half the keys across.
  const src = new Redis({ host: address(0).host, port, password });
  const dst = new Redis({ host: address(1).host, port, password });
  await dst.call("CLUSTER", "SETSLOT", String(slot1), "IMPORTING", from.nodeId);
  await src.call("CLUSTER", "SETSLOT", String(slot1), "MIGRATING", to.nodeId);
  const half = (
    (await src.call("CLUSTER", "GETKEYSINSLOT", String(slot1), "10")) as string[]
  ).slice(0, 10);
  await src.call(
    "MIGRATE",
    to.ip,
    String(port),
    "",
    "0",
    "5000",
    "AUTH",
    password,
    "KEYS",
    ...half,
  );
  const marks = (await report(0)).nodes.find((l) => l.myself)?.migrating;
  assert.deepEqual(marks, [{ slot: slot1, peer: to.nodeId }]);
  const resumed = await admin.moveSlot({ slot: slot1, from, to, others: [address(2)] });
  assert.equal(resumed.keys, 10);
  assert.equal(Number(await dst.call("CLUSTER", "COUNTKEYSINSLOT", String(slot1))), 20);
  assert.equal(Number(await src.call("CLUSTER", "COUNTKEYSINSLOT", String(slot1))), 0);
  assert.deepEqual((await report(0)).nodes.find((l) => l.myself)?.migrating, []);
  src.disconnect();
  dst.disconnect();
  // A move planned from an out-of-date view (neither end owns the slot) is refused and undone.
  const third = owner(await report(2));
  await assert.rejects(
    admin.moveSlot({ slot: 100, from: third, to, others: [] }),
    /not owned by node 2/,
  );
  assert.deepEqual((await report(1)).nodes.find((l) => l.myself)?.importing, []);
});

/**
 * Fails shard 0 over to `to` (a replica of `from`) once every node's table
 * has the current roles and `to` is linked: a manual failover asked while
 * the master has not yet taken the replica as its own is lost (seen: asked
 * 0.2 s after the previous one, "Manual failover timed out" after 5 s).
 * Asked again if not done within 10 s, as the operator does.
 */
async function failoverTo(to: number, from: number): Promise<void> {
  await eventually(
    `every node sees node ${to} as node ${from}'s replica, node ${to} linked`,
    async () => {
      for (const id of ids) {
        const l = (await report(id)).nodes.find((x) => x.nodeId === nodeIds.get(to));
        if (l?.replicaOf !== nodeIds.get(from)) return undefined;
      }
      return (await report(to)).masterLinkUp ? true : undefined;
    },
    { timeoutMs: 30_000 },
  );
  for (let attempt = 1; ; attempt++) {
    await admin.failover(address(to));
    try {
      await eventually(
        `node ${to} master, node ${from} its replica`,
        async () => {
          const self = (await report(from)).nodes.find((l) => l.myself);
          return (await report(to)).role === "master" && self?.replicaOf === nodeIds.get(to)
            ? true
            : undefined;
        },
        { timeoutMs: 10_000 },
      );
      return;
    } catch (err) {
      if (attempt === 3) {
        for (const id of [to, from])
          console.log(
            `--- node ${id}\n${readFileSync(join(dir, `n${id}`, "redis.log"), "utf8")
              .split("\n")
              .slice(-25)
              .join("\n")}`,
          );
        throw err;
      }
    }
  }
}

test("CLUSTER FAILOVER on the replica: coordinated, the replica owns the slots, the old master follows it", async () => {
  await failoverTo(3, 0);
  const owned = (await report(3)).nodes.find((l) => l.myself)?.slots ?? [];
  assert.ok(owned.length > 0, "the new master owns the shard's slots");
  // Back, for the next tests' layout.
  await failoverTo(0, 3);
});

test("every node restarted at a new address: MEETs alone re-form it, node ids and slots kept", async () => {
  // Each node's own claim (its myself line): another node's table may lag a failover just made.
  const claims = async () => {
    const out = new Map<string, string>();
    for (const id of ids) {
      const r = await report(id);
      out.set(r.nodeId, JSON.stringify(r.nodes.find((l) => l.myself)?.slots ?? []));
    }
    return out;
  };
  // Settled first: every node's table says what each owner claims.
  const slotsBefore = await eventually("every table agrees with the owners' claims", async () => {
    const own = await claims();
    for (const id of ids) {
      for (const l of (await report(id)).nodes) {
        if (own.get(l.nodeId) !== JSON.stringify(l.master ? l.slots : [])) return undefined;
      }
    }
    return own;
  });
  await stopAll();
  subnet = 1;
  for (const id of ids) start(id);
  await eventually("four nodes answer at new addresses", async () => {
    for (const id of ids) await report(id);
    return true;
  });
  for (const id of ids)
    assert.equal((await report(id)).nodeId, nodeIds.get(id), `node ${id} has a new id`);
  // What the operator does (plan/repairs.ts meet): every node told every other's address now.
  for (const a of ids)
    for (const b of ids) if (a !== b) await admin.meet(address(a), address(b).host, port);
  await eventually(
    "cluster ok everywhere at the new addresses",
    async () => {
      for (const id of ids) {
        const r = await report(id);
        if (!r.stateOk) return undefined;
        if (!r.nodes.every((l) => l.ip.startsWith("127.0.1.") && l.connected)) return undefined;
        if (r.nodes.length !== 4) return undefined;
      }
      return true;
    },
    { timeoutMs: 30_000 },
  );
  await eventually("the same slots claimed by the same node ids", async () =>
    JSON.stringify([...(await claims())].sort()) === JSON.stringify([...slotsBefore].sort())
      ? true
      : undefined,
  );
  const c = new Redis({ host: address(1).host, port, password });
  assert.equal(await c.get("{06S}:1499"), "1499");
  c.disconnect();
});

test("moveSlots in rounds: a stale slot mid-round is refused and undone, the rest of its round moves, later rounds are not tried", async () => {
  const rounds = new RedisClusterAdmin({ password, slotsPerRound: 4 });
  const c = new Redis({ host: address(0).host, port, password });
  // Keys of four slots node 0 owns, found by asking.
  const mine = (await report(0)).nodes.find((l) => l.myself)?.slots ?? [];
  const bySlot = new Map<number, string[]>();
  for (let i = 0; bySlot.size < 4; i++) {
    const key = `round:${i}`;
    const slot = Number(await c.call("CLUSTER", "KEYSLOT", key));
    if (!mine.some(([x, y]) => x <= slot && slot <= y)) continue;
    bySlot.set(slot, [...(bySlot.get(slot) ?? []), key]);
  }
  for (const keys of bySlot.values()) for (const k of keys) await c.set(k, k);
  const [a, b, d, later] = [...bySlot.keys()] as [number, number, number, number];
  const from = owner(await report(0));
  const to = owner(await report(1));
  // 11000 is node 2's: planned from node 0, as from an out-of-date view.
  const moves = [a, b, 11_000, d, later].map((slot) => ({ slot, from, to, others: [address(2)] }));
  const outcome = await rounds.moveSlots(moves);
  assert.match(outcome.failure?.message ?? "", /slot 11000 is not owned by node 0/);
  const keysOf = (s: number) => bySlot.get(s)?.length ?? 0;
  assert.deepEqual(
    outcome.moved.map((m) => m.keys),
    [keysOf(a), keysOf(b), keysOf(d)],
  );
  const self1 = (await report(1)).nodes.find((l) => l.myself);
  const owns = (s: number) => self1?.slots.some(([x, y]) => x <= s && s <= y) ?? false;
  assert.deepEqual([a, b, d, later].map(owns), [true, true, true, false]);
  assert.deepEqual(self1?.importing, []);
  assert.deepEqual((await report(0)).nodes.find((l) => l.myself)?.migrating, []);
  const dst = new Redis({ host: address(1).host, port, password });
  for (const s of [a, b, d]) for (const k of bySlot.get(s) ?? []) assert.equal(await dst.get(k), k);
  for (const k of bySlot.get(later) ?? []) assert.equal(await c.get(k), k);
  c.disconnect();
  dst.disconnect();
});

test("forget: a stopped node forgotten everywhere; forgetting it again is not an error", async () => {
  const gone = nodeIds.get(2) ?? "";
  // Node 2 owns slots: give them to node 1 first, as a scale-in does.
  const r2 = await report(2);
  const slots = r2.nodes.find((l) => l.myself)?.slots ?? [];
  const from = owner(r2);
  const to = owner(await report(1));
  const moves = slots.flatMap(([a, b]) =>
    Array.from({ length: b - a + 1 }, (_, i) => ({ slot: a + i, from, to, others: [address(0)] })),
  );
  const started = Date.now();
  const outcome = await admin.moveSlots(moves);
  console.log(JSON.stringify({ slotsMoved: outcome.moved.length, ms: Date.now() - started }));
  assert.equal(outcome.failure, undefined);
  const moved = outcome.moved.length;
  assert.equal(moved, 5461);
  running.get(2)?.kill("SIGTERM");
  for (const id of [0, 1, 3]) await admin.forget(address(id), gone);
  for (const id of [0, 1, 3]) await admin.forget(address(id), gone);
  for (const id of [0, 1, 3]) assert.ok(!(await report(id)).nodes.some((l) => l.nodeId === gone));
});
