/**
 * The real port against real Redis: Debian's redis-server 7.0 on
 * 127.0.0.1, a master, two replicas and three sentinels on free high
 * ports, every one of them requiring a password (`requirepass`; replicas
 * `masterauth`; sentinels `auth-pass` for the servers and `sentinel-pass`
 * for each other), as the operator's pods will. The sentinels start
 * monitoring nothing: the port's `sentinelMonitor` sets them up. Sentinels
 * run as `redis-server <file> --sentinel` (what Debian's redis-sentinel
 * does), so only the redis-server package is needed. Addresses are IPs
 * here; the pods will announce hostnames.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { inspect } from "node:util";
import { eventually } from "@ballast/dev/testkit";
import { Redis } from "ioredis";
import { ownedConfigKeys } from "../api.ts";
import {
  fileOnlyDirectives,
  immutableConfigKeys,
  valkeyImmutableConfigKeys,
} from "../plan/config.ts";
import { chooseMaster } from "../plan/master.ts";
import type { ReplicationObservation } from "../plan/state.ts";
import { RedisAdmin } from "./admin.ts";
import {
  type MemberAddress,
  type MemberReport,
  RedisPortError,
  type SentinelAddress,
  type SentinelReport,
  sameAddress,
} from "./port.ts";

const masterName = "ballast";
const password = `pw-${process.pid}-${Date.now()}`;
let dir: string;
const processes: ChildProcess[] = [];
let members: MemberAddress[] = [];
let sentinels: SentinelAddress[] = [];
const admin = new RedisAdmin({ password, connectTimeoutMs: 1000, commandTimeoutMs: 2000 });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function start(args: string[]): ChildProcess {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  processes.push(child);
  return child;
}

function startMember(m: MemberAddress, replicaOf?: MemberAddress): ChildProcess {
  const d = join(dir, `m${m.id}`);
  mkdirSync(d, { recursive: true });
  return start([
    "--port",
    String(m.port),
    "--bind",
    "127.0.0.1",
    "--dir",
    d,
    "--logfile",
    join(d, "redis.log"),
    "--save",
    "",
    "--appendonly",
    "no",
    "--requirepass",
    password,
    "--masterauth",
    password,
    // A replica's first sync starts at once (diskless, no 5 s wait for more replicas).
    "--repl-diskless-sync-delay",
    "0",
    ...(replicaOf ? ["--replicaof", replicaOf.host, String(replicaOf.port)] : []),
  ]);
}

function startSentinel(s: SentinelAddress): ChildProcess {
  const d = join(dir, `s${s.id}`);
  mkdirSync(d, { recursive: true });
  const file = join(d, "sentinel.conf");
  writeFileSync(
    file,
    [
      `port ${s.port}`,
      "bind 127.0.0.1",
      `dir ${d}`,
      `logfile ${join(d, "sentinel.log")}`,
      `requirepass ${password}`,
      `sentinel sentinel-pass ${password}`,
      "",
    ].join("\n"),
  );
  return start([file, "--sentinel"]);
}

/** A client as an application would have one, to write through. */
function client(m: MemberAddress): Redis {
  const c = new Redis({
    host: m.host,
    port: m.port,
    password,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on("error", () => {});
  return c;
}

const reports = (): Promise<MemberReport[]> => Promise.all(members.map((m) => admin.report(m)));
const sentinelReports = (): Promise<SentinelReport[]> =>
  Promise.all(sentinels.map((s) => admin.sentinelReport(s, masterName)));

async function observation(): Promise<ReplicationObservation> {
  const [rs, ss] = await Promise.all([reports(), sentinelReports()]);
  return {
    members: members.map((m, i) => ({ id: m.id, address: m, ...(rs[i] ? { report: rs[i] } : {}) })),
    sentinels: sentinels.map((s, i) => ({
      id: s.id,
      address: s,
      ...(ss[i] ? { report: ss[i] } : {}),
    })),
    expectedSentinels: sentinels.length,
  };
}

/** Every sentinel names `master` and knows both replicas and both other sentinels, all up. */
async function sentinelsSettledOn(master: MemberAddress): Promise<true | undefined> {
  const all = await sentinelReports();
  const settled = all.every(
    (r) =>
      r.monitoring &&
      sameAddress(r.master, master) &&
      !r.failoverInProgress &&
      r.replicas.filter((x) => !x.down && x.masterLinkOk).length === members.length - 1 &&
      r.sentinels.filter((p) => !p.down).length === sentinels.length - 1,
  );
  return settled || undefined;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "redis-admin-"));
  const ports = await Promise.all(Array.from({ length: 6 }, freePort));
  members = [0, 1, 2].map((id) => ({ id, host: "127.0.0.1", port: ports[id] ?? 0 }));
  sentinels = [0, 1, 2].map((id) => ({ id, host: "127.0.0.1", port: ports[3 + id] ?? 0 }));
  const [master, ...replicas] = members;
  assert.ok(master);
  startMember(master);
  for (const r of replicas) startMember(r, master);
  for (const s of sentinels) startSentinel(s);
  await eventually(
    "the master listing both replicas online",
    async () => {
      const r = await admin.report(master);
      return r.role === "master" && r.replicas.filter((x) => x.state === "online").length === 2
        ? true
        : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  await eventually(
    "every sentinel answering",
    async () => ((await sentinelReports()).every((r) => r.reachable) ? true : undefined),
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  for (const s of sentinels) {
    await admin.sentinelMonitor(s, masterName, master, {
      quorum: 2,
      downAfterMilliseconds: 5000,
      failoverTimeoutMilliseconds: 10_000,
    });
  }
  // The notes' pitfall: a failover before the sentinels know the replicas aborts.
  await eventually(
    "the sentinels knowing both replicas and each other",
    () => sentinelsSettledOn(master),
    { timeoutMs: 20_000, intervalMs: 200 },
  );
});

after(() => {
  for (const child of processes) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("report() gives each member's role, offset, link status and the replicas a master lists", async () => {
  const [master, ...replicas] = members;
  assert.ok(master);
  const writer = client(master);
  await writer.connect();
  for (let i = 0; i < 50; i++) await writer.set(`key-${i}`, `value-${i}`);
  writer.disconnect();
  const ack = await admin.waitForReplicas(master, 2, 5000);
  assert.equal(ack.acknowledged, 2);

  const [m, ...rs] = await reports();
  assert.equal(m?.role, "master");
  if (m?.role !== "master") return;
  assert.ok(m.offset >= ack.offset && ack.offset > 0);
  assert.equal(m.loading, false);
  assert.deepEqual(
    m.replicas.map((r) => r.address.port).sort(),
    replicas.map((r) => r.port).sort(),
  );
  for (const listed of m.replicas) {
    assert.equal(listed.state, "online");
    assert.ok(listed.offset >= ack.offset, "the master lists the offset each replica acknowledged");
    assert.ok(listed.lagSeconds <= 2);
  }
  for (const r of rs) {
    assert.equal(r.role, "replica");
    if (r.role !== "replica") continue;
    assert.ok(sameAddress(r.following, master));
    assert.equal(r.masterLinkStatus, "up");
    assert.equal(r.syncInProgress, false);
    assert.equal(r.replicationId, m.replicationId, "one replication history");
    assert.ok(r.offset >= ack.offset);
    assert.equal(r.priority, 100);
  }
});

test("sentinelReport() gives the master each sentinel believes, its flags, and the replicas and sentinels it knows", async () => {
  const [master] = members;
  assert.ok(master);
  for (const r of await sentinelReports()) {
    assert.ok(r.monitoring, JSON.stringify(r));
    if (!r.monitoring) continue;
    assert.ok(sameAddress(r.master, master));
    assert.deepEqual(r.flags, ["master"]);
    assert.equal(r.subjectivelyDown || r.objectivelyDown || r.failoverInProgress, false);
    assert.equal(r.quorum, 2);
    assert.equal(r.replicas.length, 2);
    assert.deepEqual(
      r.sentinels.map((p) => p.address.port).sort(),
      sentinels
        .filter((s) => s.id !== r.id)
        .map((s) => s.port)
        .sort(),
    );
  }
  const idle = await admin.sentinelReport(sentinels[0] as SentinelAddress, "no-such-set");
  assert.deepEqual(idle, { id: 0, reachable: true, monitoring: false });
});

test("configSet() changes a dynamic setting without a restart", async () => {
  const replica = members[1] as MemberAddress;
  await admin.configSet(replica, "replica-priority", "10");
  const r = await admin.report(replica);
  assert.equal(r.role === "replica" && r.priority, 10);
  await admin.configSet(replica, "replica-priority", "100");
  await assert.rejects(admin.configSet(replica, "no-such-setting", "1"), (err: unknown) => {
    assert.ok(err instanceof RedisPortError && err.reason === "error", String(err));
    assert.match(err.message, /CONFIG SET no-such-setting on member 1 \(127\.0\.0\.1:\d+\)/);
    return true;
  });
});

test("configSetAll() applies every setting or, one refused, none; configGet() reads them back as Redis reports them", async () => {
  const replica = members[2] as MemberAddress;
  await admin.configSetAll(replica, [
    ["maxmemory", "100mb"],
    ["maxmemory-policy", "allkeys-lru"],
  ]);
  assert.deepEqual(await admin.configGet(replica, ["maxmemory", "maxmemory-policy", "no-such"]), {
    maxmemory: "104857600",
    "maxmemory-policy": "allkeys-lru",
  });
  await assert.rejects(
    admin.configSetAll(replica, [
      ["maxmemory", "200mb"],
      ["maxmemory-policy", "most-recent"],
    ]),
    (err: unknown) => {
      assert.ok(err instanceof RedisPortError && err.reason === "error", String(err));
      assert.match(err.message, /maxmemory-policy/);
      return true;
    },
  );
  // All or nothing: the good maxmemory was not applied either.
  assert.equal((await admin.configGet(replica, ["maxmemory"])).maxmemory, "104857600");
  await admin.configSetAll(replica, [
    ["maxmemory", "0"],
    ["maxmemory-policy", "noeviction"],
  ]);
  assert.ok((await admin.usedMemory(replica)) > 100_000);
});

test("the immutable config list (plan/config.ts) is Redis's own: each listed key is refused as immutable, every other CONFIG GET * key is accepted", async () => {
  const m = members[2] as MemberAddress;
  const c = client(m);
  await c.connect();
  try {
    const flat = (await c.call("CONFIG", "GET", "*")) as string[];
    const all = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) all.set(flat[i] ?? "", flat[i + 1] ?? "");
    assert.ok(all.size > 150, `${all.size} configs`);
    const immutable: string[] = [];
    const refusedOtherwise: string[] = [];
    for (const [key, value] of all) {
      try {
        await c.call("CONFIG", "SET", key, value);
      } catch (err) {
        const text = String(err);
        if (/can't set immutable config/.test(text)) immutable.push(key);
        // Protected configs (dir, dbfilename) are owned by the operator: the schema refuses them.
        else if (/can't set protected config/.test(text))
          assert.ok(ownedConfigKeys.includes(key as never), key);
        else refusedOtherwise.push(`${key}: ${text}`);
      }
    }
    assert.deepEqual(refusedOtherwise, []);
    const valkey = /valkey_version:/.test(String(await c.call("INFO", "server")));
    const expected = valkey
      ? [...immutableConfigKeys, ...valkeyImmutableConfigKeys]
      : immutableConfigKeys;
    assert.deepEqual(immutable.sort(), [...expected].sort());
    for (const key of fileOnlyDirectives) assert.ok(!all.has(key), `${key} is a config after all`);
  } finally {
    c.disconnect();
  }
});

test("a controlled failover: writes paused, SENTINEL FAILOVER promotes a replica, replicaOf() demotes the old master, the paused write is refused", async () => {
  const [old] = members;
  assert.ok(old);
  assert.ok(await sentinelsSettledOn(old), "the sentinels know both replicas before the failover");
  const events: { channel: string; message: string }[] = [];
  const subscription = await admin.subscribe(
    sentinels[0] as SentinelAddress,
    ["+promoted-slave", "+switch-master", "+failover-end"],
    (channel, message) => events.push({ channel, message }),
  );
  const writer = client(old);
  await writer.connect();
  await writer.set("before", "kept");
  assert.equal((await admin.waitForReplicas(old, 2, 5000)).acknowledged, 2);

  // The old master takes no write between the promotion and its demotion.
  await admin.pauseWrites(old, 10_000);
  const during = writer.set("during", "never acknowledged by the old master").then(
    (reply) => ({ ok: true as const, reply }),
    (err: Error) => ({ ok: false as const, message: err.message }),
  );
  // Each replica itself reports the paused master's offset at once (its acknowledgement,
  // which waitForReplicas reads from the master, comes only once a second).
  const paused = await admin.report(old);
  const replicaOffsets = await Promise.all(members.slice(1).map((m) => admin.report(m)));
  assert.ok(
    replicaOffsets.every((r) => r.reachable && r.offset >= (paused.reachable ? paused.offset : 0)),
    JSON.stringify(replicaOffsets.map((r) => r.reachable && r.offset)),
  );
  await admin.sentinelFailover(sentinels[0] as SentinelAddress, masterName);

  // While sentinel 0 still re-points the other replica (a second or more after the
  // promotion), the promoted replica is already the master the plan recognises.
  const early = await eventually(
    "sentinel 0 past its promotion, the plan naming the promoted replica",
    async () => {
      const d = chooseMaster(await observation());
      return d.kind === "master" && d.finishing !== undefined ? d : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  assert.equal(early.finishing, 0);
  assert.notEqual(early.id, old.id);
  assert.ok(
    events.some((e) => e.channel === "+promoted-slave"),
    `sentinel 0 published its promotion: ${JSON.stringify(events)}`,
  );

  const promoted = await eventually(
    "a replica promoted and named by sentinel 0",
    async () => {
      const s = await admin.sentinelReport(sentinels[0] as SentinelAddress, masterName);
      if (!s.monitoring || s.failoverInProgress || sameAddress(s.master, old)) return undefined;
      const m = members.find((x) => sameAddress(x, s.master));
      return m && (await admin.report(m)).role === "master" ? m : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  assert.notEqual(promoted.id, old.id);

  // Sentinel 7.0 leaves the old master a master for about 10 s after the
  // switch: the operator demotes it at once, on the sentinels' word.
  const oldReport = await admin.report(old);
  if (oldReport.role === "master") {
    const decision = await eventually(
      "the sentinels agreeing on the promoted master",
      async () => {
        const d = chooseMaster(await observation());
        return d.kind === "master" ? d : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal(decision.id, promoted.id);
    if ((await admin.report(old)).role === "master") assert.deepEqual(decision.demote, [old.id]);
  }
  await admin.replicaOf(old, promoted);
  await admin.resumeWrites(old);

  const outcome = await during;
  assert.equal(outcome.ok, false, "the write paused on the old master is not acknowledged");
  if (!outcome.ok) assert.match(outcome.message, /READONLY|closed/i);
  writer.disconnect();

  const back = await eventually(
    "the old master following the promoted one, in sync",
    async () => {
      const r = await admin.report(old);
      return r.role === "replica" &&
        sameAddress(r.following, promoted) &&
        r.masterLinkStatus === "up"
        ? r
        : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  assert.equal(back.role, "replica");
  const reader = client(promoted);
  await reader.connect();
  assert.equal(await reader.get("before"), "kept");
  assert.equal(await reader.get("during"), null);
  reader.disconnect();
  const settled = await eventually(
    "the sentinels agreeing on the promoted master, nothing to demote",
    async () => {
      const d = chooseMaster(await observation());
      return d.kind === "master" && d.demote.length === 0 ? d : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  assert.deepEqual(settled, { kind: "master", id: promoted.id, demote: [], by: "sentinels" });
  assert.equal(early.id, promoted.id);
  assert.ok(
    events.some((e) => e.channel === "+failover-end"),
    JSON.stringify(events),
  );
  subscription.close();
  await subscription.ended;
});

test("sentinelReset() makes a sentinel forget and rediscover the replicas and sentinels that exist", async () => {
  const s = sentinels[2] as SentinelAddress;
  const before = await admin.sentinelReport(s, masterName);
  assert.ok(before.monitoring);
  await admin.sentinelReset(s, masterName);
  const after = await eventually(
    "the reset sentinel knowing both replicas and both sentinels again",
    async () => {
      const r = await admin.sentinelReport(s, masterName);
      return r.monitoring &&
        r.replicas.filter((x) => !x.down).length === 2 &&
        r.sentinels.filter((p) => !p.down).length === 2
        ? r
        : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  assert.ok(after.monitoring && sameAddress(after.master, before.master), "same master");
});

test("a wrong password is refused with reason auth, and no password is in any message", async () => {
  const wrong = `wrong-${password}`;
  const bad = new RedisAdmin({ password: wrong, connectTimeoutMs: 1000, commandTimeoutMs: 2000 });
  const member = members[1] as MemberAddress;
  const report = await bad.report(member);
  assert.equal(report.reachable, false);
  if (report.reachable) return;
  assert.equal(report.error.reason, "auth");
  assert.match(report.error.message, /WRONGPASS/);
  const sentinel = await bad.sentinelReport(sentinels[0] as SentinelAddress, masterName);
  assert.equal(!sentinel.reachable && sentinel.error.reason, "auth");
  const errors: unknown[] = [];
  for (const attempt of [
    () => bad.replicaOf(member, "no one"),
    () => bad.configSet(member, "masterauth", wrong),
    () => bad.sentinelMonitor(sentinels[0] as SentinelAddress, "other", member, { quorum: 2 }),
  ]) {
    await assert.rejects(attempt(), (err: unknown) => {
      assert.ok(err instanceof RedisPortError && err.reason === "auth", String(err));
      errors.push(err);
      return true;
    });
  }
  for (const shown of [report, sentinel, ...errors]) {
    const text = `${inspect(shown, { depth: 10 })} ${JSON.stringify(shown)} ${String(shown)}`;
    assert.ok(!text.includes(wrong) && !text.includes(password), text);
  }
  assert.ok((await admin.report(member)).reachable, "the right password still works");
});

test("report() of an address where nothing listens is unreachable at once, and of a stopped process times out", async () => {
  const t0 = Date.now();
  const none = await admin.report({ id: 9, host: "127.0.0.1", port: await freePort() });
  assert.equal(!none.reachable && none.error.reason, "unreachable");
  assert.ok(Date.now() - t0 < 1000);

  const replica = members[1] as MemberAddress;
  const pid = processes[1]?.pid;
  assert.ok(pid);
  process.kill(pid, "SIGSTOP");
  try {
    const quick = new RedisAdmin({ password, connectTimeoutMs: 300, commandTimeoutMs: 300 });
    const t1 = Date.now();
    const stopped = await quick.report(replica);
    assert.equal(!stopped.reachable && stopped.error.reason, "timeout", JSON.stringify(stopped));
    assert.ok(Date.now() - t1 < 2000);
  } finally {
    process.kill(pid, "SIGCONT");
  }
});
