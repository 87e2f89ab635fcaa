/**
 * The RedisCluster operator on real redis-server 7.0.15 processes
 * (Debian's, `cluster-enabled yes`) in a local cluster of three nodes, one
 * cluster for every scenario of this file, in order:
 *
 * 1. bring-up of 3 shards × (master + replica): every slot owned, each
 *    shard's master and replica on different nodes, node ids recorded;
 * 2. a config roll: replicas first, each master after a coordinated
 *    CLUSTER FAILOVER, one node down at a time, node ids unchanged;
 * 3. scale-out 3 → 4 shards: slots moved with their keys onto the new
 *    master, balanced, no slot ever without a master, no existing pod
 *    restarted, the writer following MOVED/ASK;
 * 4. scale-in 4 → 3 with the operator SIGKILLed mid-reshard: a restarted
 *    operator finishes the same reshard; the removed nodes are forgotten
 *    by every other node, their pods and volumes gone;
 * 5. replicasPerShard 1 → 2 → 1: a replica added to each shard, then each
 *    shard's newest replica removed (never its master), no other pod
 *    restarted; every replica follows its own shard's master, the removed
 *    nodes forgotten by every other node and their volumes gone;
 * 6. a full restart: every pod deleted at once; the cluster re-forms with
 *    the same node ids and slots at the pods' new IPs, no hand repair;
 * 7. no API request of the operator refused by its declared RBAC.
 *
 * Every scenario runs under the e2e kit's acknowledged-write checker — a
 * write counts only once `WAIT 1` on the connection that wrote it said a
 * replica has it, and every acknowledged write is read back from the
 * masters afterwards (0 lost asserted) — and the disruption monitor (nodes
 * whose redis-server is down at once, asserted ≤ 1 for everything the
 * operator does); slot coverage is sampled every 250 ms on every node at
 * once, a slot covered only by a master that sees the cluster ok and
 * claims it in its own CLUSTER SLOTS (`coverage`).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { condition, readTrace, refused, startAckedWrites } from "@ballast/e2e-kit";
import { Redis } from "ioredis";
import { RedisCluster } from "../src/cluster/api.ts";
import { clusterLabels } from "../src/cluster/resources.ts";
import { clusterDriver } from "./cluster-workload.ts";
import { Harness, namespace, onPod } from "./harness.ts";

const name = "shards";
let h: Harness;
let watched = [0, 1, 2, 3, 4, 5];

function manifest(extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisCluster",
    metadata: { name, namespace },
    spec: {
      version: "7.0.15",
      shards: 3,
      replicasPerShard: 1,
      persistence: { mode: "aof", storage: { size: "1Gi", storageClassName: "local" } },
      nodeTimeoutMilliseconds: 3000,
      ...extra,
    },
  };
}

const read = () => h.read<RedisCluster>(RedisCluster, name);

const app = { name: "app", rules: "~app:* +@read +@write" };
const reader = { name: "reader", rules: "~* +@read" };
let appPassword = "";
let readerPassword = "";

/** AUTH as `user` on every node: each node's reply (OK, or the error). */
async function authAs(user: string, password: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of await nodePods()) {
    out.push(
      await onPod(p.status?.podIP ?? "", { user, password }, async () => "OK").catch(
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      ),
    );
  }
  return out;
}

/**
 * On every node: each user logs in with the password in its generated
 * Secret, and `ACL DRYRUN` (asked as the operator's user) allows each
 * command of `allowed` and refuses each of `denied`.
 */
async function assertUsers(
  allowed: Record<string, string[][]>,
  denied: Record<string, string[][]>,
): Promise<void> {
  appPassword = await h.secretValue(`${name}-redis-user-app`, "password");
  readerPassword = await h.secretValue(`${name}-redis-user-reader`, "password").catch(() => "");
  const passwords: Record<string, string> = { app: appPassword, reader: readerPassword };
  for (const user of Object.keys(allowed))
    for (const reply of await authAs(user, passwords[user] ?? ""))
      assert.equal(reply, "OK", `AUTH ${user}`);
  const password = await h.password(name);
  for (const p of await nodePods()) {
    await onNode(p.status?.podIP ?? "", password, async (c) => {
      for (const [user, commands] of Object.entries(allowed))
        for (const command of commands)
          assert.equal(
            String(await c.call("ACL", ["DRYRUN", user, ...command])),
            "OK",
            `${p.metadata.name}: ${user} may ${command.join(" ")}`,
          );
      for (const [user, commands] of Object.entries(denied))
        for (const command of commands)
          assert.match(
            String(await c.call("ACL", ["DRYRUN", user, ...command])),
            /permission|no permissions/i,
            `${p.metadata.name}: ${user} may not ${command.join(" ")}`,
          );
    });
  }
}

async function nodePods() {
  return (await h.pods(name)).filter(
    (p) => p.metadata.labels?.[clusterLabels.memberId] !== undefined,
  );
}

/** Announced hostname → pod IP, for the host-side client (the host does not resolve cluster names). */
async function hostnames(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of await nodePods()) {
    const ip = p.status?.podIP;
    if (ip && !p.metadata.deletionTimestamp)
      out.set(`${p.metadata.name}.${name}-nodes.${namespace}.svc.cluster.local`, ip);
  }
  return out;
}

function onNode<T>(ip: string, password: string, work: (c: Redis) => Promise<T>) {
  return onPod(ip, { password }, work);
}

/** Ready, no operation, the spec acted on, every node serving. */
async function settled(timeoutMs = 300_000): Promise<RedisCluster> {
  return eventually(
    `RedisCluster ${name} Ready with no operation in progress`,
    async () => {
      const r = await read();
      const nodes = r.status?.nodes ?? [];
      const want = r.spec.shards * (1 + (r.spec.replicasPerShard ?? 1));
      if (
        condition(r, "Ready")?.status === "True" &&
        !r.status?.operation &&
        !r.status?.failover &&
        r.status?.observedGeneration === r.metadata.generation &&
        nodes.length === want &&
        nodes.every((n) => n.ready && !n.removing) &&
        r.status?.slotsAssigned === 16384
      )
        return r;
      return undefined;
    },
    { timeoutMs, intervalMs: 1000 },
  );
}

/**
 * Every 250 ms, every node is asked at once — one MULTI of CLUSTER MYID,
 * CLUSTER INFO and CLUSTER SLOTS, so each answer is one moment of that
 * node — and a slot counts as covered only by a node that says
 * cluster_state:ok and names itself the slot's master in its own CLUSTER
 * SLOTS. A stale table cannot cover a slot: a master that is down answers
 * nothing, and one that gave a slot away no longer claims it.
 *
 * A snapshot with a slot uncovered is taken again at once, and only the
 * slots uncovered in both count: nodes asked in the same instant can
 * still straddle a hand-over (the new owner asked just before it claims,
 * the old one just after it let go, a millisecond apart), which a second
 * look a few milliseconds later settles. `straddled` counts those.
 *
 * Also kept: the fewest slots any node reported assigned (CLUSTER INFO,
 * from the first time it reported every slot assigned: one just added
 * learns the slot map by gossip) and how often one said failing.
 */
function coverage(password: string) {
  let samples = 0;
  let fewestCovered = 16384;
  let fewestAssigned = 16384;
  let failing = 0;
  let straddled = 0;
  let running = true;
  const uncoveredAt: { at: number; slots: number; first: number }[] = [];
  const joined = new Set<string>();
  const conns = new Map<string, Redis>();
  const connection = (ip: string) => {
    const had = conns.get(ip);
    if (had && had.status !== "end" && had.status !== "close") return had;
    const c = new Redis({
      host: ip,
      port: 6379,
      password,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
      commandTimeout: 2000,
    });
    c.on("error", () => {});
    conns.set(ip, c);
    return c;
  };
  interface Answer {
    pod: string;
    stateOk: boolean;
    assigned: number;
    /** Slots it names itself the master of. */
    own: [number, number][];
  }
  const ask = async (pod: string, ip: string): Promise<Answer | undefined> => {
    try {
      const out = (await connection(ip)
        .multi()
        .call("CLUSTER", "MYID")
        .call("CLUSTER", "INFO")
        .call("CLUSTER", "SLOTS")
        .exec()) as [Error | null, unknown][] | null;
      if (!out || out.some(([err]) => err)) return undefined;
      const myId = String(out[0]?.[1]);
      const info = String(out[1]?.[1]);
      const field = (k: string) => info.match(new RegExp(`${k}:(\\w+)`))?.[1];
      const own: [number, number][] = [];
      for (const entry of (out[2]?.[1] ?? []) as [number, number, unknown[]][]) {
        if (String(entry[2]?.[2]) === myId) own.push([entry[0], entry[1]]);
      }
      return {
        pod,
        stateOk: field("cluster_state") === "ok",
        assigned: Number(field("cluster_slots_assigned") ?? 0),
        own,
      };
    } catch {
      conns.get(ip)?.disconnect();
      conns.delete(ip);
      return undefined;
    }
  };
  /** Every running node at once; the slots no node that is ok claims for itself. */
  const snapshot = async () => {
    const pods = (await nodePods()).filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp);
    const answers = (
      await Promise.all(pods.map((p) => ask(p.metadata.name, p.status?.podIP ?? "")))
    ).filter((a): a is Answer => a !== undefined);
    const covered = new Uint8Array(16384);
    for (const a of answers) {
      if (!a.stateOk) continue;
      for (const [from, to] of a.own) covered.fill(1, from, to + 1);
    }
    const uncovered = new Set<number>();
    for (let s = 0; s < 16384; s++) if (!covered[s]) uncovered.add(s);
    return { answers, uncovered };
  };
  const loop = (async () => {
    while (running) {
      try {
        const first = await snapshot();
        let uncovered = first.uncovered;
        if (uncovered.size > 0) {
          const again = await snapshot();
          const both = new Set([...uncovered].filter((s) => again.uncovered.has(s)));
          if (both.size < uncovered.size) straddled++;
          uncovered = both;
        }
        samples++;
        fewestCovered = Math.min(fewestCovered, 16384 - uncovered.size);
        if (uncovered.size > 0 && uncoveredAt.length < 20)
          uncoveredAt.push({
            at: Date.now(),
            slots: uncovered.size,
            first: Math.min(...uncovered),
          });
        for (const a of first.answers) {
          if (!joined.has(a.pod)) {
            if (a.assigned !== 16384) continue;
            joined.add(a.pod);
          }
          fewestAssigned = Math.min(fewestAssigned, a.assigned);
          if (!a.stateOk) failing++;
        }
      } catch {}
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      for (const c of conns.values()) c.disconnect();
      return {
        samples,
        fewestSlotsCovered: fewestCovered,
        fewestSlotsAssigned: fewestAssigned,
        failingSamples: failing,
        straddledSnapshots: straddled,
        ...(uncoveredAt.length ? { uncoveredAt } : {}),
      };
    },
  };
}

interface Load {
  waitForMore(n?: number): Promise<void>;
}

/**
 * Runs `body` under the acknowledged-write checker (its own key prefix),
 * the disruption monitor and the coverage sampler; prints the figures,
 * then asserts 0 acknowledged writes lost and, unless `downAllowed`, at
 * most one node down and every slot always covered.
 */
async function underLoad<T>(
  scenario: string,
  body: (load: Load) => Promise<T>,
  options: { downAllowed?: boolean } = {},
): Promise<T> {
  const password = await h.password(name);
  const driver = clusterDriver(hostnames, password, { prefix: scenario.replace(/\W+/g, "-") });
  const writes = startAckedWrites(driver, { intervalMs: 10 });
  const down = h.monitorMembers(name, {
    memberLabel: clusterLabels.memberId,
    members: () => watched,
    up: "ContainersReady",
  });
  const slots = coverage(password);
  const started = Date.now();
  const load: Load = {
    async waitForMore(n = 50) {
      await writes.waitFor({ acknowledged: writes.progress().acknowledged + n }, 180_000);
    },
  };
  let result: T | undefined;
  let failure: unknown;
  try {
    await writes.waitFor({ acknowledged: 50 }, 60_000);
    result = await body(load);
    await load.waitForMore();
  } catch (err) {
    failure = err;
  }
  const covered = await slots.stop();
  const disruption = await down.stop();
  const report = await writes.stop();
  const times = driver.ackTimes.filter((t) => t >= started);
  const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
  const figures = {
    scenario,
    acknowledged: report.acknowledged,
    failed: report.failed,
    lost: report.lost.length,
    ...driver.progress?.(),
    longestWriteGapMs: Math.max(0, ...gaps),
    maxNodesDown: disruption.maxDown,
    ...covered,
    durationMs: Date.now() - started,
  };
  console.log(JSON.stringify(figures));
  if (failure || process.env.REDIS_E2E_VERBOSE) console.log(h.operator.logTail(40));
  if (failure) throw failure;
  assert.deepEqual(report.lost, [], "acknowledged writes lost");
  assert.ok(report.acknowledged > 100, `only ${report.acknowledged} writes acknowledged`);
  assert.ok(disruption.samples > 0);
  if (!options.downAllowed) {
    assert.ok(
      disruption.maxDown <= 1,
      `nodes down at once: ${JSON.stringify(disruption.timeline)}`,
    );
    assert.ok(covered.samples > 0);
    assert.equal(
      covered.fewestSlotsCovered,
      16384,
      "a slot had no master that saw the cluster ok and claimed it",
    );
  }
  return result as T;
}

const nodeIdsOf = (r: RedisCluster) =>
  new Map((r.status?.nodes ?? []).map((n) => [n.id, n.nodeId]));
const uidsOf = async () =>
  new Map((await nodePods()).map((p) => [p.metadata.name, p.metadata.uid]));

/**
 * What real Redis says of every shard: its master (the one status names)
 * claims the shard's slots, has `replicasPerShard` replicas connected, and
 * every other member of the shard is a replica of exactly that master with
 * its link up; every node sees the cluster ok; the masters' own claims
 * cover every slot.
 */
async function assertShape(r: RedisCluster, replicasPerShard: number): Promise<void> {
  const password = await h.password(name);
  const ipOf = new Map((await nodePods()).map((p) => [p.metadata.name, p.status?.podIP ?? ""]));
  const nodeIds = nodeIdsOf(r);
  const covered = new Set<number>();
  for (const s of r.status?.shards ?? []) {
    assert.equal(s.members.length, 1 + replicasPerShard, `shard ${s.shard}: ${s.members}`);
    const master = s.master;
    assert.ok(master !== undefined, `shard ${s.shard} has no master`);
    const masterId = nodeIds.get(master);
    for (const id of s.members) {
      const ip = ipOf.get(`${name}-${id}`);
      assert.ok(ip, `node ${id} has no pod`);
      const [nodes, info, replication, slots] = await onNode(ip, password, async (c) => [
        String(await c.call("CLUSTER", "NODES")),
        String(await c.call("CLUSTER", "INFO")),
        await c.info("replication"),
        (await c.call("CLUSTER", "SLOTS")) as [number, number, unknown[]][],
      ]);
      assert.match(info, /cluster_state:ok/, `node ${id}`);
      const self = nodes.split("\n").find((l) => l.includes("myself")) ?? "";
      if (id === master) {
        assert.match(self, /myself,master/, `node ${id} is shard ${s.shard}'s master`);
        assert.match(
          replication,
          new RegExp(`connected_slaves:${replicasPerShard}\\b`),
          `shard ${s.shard}'s master has ${replicasPerShard} replicas`,
        );
        for (const [a, b, m] of slots)
          if (String(m[2]) === masterId) for (let x = a; x <= b; x++) covered.add(x);
      } else {
        assert.match(self, /myself,slave/, `node ${id} is a replica`);
        assert.ok(
          masterId && self.split(" ")[3] === masterId,
          `node ${id} follows shard ${s.shard}'s master, node ${master}: ${self}`,
        );
        assert.match(replication, /master_link_status:up/, `node ${id}'s link is up`);
      }
    }
  }
  assert.equal(covered.size, 16384, "the masters' own claims do not cover every slot");
}

describe("RedisCluster on the local cluster", { timeout: 1_500_000 }, () => {
  before(async () => {
    h = await Harness.start("ballast-redis-cluster-e2e");
  });

  after(async () => {
    await h?.close();
  });

  test("bring-up: 3 shards, every slot owned, a shard's master and replica apart", async () => {
    await h.apply(manifest());
    const r = await settled();
    const shards = r.status?.shards ?? [];
    assert.equal(shards.length, 3);
    assert.deepEqual(
      shards.map((s) => s.slotCount),
      [5462, 5461, 5461],
    );
    const nodes = r.status?.nodes ?? [];
    assert.equal(new Set(nodes.map((n) => n.nodeId)).size, 6, "six distinct node ids");
    const pods = await nodePods();
    const nodeOf = new Map(
      pods.map((p) => [Number(p.metadata.labels?.[clusterLabels.memberId]), p.spec?.nodeName]),
    );
    for (const s of shards) {
      const [a, b] = s.members;
      assert.notEqual(
        nodeOf.get(a ?? -1),
        nodeOf.get(b ?? -1),
        `shard ${s.shard}'s members on one node`,
      );
    }
    // Real Redis agrees: CLUSTER INFO ok on every node, the password in no pod spec.
    const password = await h.password(name);
    for (const p of pods) {
      const info = await onNode(p.status?.podIP ?? "", password, async (c) =>
        String(await c.call("CLUSTER", "INFO")),
      );
      assert.match(info, /cluster_state:ok/);
      assert.match(info, /cluster_slots_assigned:16384/);
      assert.ok(!JSON.stringify(p.spec).includes(password), "password in a pod spec");
    }
  });

  test("one roll for a restart-only config key, engine redis → valkey and the first ACL users: replicas first, each master after CLUSTER FAILOVER, 0 lost; every node on Valkey with the users", async () => {
    const before = await read();
    const uids = await uidsOf();
    await underLoad("roll", async () => {
      await h.mergePatch(RedisCluster, name, {
        spec: {
          config: { "maxmemory-policy": "allkeys-lru" },
          engine: "valkey",
          version: "8.0.1",
          auth: { users: [app, reader] },
        },
      });
      await eventually(
        "the roll to start",
        async () => ((await read()).status?.operation ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
      await settled();
    });
    const after = await read();
    assert.deepEqual(nodeIdsOf(after), nodeIdsOf(before), "node ids changed");
    const now = await uidsOf();
    for (const [pod, uid] of uids) assert.notEqual(now.get(pod), uid, `${pod} was not restarted`);
    const password = await h.password(name);
    for (const p of await nodePods()) {
      const got = await onNode(
        p.status?.podIP ?? "",
        password,
        async (c) => (await c.config("GET", "maxmemory-policy")) as string[],
      );
      assert.equal(got[1], "allkeys-lru");
    }
    assert.equal(after.status?.engine, "valkey");
    for (const p of await nodePods()) {
      const info = await onNode(
        p.status?.podIP ?? "",
        password,
        (c) => c.call("INFO", "server") as Promise<string>,
      );
      assert.match(info, /^server_name:valkey/m, p.metadata.name);
      assert.match(info, /^valkey_version:8\.0\.1/m, p.metadata.name);
    }
    await assertUsers(
      { app: [["SET", "app:1", "v"]], reader: [["GET", "app:1"]] },
      {
        app: [["SET", "other:1", "v"]],
        reader: [["SET", "app:1", "v"]],
      },
    );
    // Every shard failed over once: each master now is the member that was its replica.
    const mastersBefore = new Map((before.status?.shards ?? []).map((s) => [s.shard, s.master]));
    for (const s of after.status?.shards ?? []) {
      assert.notEqual(
        s.master,
        mastersBefore.get(s.shard),
        `shard ${s.shard} restarted its master without a failover`,
      );
    }
  });

  test("ACL users changed live: rules narrowed and a user dropped with ACL SETUSER/DELUSER on every node, no pod restarted; rules Valkey refuses are Degraded, naming the user, and change nothing", async () => {
    const uids = await uidsOf();
    await underLoad("users", async () => {
      await h.mergePatch(RedisCluster, name, {
        spec: { auth: { users: [{ ...app, rules: "~app:* +@read" }] } },
      });
      await eventually(
        "app narrowed and reader gone on every node",
        async () => {
          try {
            await assertUsers({ app: [["GET", "app:1"]] }, { app: [["SET", "app:1", "v"]] });
          } catch {
            return undefined;
          }
          return (await authAs("reader", readerPassword)).every((r) => /WRONGPASS|invalid/i.test(r))
            ? true
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      await h.mergePatch(RedisCluster, name, {
        spec: { auth: { users: [{ ...app, rules: "~app:* +@nosuchcategory" }] } },
      });
      const degraded = await eventually(
        "Degraded UserRefused",
        async () => {
          const c = condition(await read(), "Degraded");
          return c?.status === "True" && c.reason === "UserRefused" ? c : undefined;
        },
        { timeoutMs: 60_000 },
      );
      assert.match(degraded.message ?? "", /spec\.auth\.users\[app\]\.rules/);
      assert.doesNotMatch(degraded.message ?? "", new RegExp(appPassword));
      // Nothing changed: app can still read.
      await assertUsers({ app: [["GET", "app:1"]] }, { app: [["SET", "app:1", "v"]] });
      await h.mergePatch(RedisCluster, name, {
        spec: { auth: { users: [{ ...app, rules: "~app:* +@read" }] } },
      });
      await settled();
    });
    const now = await uidsOf();
    for (const [pod, uid] of uids) assert.equal(now.get(pod), uid, `${pod} was restarted`);
  });

  test("scale out 3 → 4 shards: slots move with their keys, none uncovered, no pod restarted", async () => {
    const uids = await uidsOf();
    // The new members are not down while they start: only the six that serve are watched.
    await underLoad("scale-out", async () => {
      await h.mergePatch(RedisCluster, name, { spec: { shards: 4 } });
      await eventually(
        "the new shard's members recorded",
        async () => ((await read()).status?.nodes?.length === 8 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
      await settled();
    });
    const r = await read();
    assert.deepEqual(
      (r.status?.shards ?? []).map((s) => s.slotCount),
      [4096, 4096, 4096, 4096],
    );
    const now = await uidsOf();
    for (const [pod, uid] of uids)
      assert.equal(now.get(pod), uid, `${pod} was restarted by a scale-out`);
    watched = (r.status?.nodes ?? []).map((n) => n.id);
  });

  test("scale in 4 → 3 with the operator SIGKILLed mid-reshard: it finishes, the nodes are forgotten", async () => {
    const removed = (await read()).status?.nodes?.filter((n) => n.shard === 3) ?? [];
    assert.equal(removed.length, 2);
    // The removed nodes stop by design: only those that stay are watched.
    watched = watched.filter((id) => !removed.some((n) => n.id === id));
    let killedAt: number | undefined;
    await underLoad("scale-in", async () => {
      await h.mergePatch(RedisCluster, name, { spec: { shards: 3 } });
      killedAt = await eventually(
        "slots moving",
        async () => {
          const op = (await read()).status?.operation;
          return op?.type === "ScaleDown" && (op.movesRemaining ?? 0) > 0
            ? (op.movesRemaining ?? 0)
            : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      await h.operator.kill();
      await h.operator.start();
      await settled();
    });
    console.log(JSON.stringify({ operatorKilledWithSlotsToMove: killedAt }));
    const r = await read();
    assert.deepEqual(
      (r.status?.shards ?? []).map((s) => s.slotCount),
      [5462, 5461, 5461],
    );
    const pods = await nodePods();
    assert.equal(pods.length, 6);
    const password = await h.password(name);
    for (const p of pods) {
      const nodes = await onNode(p.status?.podIP ?? "", password, async (c) =>
        String(await c.call("CLUSTER", "NODES")),
      );
      for (const gone of removed)
        assert.ok(
          gone.nodeId && !nodes.includes(gone.nodeId),
          `${p.metadata.name} still knows ${gone.nodeId}`,
        );
    }
    for (const gone of removed) {
      const claim = await h.cluster.api(
        `/api/v1/namespaces/${namespace}/persistentvolumeclaims/data-${name}-${gone.id}`,
      );
      assert.equal(claim.status, 404, `the volume of node ${gone.id} was not deleted`);
    }
  });

  test("replicas per shard 1 → 2 → 1: each shard's replicas follow its master, none uncovered, 0 lost", async () => {
    const uids = await uidsOf();
    const six = (await read()).status?.nodes?.map((n) => n.id) ?? [];
    assert.equal(six.length, 6);
    // The new replicas are not down while they start: only the six that serve are watched.
    watched = six;
    await underLoad("replicas-up", async () => {
      await h.mergePatch(RedisCluster, name, { spec: { replicasPerShard: 2 } });
      await eventually(
        "the new replicas recorded",
        async () => ((await read()).status?.nodes?.length === 9 ? true : undefined),
        { timeoutMs: 60_000 },
      );
      await settled();
    });
    const grown = await read();
    await assertShape(grown, 2);
    let now = await uidsOf();
    for (const [pod, uid] of uids)
      assert.equal(now.get(pod), uid, `${pod} was restarted by adding replicas`);
    const added = (grown.status?.nodes ?? []).filter((n) => !six.includes(n.id));
    assert.equal(added.length, 3);
    assert.deepEqual(added.map((n) => n.shard).sort(), [0, 1, 2], "one new replica in each shard");

    // Each shard's highest-id member that is not its master goes (plan/membership.ts).
    const removed = (grown.status?.shards ?? []).map((s) =>
      Math.max(...s.members.filter((id) => id !== s.master)),
    );
    const kept = (grown.status?.nodes ?? []).map((n) => n.id).filter((id) => !removed.includes(id));
    watched = kept;
    const before = await uidsOf();
    await underLoad("replicas-down", async () => {
      await h.mergePatch(RedisCluster, name, { spec: { replicasPerShard: 1 } });
      const marked = await eventually(
        "replicas marked for removal",
        async () => {
          const op = (await read()).status?.operation;
          return op?.type === "ScaleDown" ? op.removing : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.deepEqual([...marked].sort(), [...removed].sort(), "the replicas removed");
      await settled();
    });
    const shrunk = await read();
    await assertShape(shrunk, 1);
    assert.deepEqual(
      (shrunk.status?.shards ?? []).map((s) => s.master),
      (grown.status?.shards ?? []).map((s) => s.master),
      "a shard's master changed",
    );
    now = await uidsOf();
    for (const [pod, uid] of before) {
      const id = Number(pod.slice(name.length + 1));
      if (removed.includes(id)) assert.equal(now.get(pod), undefined, `${pod} still runs`);
      else assert.equal(now.get(pod), uid, `${pod} was restarted by removing replicas`);
    }
    const password = await h.password(name);
    const gone = (grown.status?.nodes ?? []).filter((n) => removed.includes(n.id));
    for (const p of await nodePods()) {
      const nodes = await onNode(p.status?.podIP ?? "", password, async (c) =>
        String(await c.call("CLUSTER", "NODES")),
      );
      for (const n of gone)
        assert.ok(
          n.nodeId && !nodes.includes(n.nodeId),
          `${p.metadata.name} still knows node ${n.id}`,
        );
    }
    for (const n of gone)
      assert.equal(
        await h.claimExists(`data-${name}-${n.id}`),
        false,
        `node ${n.id}'s volume kept`,
      );
    watched = kept;
  });

  test("full restart: every pod deleted at once, the cluster re-forms with the same node ids", async () => {
    const before = await read();
    const ipsBefore = await hostnames();
    await underLoad(
      "full-restart",
      async () => {
        await Promise.all((await nodePods()).map((p) => h.killPod(p.metadata.name)));
        await eventually(
          "every pod replaced",
          async () => {
            const pods = await nodePods();
            return pods.length === 6 && pods.every((p) => p.status?.podIP) ? true : undefined;
          },
          { timeoutMs: 120_000 },
        );
        await settled();
      },
      { downAllowed: true },
    );
    const after = await read();
    assert.deepEqual(nodeIdsOf(after), nodeIdsOf(before), "node ids changed");
    assert.deepEqual(
      (after.status?.shards ?? []).map((s) => s.slots),
      (before.status?.shards ?? []).map((s) => s.slots),
      "slots moved",
    );
    const ipsAfter = await hostnames();
    const changed = [...ipsAfter].filter(([host, ip]) => ipsBefore.get(host) !== ip).length;
    console.log(JSON.stringify({ podsWithANewIP: changed }));
  });

  test("bad input: shards below 3 and an owned key are refused at admission", async () => {
    for (const [spec, message] of [
      [{ shards: 2 }, /shards/],
      [{ shards: 0 }, /shards/],
      [{ config: { "cluster-node-timeout": 100 } }, /owns/],
      [{ replicasPerShard: 9 }, /replicasPerShard/],
    ] as const) {
      const res = await h.cluster.api(
        `/apis/ballast.dev/v1alpha1/namespaces/${namespace}/redisclusters?dryRun=All`,
        {
          method: "POST",
          body: { ...manifest(spec), metadata: { name: "bad", namespace } },
        },
      );
      assert.equal(res.status, 422, JSON.stringify(spec));
      assert.match(JSON.stringify(res.body), message);
    }
  });

  test("the operator made no request its declared RBAC refused", () => {
    const accesses = readTrace(h.traceFile);
    assert.ok(accesses.length > 0);
    assert.deepEqual(
      refused(accesses).map((a) => a.line),
      [],
    );
  });
});
