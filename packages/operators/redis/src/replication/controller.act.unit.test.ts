/**
 * Act-layer tests of the RedisReplication pipeline: the real
 * `reconcileReplication` with its two ports faked (the API server, and
 * Redis with its sentinels), driven reconcile by reconcile. Every
 * reconcile builds a new scope from what the fake API server holds, as a
 * restarted operator would; `killBefore` kills the operator in the middle
 * of one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Action, KubeApiError } from "@ballast/runtime";
import { type Operation, type PodLike, rejectedRetryMs } from "@ballast/stateful";
import type { KubeWrite, Stored } from "@ballast/stateful/testing";
import type { RedisReplication } from "../api.ts";
import { labels } from "../resources.ts";
import {
  FakeRedis,
  type RedisCall,
  type RedisWorld,
  reconcileOnce,
  redisWorld,
  replicationObject,
} from "./_act-world.ts";

type Call = KubeWrite | RedisCall;

interface Run {
  /** The operator's clock: tests move it on. */
  clock: { ms: number };
  api: RedisWorld;
  redis: FakeRedis;
  set(): RedisReplication;
  operation(): Operation | undefined;
  until(done: () => boolean, max?: number, between?: () => void): Promise<void>;
}

function condition(r: RedisReplication, type: string) {
  return r.status?.conditions?.find((c) => c.type === type);
}

function newRun(spec: Partial<RedisReplication["spec"]> = {}): Run {
  const api = redisWorld();
  api.put(replicationObject(spec));
  const redis = new FakeRedis(api);
  const clock = { ms: Date.parse("2026-12-01T10:00:00Z") };
  const run: Run = {
    clock,
    api,
    redis,
    set: () => api.get("RedisReplication", "rr") as RedisReplication,
    operation: () => run.set().status?.operation,
    async until(done, max = 80, between = () => {}) {
      await api.reconcileUntil(done, () => once(run), {
        max,
        between: () => {
          redis.write();
          between();
        },
        describe: () => `status: ${JSON.stringify(run.set().status)}`,
      });
    },
  };
  return run;
}

function once(run: Run) {
  return reconcileOnce(run.api, run.redis, { now: () => new Date(run.clock.ms) });
}

const ready = (run: Run) => condition(run.set(), "Ready")?.status === "True" && !run.operation();

async function readySet(spec: Partial<RedisReplication["spec"]> = {}): Promise<Run> {
  const run = newRun(spec);
  await run.until(() => ready(run));
  run.api.calls.length = 0;
  return run;
}

function changeSpec(run: Run, spec: Partial<RedisReplication["spec"]>): void {
  const r = run.set();
  r.spec = { ...r.spec, ...spec };
  r.metadata.generation = (r.metadata.generation ?? 1) + 1;
}

function role(run: Run, name: string): string | undefined {
  return run.api.get("Pod", name)?.metadata.labels?.[labels.role];
}

/** Replays every label write: never two pods labelled master at once. */
function assertOneLabelledMaster(calls: readonly Call[], start: Map<string, string>): void {
  const roles = new Map(start);
  for (const c of calls) {
    if (c.verb === "delete" && c.kind === "Pod") roles.delete(c.name);
    if (c.verb !== "label") continue;
    roles.set(c.name, c.role);
    const masters = [...roles].filter(([, r]) => r === "master").map(([n]) => n);
    assert.ok(masters.length <= 1, `two pods labelled master at once: ${masters.join(", ")}`);
  }
}

function roles(run: Run): Map<string, string> {
  return new Map(
    run.api.list("Pod").flatMap((p) => {
      const r = p.metadata.labels?.[labels.role];
      return r ? [[p.metadata.name ?? "", r] as const] : [];
    }),
  );
}

/** The roll's `current` as the last status write before each member pod deletion recorded it. */
function recordedBeforeDeletes(calls: readonly Call[]): (number | string | undefined)[] {
  const out: (number | string | undefined)[] = [];
  let last: Operation | undefined;
  for (const call of calls) {
    if (call.verb === "applyStatus") last = call.operation;
    if (call.verb === "delete" && call.kind === "Pod")
      out.push(last?.type === "Roll" ? last.current : undefined);
  }
  return out;
}

function redisCommands(calls: readonly Call[]): string[] {
  return calls.flatMap((c) =>
    c.verb === "redis" ? [`${c.command} ${c.id}${c.to === undefined ? "" : ` → ${c.to}`}`] : [],
  );
}

test("bring-up records ids 0–2 before any pod exists, then member 0 starts as master and is labelled", async () => {
  const run = newRun();
  await once(run);
  assert.deepEqual(
    run.set().status?.members?.map((m) => m.id),
    [0, 1, 2],
  );
  assert.equal(run.api.list("Pod").length, 0, "ids are recorded first");
  await run.until(() => ready(run));
  assert.deepEqual(
    run.api
      .list("Pod")
      .map((p) => p.metadata.name)
      .sort(),
    ["rr-0", "rr-1", "rr-2", "rr-sentinel-0", "rr-sentinel-1", "rr-sentinel-2"],
  );
  assert.deepEqual(
    run.api
      .list("PersistentVolumeClaim")
      .map((c) => c.metadata.name)
      .sort(),
    ["data-rr-0", "data-rr-1", "data-rr-2"],
  );
  assert.equal(run.set().status?.master, 0);
  assert.deepEqual(run.redis.masters(), [0]);
  assert.equal(role(run, "rr-0"), "master");
  assert.equal(role(run, "rr-1"), "replica");
  assert.equal(run.set().status?.sentinelsAgreeing, 3);
  const secret = run.api.get("Secret", "rr-redis-auth") as { data?: Record<string, string> };
  const password = Buffer.from(secret.data?.password ?? "", "base64").toString();
  assert.match(password, /^[A-Za-z0-9_-]{32}$/);
  for (const o of [...run.api.list("Pod"), ...run.api.list("ConfigMap"), run.set()])
    assert.ok(!JSON.stringify(o).includes(password), `no password in ${o.kind} ${o.metadata.name}`);
  const gate = (run.api.get("Pod", "rr-1") as PodLike).status?.conditions?.find(
    (c) => c.type === "redis.ballast.dev/serving",
  );
  assert.equal(gate?.status, "True");
});

test("the master pod deleted: the sentinels' failover is followed, the label moves, the old member returns as a replica", async () => {
  const run = await readySet();
  run.api.remove("Pod", "rr-0");
  // Its node went away: no pod, no label, until the operator makes it again.
  const start = roles(run);
  const promoted = run.redis.sentinelsFailOver();
  assert.ok(promoted !== undefined);
  await once(run);
  assert.equal(role(run, `rr-${promoted}`), "master", "labelled within the reconcile that sees it");
  assert.equal(run.set().status?.master, promoted);
  await run.until(() => ready(run) && run.api.get("Pod", "rr-0") !== undefined);
  assert.deepEqual(run.redis.masters(), [promoted], "the old master came back as a replica");
  assert.equal(role(run, "rr-0"), "replica");
  assert.equal(run.set().status?.members?.find((m) => m.id === 0)?.role, "replica");
  assertOneLabelledMaster(run.api.calls, start);
  assert.deepEqual(redisCommands(run.api.calls), [], "Sentinel did the work; nothing to repair");
});

test("an old master that returns as master is demoted, and never labelled master beside the new one", async () => {
  const run = await readySet();
  const start = roles(run);
  // Member 0 freezes (no pod event); the sentinels fail over; it comes back still a master.
  run.redis.crashed.add(0);
  const promoted = run.redis.sentinelsFailOver();
  await once(run);
  run.redis.crashed.delete(0);
  assert.deepEqual(run.redis.masters().sort(), [0, promoted].sort());
  await run.until(() => ready(run) && run.redis.masters().length === 1);
  assert.deepEqual(run.redis.masters(), [promoted]);
  assert.ok(redisCommands(run.api.calls).includes(`replicaof 0 → ${promoted}`));
  assertOneLabelledMaster(run.api.calls, start);
  assert.equal(
    run.set().status?.lastRepair?.action,
    `demote member 0 to follow member ${promoted}`,
  );
});

test("a roll restarts the replicas first, then fails over under paused writes, then restarts the old master", async () => {
  const run = await readySet();
  const start = roles(run);
  changeSpec(run, { config: { databases: 32 } });
  await run.until(() => run.api.deleted("Pod").length === 3 && ready(run));
  assert.deepEqual(run.api.deleted("Pod"), ["Pod/rr-1", "Pod/rr-2", "Pod/rr-0"]);
  assert.deepEqual(
    recordedBeforeDeletes(run.api.calls),
    [1, 2, 0],
    "each recorded before its delete",
  );
  const commands = redisCommands(run.api.calls);
  const failover = commands.findIndex((c) => c.startsWith("sentinel failover"));
  const pause = commands.indexOf("pause 0");
  const demote = commands.findIndex((c) => c.startsWith("replicaof 0 →"));
  const resume = commands.indexOf("unpause 0");
  const caughtUp = commands.findIndex((c, i) => i > pause && /^info [12]$/.test(c));
  assert.ok(pause >= 0 && pause < caughtUp && caughtUp < failover, commands.join(", "));
  assert.ok(failover < demote && demote < resume, commands.join(", "));
  const order = run.api.calls.flatMap((c) =>
    c.verb === "delete"
      ? [`delete ${c.name}`]
      : c.verb === "redis" && c.command === "unpause"
        ? ["unpause"]
        : [],
  );
  assert.ok(order.indexOf("unpause") < order.indexOf("delete rr-0"), order.join(", "));
  assert.notEqual(run.set().status?.master, 0);
  assert.equal(run.set().status?.switchover, undefined);
  assertOneLabelledMaster(run.api.calls, start);
});

test("a controlled failover past its promotion: the label moves and the old master is demoted and resumed at once, while its sentinel still re-points the other replica", async () => {
  const run = await readySet();
  const start = roles(run);
  run.redis.leaveFinishing = true;
  changeSpec(run, { config: { databases: 32 } });
  await run.until(() => run.redis.finishing !== undefined);
  const to = run.redis.sentinel.master;
  assert.ok(to !== undefined && to !== 0);
  const other = to === 1 ? 2 : 1;
  const sent = run.api.calls.length;
  await once(run);
  assert.equal(role(run, `rr-${to}`), "master", "labelled in the next reconcile");
  assert.equal(role(run, "rr-0"), "replica");
  const commands = redisCommands(run.api.calls.slice(sent)).filter((c) => !c.startsWith("info"));
  assert.deepEqual(commands.slice(0, 2), [`replicaof 0 → ${to}`, "unpause 0"], commands.join(", "));
  assert.deepEqual(run.redis.masters(), [to]);
  // Sentinel re-points the other replica: the operator neither races it nor restarts anything.
  for (let i = 0; i < 4; i++) await once(run);
  const meanwhile = redisCommands(run.api.calls.slice(sent));
  assert.ok(!meanwhile.some((c) => c.startsWith(`replicaof ${other}`)), meanwhile.join(", "));
  assert.ok(!meanwhile.some((c) => c.startsWith("sentinel monitor")), meanwhile.join(", "));
  assert.ok(!run.api.deleted("Pod").includes("Pod/rr-0"), "the old master waits for the end");
  assert.match(run.operation()?.waitingFor ?? "", /sentinel \d is carrying out a failover/);
  run.redis.finishFailover();
  await run.until(() => run.api.deleted("Pod").length === 3 && ready(run));
  assert.equal(run.set().status?.master, to);
  assertOneLabelledMaster(run.api.calls, start);
});

test("a roll whose operator died before each pod delete resumes from status and deletes only that pod", async () => {
  const run = await readySet();
  changeSpec(run, { config: { databases: 32 } });
  let kills = 0;
  await run.until(
    () => run.api.deleted("Pod").length === 3 && ready(run),
    120,
    () => {
      if (!run.api.killBefore && kills < 3)
        run.api.killBefore = (w) => {
          if (w.verb !== "delete" || w.kind !== "Pod") return false;
          kills++;
          return true;
        };
    },
  );
  assert.equal(kills, 3);
  assert.deepEqual(run.api.deleted("Pod"), ["Pod/rr-1", "Pod/rr-2", "Pod/rr-0"]);
});

test("a roll restarts nothing while the replica restarted last is not in sync, and says so", async () => {
  const run = await readySet();
  changeSpec(run, { config: { databases: 32 } });
  await run.until(() => run.api.deleted("Pod").length === 1);
  run.redis.lagging.add(1);
  for (let i = 0; i < 6; i++) {
    await once(run);
    run.api.startPods();
  }
  assert.deepEqual(run.api.deleted("Pod"), ["Pod/rr-1"]);
  assert.match(run.operation()?.waitingFor ?? "", /member 1 has its link to the master down/);
  run.redis.lagging.delete(1);
  await run.until(() => run.api.deleted("Pod").length === 2);
});

test("scale 2 → 4 → 1 replicas: added members settle in sync, removed ones go pod first then volume, the master stays", async () => {
  const run = await readySet();
  changeSpec(run, { replicas: 4 });
  await run.until(() => run.set().status?.members?.length === 5 && ready(run));
  assert.equal(run.set().status?.ready, "5/5");
  const master = run.set().status?.master;
  changeSpec(run, { replicas: 1 });
  await run.until(() => run.set().status?.members?.length === 2 && ready(run));
  const ids = run.set().status?.members?.map((m) => m.id) ?? [];
  assert.ok(master !== undefined && ids.includes(master), `the master stays: ${ids.join(", ")}`);
  const deleted = run.api.deleted();
  for (const id of [2, 3, 4]) {
    const pod = deleted.indexOf(`Pod/rr-${id}`);
    const claim = deleted.indexOf(`PersistentVolumeClaim/data-rr-${id}`);
    assert.ok(pod >= 0 && claim > pod, `member ${id}: ${deleted.join(", ")}`);
  }
  assert.deepEqual(run.redis.masters(), [master]);
});

test("a Secret without its password key: Degraded naming it, nothing created or deleted", async () => {
  const run = await readySet();
  const secret = run.api.get("Secret", "rr-redis-auth") as Stored & {
    data: Record<string, string>;
  };
  secret.data = { passwd: Buffer.from("typo").toString("base64") };
  changeSpec(run, { replicas: 4 });
  for (let i = 0; i < 5; i++) await once(run);
  const degraded = condition(run.set(), "Degraded");
  assert.equal(degraded?.status, "True");
  assert.equal(degraded?.reason, "InvalidSecret");
  assert.match(degraded?.message ?? "", /Secret rr-redis-auth lacks "password"/);
  const writes = run.api.calls.filter((c) => c.verb === "create" || c.verb === "delete");
  assert.deepEqual(writes, []);
  assert.deepEqual(redisCommands(run.api.calls), []);
});

test("a controlled failover lost to an operator kill is asked again, while the old master's writes stay paused", async () => {
  const run = await readySet();
  changeSpec(run, { config: { databases: 32 } });
  run.api.killBefore = (w) => w.verb === "redis" && w.command === "sentinel failover";
  await run.until(() => run.set().status?.switchover !== undefined && !run.api.killBefore);
  assert.equal(run.api.deleted("Pod").length, 2, "the replicas were restarted first");
  assert.deepEqual(run.redis.masters(), [0], "no failover happened");
  const op = run.operation();
  assert.match(
    op?.waitingFor ?? "",
    /controlled failover from member 0 to member \d through sentinel \d/,
  );
  for (let i = 0; i < 3; i++) await once(run);
  assert.ok(run.redis.paused.has(0), "writes stay paused on the old master");
  assert.ok(!redisCommands(run.api.calls).some((c) => c.startsWith("sentinel failover")));
  run.clock.ms += 6000;
  await run.until(() => run.api.deleted("Pod").length === 3 && ready(run));
  assert.equal(
    redisCommands(run.api.calls).filter((c) => c.startsWith("sentinel failover")).length,
    1,
  );
  assert.ok(!run.redis.paused.has(0), "resumed after the demotion");
  assert.notEqual(run.set().status?.master, 0);
});

test("a master pod recreated before the sentinels noticed does not start as master; it follows once they fail over", async () => {
  const run = await readySet();
  run.api.remove("Pod", "rr-0");
  for (let i = 0; i < 3; i++) {
    await once(run);
    run.api.startPods();
  }
  assert.ok(run.api.get("Pod", "rr-0"), "the pod is made again");
  assert.deepEqual(run.redis.masters(), [], "its redis-server waits: the sentinels still name it");
  assert.ok(
    run.api.list("Pod").every((p) => p.metadata.labels?.[labels.role] !== "master"),
    "no pod is labelled master while there is none",
  );
  assert.equal(condition(run.set(), "Degraded")?.reason, "NoMaster");
  const promoted = run.redis.sentinelsFailOver();
  await run.until(() => ready(run));
  assert.deepEqual(run.redis.masters(), [promoted]);
  assert.equal(role(run, "rr-0"), "replica");
});

test("sentinels that agree the master is down but do not fail over (a split election) are asked to, once", async () => {
  const run = await readySet();
  run.api.remove("Pod", "rr-0");
  for (let i = 0; i < 4; i++) {
    await once(run);
    run.api.startPods();
    run.clock.ms += 2000;
  }
  assert.deepEqual(redisCommands(run.api.calls), [], "not while a normal election could still run");
  run.clock.ms += 6000;
  await run.until(() => ready(run));
  const asked = redisCommands(run.api.calls).filter((c) => c.startsWith("sentinel failover"));
  assert.equal(asked.length, 1, asked.join(", "));
  assert.match(run.set().status?.lastRepair?.action ?? "", /^ask sentinel \d to fail over$/);
  assert.notEqual(run.set().status?.master, 0);
  assert.deepEqual(run.redis.masters(), [run.set().status?.master]);
});

test("bring-up: a replica that answers before member 0 does is not promoted in its place", async () => {
  const run = newRun();
  run.redis.crashed.add(0);
  run.redis.sentinelsStarting = true;
  for (let i = 0; i < 8; i++) {
    await once(run);
    run.api.startPods();
    run.redis.write();
    run.clock.ms += 2000;
  }
  assert.deepEqual(redisCommands(run.api.calls), [], "no promotion, no repair");
  assert.deepEqual(run.redis.masters(), []);
  assert.match(condition(run.set(), "Degraded")?.message ?? "", /member 0/);
  run.redis.crashed.delete(0);
  run.redis.sentinelsStarting = false;
  await run.until(() => ready(run));
  assert.equal(run.set().status?.master, 0);
  assert.deepEqual(run.redis.masters(), [0]);
});

test("a change of dynamic keys is applied with CONFIG SET on every member, master first, no pod restarted, recorded in status", async () => {
  const run = await readySet();
  changeSpec(run, { config: { "maxmemory-policy": "allkeys-lru", maxmemory: "100mb" } });
  await run.until(() => run.set().status?.config?.applied?.maxmemory === "100mb" && ready(run));
  assert.deepEqual(run.api.deleted("Pod"), [], "no pod restarted");
  const sets = redisCommands(run.api.calls).filter((c) => c.startsWith("config set"));
  assert.deepEqual(sets, [
    "config set maxmemory-policy=allkeys-lru maxmemory=100mb 0",
    "config set maxmemory-policy=allkeys-lru maxmemory=100mb 1",
    "config set maxmemory-policy=allkeys-lru maxmemory=100mb 2",
  ]);
  for (const id of [0, 1, 2])
    assert.equal(run.redis.liveConfig(id, "maxmemory-policy"), "allkeys-lru");
  assert.deepEqual(run.set().status?.config?.live, {
    maxmemory: "100mb",
    "maxmemory-policy": "allkeys-lru",
  });
  // A member started from now on reads them from its redis.conf (the next reconcile's objects step).
  await once(run);
  const cm = run.api.get("ConfigMap", "rr-config") as unknown as { data: Record<string, string> };
  assert.match(cm.data["redis.conf"] ?? "", /^maxmemory-policy allkeys-lru$/m);
  // Steady state: nothing sent again.
  run.api.calls.length = 0;
  await run.until(() => true, 3);
  assert.deepEqual(
    redisCommands(run.api.calls).filter((c) => c.startsWith("config set")),
    [],
  );
});

test("a value Redis refuses is Degraded naming the key, value and Redis's message; nothing applied, no pod restarted even with a restart key changed too", async () => {
  const run = await readySet();
  run.redis.refuse.set(
    "maxmemory-policy",
    "CONFIG SET on member 0: ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, …",
  );
  changeSpec(run, { config: { "maxmemory-policy": "most-recent", databases: 32 } });
  await run.until(() => condition(run.set(), "Degraded")?.reason === "ConfigRefused", 20);
  const message = condition(run.set(), "Degraded")?.message ?? "";
  assert.match(message, /maxmemory-policy "most-recent"/);
  assert.match(message, /must be one of the following/);
  for (let i = 0; i < 10; i++) await once(run);
  assert.deepEqual(run.api.deleted("Pod"), [], "no pod restarted");
  assert.equal(run.redis.liveConfig(0, "maxmemory-policy"), undefined);
  assert.equal(run.set().status?.config?.applied?.["maxmemory-policy"], undefined);
  // Fixed: applied, then the restart key rolls.
  run.redis.refuse.clear();
  changeSpec(run, { config: { "maxmemory-policy": "allkeys-lru", databases: 32 } });
  await run.until(() => run.api.deleted("Pod").length === 3 && ready(run), 150);
  assert.equal(condition(run.set(), "Degraded")?.status, "False");
  assert.equal(run.redis.liveConfig(0, "maxmemory-policy"), "allkeys-lru");
});

test("maxmemory below the master's used memory with noeviction is Degraded with what to fix; nothing sent", async () => {
  const run = await readySet();
  run.redis.usedMemoryBytes = 50 * 1024 * 1024;
  changeSpec(run, { config: { maxmemory: "10mb" } });
  await run.until(() => condition(run.set(), "Degraded")?.reason === "ConfigRefused", 20);
  const message = condition(run.set(), "Degraded")?.message ?? "";
  assert.match(message, /maxmemory 10mb \(10485760 bytes\) with maxmemory-policy noeviction/);
  assert.match(message, /52428800 bytes the master \(member 0\) uses/);
  assert.match(message, /Raise maxmemory/);
  assert.deepEqual(
    redisCommands(run.api.calls).filter((c) => c.startsWith("config set")),
    [],
  );
  // With an evicting policy the same maxmemory is fine.
  changeSpec(run, { config: { maxmemory: "10mb", "maxmemory-policy": "allkeys-lru" } });
  await run.until(() => run.set().status?.config?.applied?.maxmemory === "10mb" && ready(run), 20);
  assert.equal(condition(run.set(), "Degraded")?.status, "False");
});

test("a dynamic key dropped from spec.config rolls the set (only a restart resets it to its default)", async () => {
  const run = await readySet();
  changeSpec(run, { config: { "maxmemory-policy": "allkeys-lru" } });
  await run.until(() => run.set().status?.config?.applied?.["maxmemory-policy"] === "allkeys-lru");
  assert.deepEqual(run.api.deleted("Pod"), []);
  changeSpec(run, { config: {} });
  await run.until(() => run.api.deleted("Pod").length === 3 && ready(run), 150);
  assert.deepEqual(run.api.deleted("Pod"), ["Pod/rr-1", "Pod/rr-2", "Pod/rr-0"]);
  for (const id of [0, 1, 2]) assert.equal(run.redis.liveConfig(id, "maxmemory-policy"), undefined);
});

test("a sentinel template change replaces the sentinels one at a time, each back and agreeing before the next; no member restarted", async () => {
  const run = await readySet();
  changeSpec(run, {
    sentinel: { downAfterMilliseconds: 3000, failoverTimeoutMilliseconds: 60_000 },
  });
  const sentinelPods = () =>
    run.api.list("Pod").filter((p) => p.metadata.labels?.[labels.sentinelId] !== undefined);
  // A replaced sentinel takes two reconciles to monitor again.
  run.redis.sentinelRestartTicks = 2;
  let mostMissing = 0;
  let deletes = 0;
  let notBack: number[] = [];
  const early: string[] = [];
  await run.until(
    () => run.api.deleted("Pod").length === 3 && sentinelPods().length === 3 && ready(run),
    80,
    () => {
      mostMissing = Math.max(mostMissing, 3 - sentinelPods().length);
      // A sentinel deleted in the reconcile just run while another was not monitoring at its start?
      const deleted = run.api.deleted("Pod");
      for (const d of deleted.slice(deletes))
        if (notBack.length > 0)
          early.push(`${d} while sentinels ${notBack.join(", ")} were not back`);
      deletes = deleted.length;
      run.redis.tickSentinels();
      notBack = run.redis.sentinelsNotMonitoring();
    },
  );
  assert.deepEqual(early, [], "each sentinel back and monitoring before the next goes");
  assert.deepEqual(run.api.deleted("Pod"), [
    "Pod/rr-sentinel-0",
    "Pod/rr-sentinel-1",
    "Pod/rr-sentinel-2",
  ]);
  assert.ok(mostMissing <= 1, `${mostMissing} sentinels gone at once`);
  // Each delete was recorded first, and came only after its predecessor's pod existed again.
  const writes = run.api.calls.flatMap((c) =>
    c.verb === "repair" ? [c.action] : c.verb === "delete" ? [`delete ${c.name}`] : [],
  );
  for (const id of [0, 1, 2]) {
    const del = writes.indexOf(`delete rr-sentinel-${id}`);
    assert.ok(
      del > 0 && writes.slice(0, del).includes(`restart sentinel ${id}`),
      writes.join(", "),
    );
  }
});

test("a sentinel roll waits while the members roll (one disruption at a time)", async () => {
  const run = await readySet();
  changeSpec(run, {
    config: { databases: 32 },
    sentinel: { downAfterMilliseconds: 3000, failoverTimeoutMilliseconds: 60_000 },
  });
  await run.until(() => run.api.deleted("Pod").length === 6 && ready(run), 200);
  const order = run.api.deleted("Pod");
  assert.deepEqual(order.slice(0, 3), ["Pod/rr-1", "Pod/rr-2", "Pod/rr-0"], order.join(", "));
});

test("the roll's failover waits until every replica holds the paused master's offset (so the one promoted has the highest); else writes resume and it asks again", async () => {
  const run = await readySet();
  changeSpec(run, { config: { databases: 32 } });
  // Once both replicas restarted, replica 2 stays just short of the master's offset.
  await run.until(
    () => redisCommands(run.api.calls).includes("pause 0"),
    150,
    () => {
      if (run.api.deleted("Pod").length >= 2) run.redis.behind.add(2);
    },
  );
  for (let i = 0; i < 5; i++) await once(run);
  const commands = redisCommands(run.api.calls);
  const firstWait = commands.indexOf("pause 0");
  assert.equal(
    commands.slice(firstWait).filter((c) => c.startsWith("sentinel failover")).length,
    0,
    commands.join(", "),
  );
  assert.ok(commands.slice(firstWait).includes("unpause 0"), "writes resumed");
  assert.deepEqual(run.redis.masters(), [0]);
  run.redis.behind.clear();
  await run.until(() => run.api.deleted("Pod").length === 3 && ready(run), 100);
  assert.notEqual(run.set().status?.master, 0);
});

test("a pod the API server refuses is Degraded ObjectRejected with its message, retried slowly; once accepted the set comes up", async () => {
  const run = newRun();
  const quota =
    'pods "rr-1" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10';
  run.api.refuse = (verb, kind, name) =>
    verb === "create" && kind === "Pod" && name === "rr-1"
      ? new KubeApiError({ code: 403, reason: "Forbidden", message: quota }, 403, { kind, name })
      : undefined;
  let action: unknown;
  for (let i = 0; i < 4; i++) action = await once(run);
  const degraded = condition(run.set(), "Degraded");
  assert.equal(degraded?.status, "True");
  assert.equal(degraded?.reason, "ObjectRejected");
  assert.match(degraded?.message ?? "", /refused to create Pod rr-1: .*exceeded quota: pods/);
  assert.deepEqual(action, Action.requeueAfter(rejectedRetryMs), "retried slowly");
  run.api.refuse = undefined;
  await run.until(() => ready(run));
  assert.equal(condition(run.set(), "Degraded")?.status, "False");
});
