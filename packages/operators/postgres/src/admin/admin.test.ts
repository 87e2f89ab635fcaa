/**
 * The real port against real PostgreSQL: Debian's PostgreSQL 15 on
 * 127.0.0.1, a primary and a streaming standby on free ports, both
 * requiring a password (`initdb -A scram-sha-256`), as the operator's pods
 * will. The servers run as the `postgres` user (`setpriv`, which execs, so
 * the child process IS the postmaster and signals reach it: SIGINT is a
 * fast shutdown, SIGQUIT an immediate one, SIGSTOP freezes it).
 *
 * The test walks one failover: stream, make the standby synchronous,
 * promote it, checkpoint it, rewind the old primary with `pg_rewind` (run
 * here as the operator will run it in the pod) and see it stream from the
 * new primary. The tests share the servers and run in order.
 *
 * Settings common to both servers are in `postgresql.conf`, which
 * `pg_basebackup` and `pg_rewind` copy from their source; what differs per
 * server (port, cluster_name, primary_slot_name) is on the command line,
 * as it will be in the pods. Small on purpose (shared_buffers 16MB,
 * fsync off): other processes on the machine measure latency.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { chownSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { inspect } from "node:util";
import { eventually, freePort } from "@ballast/dev/testkit";
import { Client } from "pg";
import {
  asPostgres as asPostgresUser,
  mustRunAsPostgres,
  postgresIds,
  runAsPostgres,
} from "./_test-servers.ts";
import { PostgresAdmin } from "./admin.ts";
import { compareLsnText as compareLsn, walLsnDiff } from "./lsn.ts";
import {
  type InstanceAddress,
  type InstanceReport,
  PostgresPortError,
  type PrimaryReport,
  type ReplicaReport,
} from "./port.ts";
import { formatSynchronousStandbyNames } from "./synchronous-standby-names.ts";

const password = `pw-${process.pid}-${Date.now()}`;
const admin = new PostgresAdmin({ password, connectTimeoutMs: 1000, statementTimeoutMs: 3000 });
const { uid, gid } = postgresIds();

let dir: string;
/** Member 0 starts as the primary, member 1 as its standby. */
let nodes: InstanceAddress[] = [];
const servers = new Map<number, ChildProcess>();
/** Where timeline 1 ended, from the promoted server's history (the promotion test sets it). */
let switchpoint = "";

const dataDir = (n: InstanceAddress) => join(dir, `n${n.id}`);
const nodeAt = (i: number): InstanceAddress => {
  const n = nodes[i];
  assert.ok(n);
  return n;
};
/** `synchronous_standby_names` matches the standby's application_name, which is its cluster_name. */
const nameOf = (n: InstanceAddress) => `pg-${n.id}`;
const slotOf = (n: InstanceAddress) => `pg_${n.id}`;

/** A program from the PostgreSQL 15 binaries, as the postgres user. */
function asPostgres(
  program: string,
  args: string[],
  stdio: number | "pipe" = "pipe",
): ChildProcess {
  return asPostgresUser(program, args, { cwd: dir, env: { PGPASSWORD: password }, stdio });
}

/** Runs a program to its end; its output, and how long it took. Throws with the output on failure. */
async function run(program: string, args: string[]): Promise<{ output: string; ms: number }> {
  const { output, ms } = await mustRunAsPostgres(program, args, {
    cwd: dir,
    env: { PGPASSWORD: password },
  });
  return { output, ms };
}

function startServer(n: InstanceAddress): void {
  const log = openSync(join(dir, `n${n.id}.log`), "a");
  const child = asPostgres(
    "postgres",
    [
      "-D",
      dataDir(n),
      "-p",
      String(n.port),
      "-c",
      `cluster_name=${nameOf(n)}`,
      // Ignored while it is a primary; the slot its upstream keeps for it once it is a standby.
      "-c",
      `primary_slot_name=${slotOf(n)}`,
    ],
    log,
  );
  closeSync(log);
  servers.set(n.id, child);
}

async function stopServer(n: InstanceAddress, signal: NodeJS.Signals = "SIGINT"): Promise<void> {
  const child = servers.get(n.id);
  if (!child) return;
  servers.delete(n.id);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

const log = (n: InstanceAddress) => `(server log: ${join(dir, `n${n.id}.log`)})`;

async function primaryReport(n: InstanceAddress): Promise<PrimaryReport> {
  const r = await admin.report(n);
  assert.equal(r.role, "primary", `${inspect(r)} ${log(n)}`);
  return r as PrimaryReport;
}

async function replicaReport(n: InstanceAddress): Promise<ReplicaReport> {
  const r = await admin.report(n);
  assert.equal(r.role, "replica", `${inspect(r)} ${log(n)}`);
  return r as ReplicaReport;
}

/** The replica's report once its receiver streams from `upstream` and it replayed `upstream`'s current WAL. */
function caughtUp(replica: InstanceAddress, upstream: InstanceAddress, timeoutMs = 15_000) {
  return eventually(
    `instance ${replica.id} streaming from instance ${upstream.id} and caught up ${log(replica)}`,
    async () => {
      const [r, p] = await Promise.all([admin.report(replica), admin.report(upstream)]);
      if (r.role !== "replica" || p.role !== "primary") return undefined;
      if (!r.receiver?.streaming || r.receiver.senderPort !== upstream.port) return undefined;
      if (!r.replayedLsn || compareLsn(r.replayedLsn, p.currentLsn) < 0) return undefined;
      return { replica: r, primary: p };
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** A client as an application would have one. */
async function connect(n: InstanceAddress): Promise<Client> {
  const c = new Client({
    host: n.host,
    port: n.port,
    user: "postgres",
    password,
    database: "postgres",
  });
  c.on("error", () => {});
  await c.connect();
  return c;
}

async function sql(n: InstanceAddress, text: string, params: unknown[] = []) {
  const c = await connect(n);
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

async function values(n: InstanceAddress): Promise<string[]> {
  return (await sql(n, "SELECT v FROM t ORDER BY v")).map((r) => String(r.v));
}

/** Every way a value can be shown: what must never contain a password. */
function shown(value: unknown): string {
  return `${inspect(value, { depth: 10, showHidden: true })} ${JSON.stringify(value)} ${String(value)}`;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "postgres-admin-"));
  chownSync(dir, uid, gid);
  const ports = await Promise.all([freePort(), freePort()]);
  nodes = [0, 1].map((id) => ({ id, host: "127.0.0.1", port: ports[id] ?? 0 }));
  const [primary, standby] = [nodeAt(0), nodeAt(1)];

  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, uid, gid);
  // Checksums: pg_rewind needs them or wal_log_hints.
  await run("initdb", [
    "-D",
    dataDir(primary),
    "-U",
    "postgres",
    "-A",
    "scram-sha-256",
    `--pwfile=${pwfile}`,
    "--data-checksums",
    "--no-locale",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  rmSync(pwfile);
  writeFileSync(
    join(dataDir(primary), "postgresql.conf"),
    [
      "",
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      "shared_buffers = 16MB",
      "max_connections = 20",
      "max_wal_senders = 5",
      "max_replication_slots = 5",
      // pg_rewind reads the old primary's WAL back to the last common checkpoint.
      "wal_keep_size = 64MB",
      "fsync = off",
      // A standby retries a lost upstream every 5 s by default.
      "wal_retrieve_retry_interval = 500ms",
      "",
    ].join("\n"),
    { flag: "a" },
  );
  startServer(primary);
  await eventually(`instance 0 answering ${log(primary)}`, async () =>
    (await admin.report(primary)).reachable ? true : undefined,
  );
  assert.deepEqual(await admin.ensureSlot(primary, slotOf(standby)), { created: true });
  await run("pg_basebackup", [
    "-h",
    primary.host,
    "-p",
    String(primary.port),
    "-U",
    "postgres",
    "-D",
    dataDir(standby),
    "-R",
    "-X",
    "stream",
    "-c",
    "fast",
    "-S",
    slotOf(standby),
  ]);
  startServer(standby);
  await caughtUp(standby, primary);
});

after(async () => {
  await Promise.all(nodes.map((n) => stopServer(n, "SIGQUIT")));
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

// However the process ends (a test timing out, --test-force-exit), no postmaster outlives it.
process.on("exit", () => {
  for (const child of servers.values()) child.kill("SIGQUIT");
});

test("report() of a primary and its standby: one system on timeline 1, the standby streaming through its slot", {
  timeout: 30_000,
}, async () => {
  const [primary, standby] = [nodeAt(0), nodeAt(1)];
  const p = await primaryReport(primary);
  const s = await replicaReport(standby);

  assert.equal(p.inRecovery, false);
  assert.equal(s.inRecovery, true);
  assert.equal(s.walTimeline, 1, "pg_wal's file of the last byte received is timeline 1's");
  for (const r of [p, s]) {
    assert.ok(r.serverVersionNum >= 150000 && r.serverVersionNum < 160000, r.serverVersion);
    assert.match(r.serverVersion, /^15\./);
    assert.equal(r.timeline, 1);
    assert.equal(r.checkpointTimeline, 1);
    assert.ok(walLsnDiff(r.checkpointLsn, "0/0") > 0n, r.checkpointLsn);
    assert.ok(Date.parse(r.startedAt) > Date.now() - 120_000, r.startedAt);
    assert.equal(r.synchronousStandbyNames, "");
    assert.equal(r.defaultTransactionReadOnly, false);
  }
  // No archive_mode here: pg_stat_archiver is read, and says nothing was archived or failed.
  assert.deepEqual(p.archiver, { archivedCount: 0, failedCount: 0, waitingCount: 0 });
  assert.match(p.systemIdentifier, /^\d{15,20}$/);
  assert.equal(s.systemIdentifier, p.systemIdentifier, "a base backup keeps the system identifier");

  assert.equal(p.replicas.length, 1);
  const listed = p.replicas[0];
  assert.equal(listed?.applicationName, nameOf(standby), "a standby is listed by its cluster_name");
  assert.equal(listed?.clientAddress, "127.0.0.1");
  assert.equal(listed?.state, "streaming");
  assert.equal(listed?.syncState, "async");
  assert.deepEqual(
    p.slots.map((x) => [x.name, x.type, x.active, x.temporary, x.walStatus]),
    [[slotOf(standby), "physical", true, false, "reserved"]],
  );

  assert.equal(s.receiver?.status, "streaming");
  assert.equal(s.receiver?.senderHost, primary.host);
  assert.equal(s.receiver?.senderPort, primary.port);
  assert.equal(s.receiver?.slotName, slotOf(standby));
  assert.equal(s.receiver?.receivedTimeline, 1);
  assert.equal(s.replayPaused, false);
  assert.deepEqual(s.replicas, []);
  assert.deepEqual(s.slots, [], "slots are not replicated");
});

test("report() LSNs advance with writes: the standby receives and replays up to the primary's, which lists what it acknowledged", {
  timeout: 30_000,
}, async () => {
  const [primary, standby] = [nodeAt(0), nodeAt(1)];
  const before = await primaryReport(primary);
  await sql(primary, "CREATE TABLE t (v text PRIMARY KEY)");
  await sql(primary, "INSERT INTO t SELECT 'row-' || i FROM generate_series(1000, 1999) i");
  const after = await primaryReport(primary);
  assert.ok(
    walLsnDiff(after.currentLsn, before.currentLsn) > 0n,
    `${before.currentLsn} → ${after.currentLsn}`,
  );

  const { replica } = await caughtUp(standby, primary);
  assert.ok(replica.receivedLsn && compareLsn(replica.receivedLsn, after.currentLsn) >= 0);
  assert.ok(replica.lastReplayedTransactionAt && Date.parse(replica.lastReplayedTransactionAt) > 0);
  assert.equal((await values(standby)).length, 1000);
  const acknowledged = await eventually(
    "the primary listing the standby's replay position",
    async () => {
      const listed = (await primaryReport(primary)).replicas[0];
      return listed?.replayLsn && compareLsn(listed.replayLsn, after.currentLsn) >= 0
        ? listed
        : undefined;
    },
  );
  for (const lsn of [acknowledged.sentLsn, acknowledged.writeLsn, acknowledged.flushLsn]) {
    assert.ok(lsn && compareLsn(lsn, after.currentLsn) >= 0, String(lsn));
  }

  // The pure helper agrees with the server's own arithmetic.
  const [row] = await sql(primary, "SELECT pg_wal_lsn_diff($1, $2)::text AS d", [
    after.currentLsn,
    before.currentLsn,
  ]);
  assert.equal(walLsnDiff(after.currentLsn, before.currentLsn), BigInt(String(row?.d)));
});

test("ensureSlot() creates once; dropSlot() drops an idle slot, refuses one in use, and tolerates a missing one", {
  timeout: 30_000,
}, async () => {
  const [primary, standby] = [nodeAt(0), nodeAt(1)];
  assert.deepEqual(await admin.ensureSlot(primary, slotOf(standby)), { created: false });
  assert.deepEqual(await admin.ensureSlot(primary, "spare"), { created: true });
  const spare = (await primaryReport(primary)).slots.find((x) => x.name === "spare");
  assert.equal(spare?.active, false);
  assert.ok(spare?.restartLsn, "the slot reserves WAL from its creation");
  assert.deepEqual(await admin.dropSlot(primary, "spare"), { dropped: true });
  assert.deepEqual(await admin.dropSlot(primary, "spare"), { dropped: false });

  await assert.rejects(admin.dropSlot(primary, slotOf(standby)), (err: unknown) => {
    assert.ok(err instanceof PostgresPortError, String(err));
    assert.equal(err.reason, "error");
    assert.equal(err.sqlState, "55006");
    assert.match(err.message, /is active/);
    return true;
  });
  await assert.rejects(admin.ensureSlot(primary, "Bad-Name"), /not a slot name/);
  assert.deepEqual(
    (await primaryReport(primary)).slots.map((x) => x.name),
    [slotOf(standby)],
  );
});

test("setSynchronousStandbyNames() applies and reads back; a commit waits while the synchronous standby is down", {
  timeout: 30_000,
}, async () => {
  const [primary, standby] = [nodeAt(0), nodeAt(1)];
  // Quoted: "pg-1" unquoted is refused (a hyphen is not allowed in the list's bare names).
  const value = formatSynchronousStandbyNames({
    method: "FIRST",
    count: 1,
    names: [nameOf(standby)],
  });
  try {
    assert.equal(await admin.setSynchronousStandbyNames(primary, value), value);
    const p = await eventually("the standby listed as sync", async () => {
      const r = await primaryReport(primary);
      return r.replicas[0]?.syncState === "sync" ? r : undefined;
    });
    assert.equal(p.synchronousStandbyNames, value);
    assert.equal(p.replicas[0]?.syncPriority, 1);

    // The same name unquoted: refused as a syntax error, and nothing changes.
    await assert.rejects(
      admin.setSynchronousStandbyNames(primary, `FIRST 1 (${nameOf(standby)})`),
      (err: unknown) => {
        assert.ok(err instanceof PostgresPortError && err.reason === "error", String(err));
        assert.equal(err.sqlState, "42601");
        assert.match(err.message, /invalid value for parameter "synchronous_standby_names"/);
        return true;
      },
    );
    assert.equal((await primaryReport(primary)).synchronousStandbyNames, value, "unchanged");

    await stopServer(standby);
    const writer = await connect(primary);
    let committed = false;
    const commit = writer.query("INSERT INTO t VALUES ('while-standby-down')").then(() => {
      committed = true;
    });
    await eventually("the commit waiting for the synchronous standby", async () => {
      const rows = await sql(
        primary,
        "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'SyncRep'",
      );
      return rows.length === 1 ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(committed, false, "no acknowledgement while the only synchronous standby is down");
    startServer(standby);
    await commit;
    await writer.end();
    await caughtUp(standby, primary);
    assert.ok((await values(standby)).includes("while-standby-down"));
  } finally {
    // Also releases a commit still waiting, so a failure here does not hang the tests after it.
    assert.equal(await admin.setSynchronousStandbyNames(primary, ""), "");
    if (!servers.has(standby.id)) startServer(standby);
  }
});

test("terminateClientBackends() ends client sessions but not replication", {
  timeout: 30_000,
}, async () => {
  const [primary, standby] = [nodeAt(0), nodeAt(1)];
  const victim = await connect(primary);
  assert.ok((await admin.terminateClientBackends(primary)) >= 1);
  await assert.rejects(victim.query("SELECT 1"));
  await victim.end().catch(() => {});
  const p = await primaryReport(primary);
  assert.equal(p.replicas[0]?.applicationName, nameOf(standby));
  assert.equal(p.replicas[0]?.state, "streaming");
});

test("promote() ends the standby's recovery on timeline 2 and applies its own synchronous_standby_names; again, nothing changes", {
  timeout: 30_000,
}, async (t) => {
  const [primary, standby] = [nodeAt(0), nodeAt(1)];
  await sql(primary, "INSERT INTO t VALUES ('before-failover')");
  const caught = await caughtUp(standby, primary);
  // ALTER SYSTEM works on a standby: its own postgresql.auto.conf, applied once promoted.
  const value = formatSynchronousStandbyNames({
    method: "FIRST",
    count: 1,
    names: [nameOf(primary)],
  });
  assert.equal(await admin.setSynchronousStandbyNames(standby, value), value);

  const started = Date.now();
  const promotion = await admin.promote(standby, { waitSeconds: 20 });
  t.diagnostic(`promote took ${Date.now() - started} ms`);
  assert.equal(promotion.alreadyPrimary, false);
  assert.equal(promotion.timeline, 2);

  const s = await primaryReport(standby);
  assert.equal(s.inRecovery, false);
  assert.equal(s.timeline, 2);
  assert.equal(s.synchronousStandbyNames, value, "the standby's own file, not the old primary's");
  assert.ok(compareLsn(s.currentLsn, promotion.currentLsn) >= 0);
  t.diagnostic(`checkpoint timeline right after the promotion: ${s.checkpointTimeline}`);

  // The history file of timeline 2: timeline 1 ended where the standby had replayed to.
  const history = await admin.timelineHistory(standby, 2);
  assert.equal(history.length, 1);
  assert.equal(history[0]?.timeline, 1);
  assert.ok(
    history[0] && compareLsn(history[0].switchpoint, caught.replica.replayedLsn ?? "") >= 0,
  );
  assert.deepEqual(await admin.timelineHistory(standby, 1), []);
  await assert.rejects(admin.timelineHistory(standby, 3), /00000003\.history does not exist/);
  switchpoint = history[0]?.switchpoint ?? "";

  const again = await admin.promote(standby);
  assert.equal(again.alreadyPrimary, true);
  assert.equal(again.timeline, 2);

  // Nothing fenced the old primary: it still takes writes on timeline 1.
  const old = await primaryReport(primary);
  assert.equal(old.timeline, 1);
  await sql(primary, "INSERT INTO t VALUES ('diverged')");
});

test("checkpoint() writes the new timeline into the promoted server's control file", {
  timeout: 30_000,
}, async () => {
  const promoted = nodeAt(1);
  const before = await primaryReport(promoted);
  await admin.checkpoint(promoted);
  const after = await primaryReport(promoted);
  assert.equal(after.checkpointTimeline, 2);
  assert.ok(walLsnDiff(after.checkpointLsn, before.checkpointLsn) > 0n, "a new checkpoint began");
});

test("the old primary, crashed and rewound with pg_rewind, streams from the new primary on timeline 2", {
  timeout: 30_000,
}, async (t) => {
  const [old, promoted] = [nodeAt(0), nodeAt(1)];
  // A commit on the new primary waits for pg-0, named synchronous before the promotion.
  const writer = await connect(promoted);
  const commit = writer.query("INSERT INTO t VALUES ('after-failover')");

  // An immediate shutdown, as a crash or a killed pod leaves it: pg_rewind
  // (13+) first runs the target through crash recovery in single-user mode.
  await stopServer(old, "SIGQUIT");
  const down = await admin.report(old);
  assert.equal(!down.reachable && down.error.reason, "unreachable", inspect(down));
  assert.deepEqual(await admin.ensureSlot(promoted, slotOf(old)), { created: true });

  const rewind = await run("pg_rewind", [
    "-D",
    dataDir(old),
    `--source-server=host=${promoted.host} port=${promoted.port} user=postgres dbname=postgres`,
    "-R",
  ]);
  const said = rewind.output.split("\n").filter((l) => l.startsWith("pg_rewind:"));
  t.diagnostic(`pg_rewind took ${rewind.ms} ms: ${said.join(" | ")}`);
  assert.match(rewind.output, /for target server to complete crash recovery/);
  assert.match(rewind.output, /Done!/);
  assert.match(
    rewind.output,
    new RegExp(`servers diverged at WAL location ${switchpoint} on timeline 1`),
  );
  assert.doesNotMatch(rewind.output, /no rewind required/);

  startServer(old);
  const { replica } = await caughtUp(old, promoted, 30_000);
  assert.equal(replica.timeline, 2);
  assert.equal(replica.walTimeline, 2, "pg_wal's file of the last byte received is timeline 2's");
  assert.equal(replica.receiver?.slotName, slotOf(old));
  assert.equal(replica.systemIdentifier, (await primaryReport(promoted)).systemIdentifier);
  assert.deepEqual(replica.slots, [], "pg_rewind does not copy slots; the old one is gone");
  assert.equal(
    replica.synchronousStandbyNames,
    formatSynchronousStandbyNames({ method: "FIRST", count: 1, names: [nameOf(old)] }),
    "pg_rewind copied the source's postgresql.auto.conf",
  );

  await commit;
  await writer.end();
  const rows = await values(old);
  assert.ok(rows.includes("before-failover") && rows.includes("after-failover"), rows.join());
  assert.ok(!rows.includes("diverged"), "the diverged commit is rewound away");

  const p = await primaryReport(promoted);
  assert.deepEqual(
    p.replicas.map((r) => [r.applicationName, r.state, r.syncState]),
    [[nameOf(old), "streaming", "sync"]],
  );
  assert.deepEqual(
    p.slots.map((x) => [x.name, x.active]),
    [[slotOf(old), true]],
  );
});

test("failures are classified: nothing listening, a wrong password, a frozen server (whose TCP port still connects; pg_isready sees it); no password in any of them", {
  timeout: 30_000,
}, async () => {
  const [replica, primary] = [nodeAt(0), nodeAt(1)];
  const wrong = `wrong-${password}`;
  const bad = new PostgresAdmin({ password: wrong, connectTimeoutMs: 1000 });
  const seen: unknown[] = [];

  const nowhere = { id: 9, host: "127.0.0.1", port: await freePort() };
  const none = await admin.report(nowhere);
  assert.equal(!none.reachable && none.error.reason, "unreachable", inspect(none));
  seen.push(none);

  const refused = await bad.report(primary);
  assert.equal(!refused.reachable && refused.error.reason, "auth", inspect(refused));
  assert.equal(!refused.reachable && refused.error.sqlState, "28P01");
  seen.push(refused);
  for (const call of [
    () => bad.promote(replica),
    () => bad.ensureSlot(primary, "x"),
    () => bad.setSynchronousStandbyNames(primary, wrong),
  ]) {
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(err instanceof PostgresPortError && err.reason === "auth", String(err));
      seen.push(err);
      return true;
    });
  }
  // A value that carries the password into the server's error message and the port's.
  await assert.rejects(admin.setSynchronousStandbyNames(primary, `FIRST 1 (${password}`), (err) => {
    assert.ok(err instanceof PostgresPortError && err.reason === "error", String(err));
    assert.match(err.message, /<password>/);
    seen.push(err);
    return true;
  });

  const frozen = servers.get(replica.id);
  assert.ok(frozen);
  frozen.kill("SIGSTOP");
  try {
    const quick = new PostgresAdmin({ password, connectTimeoutMs: 300 });
    const started = Date.now();
    const stuck = await quick.report(replica);
    assert.equal(!stuck.reachable && stuck.error.reason, "timeout", inspect(stuck));
    assert.ok(Date.now() - started < 2000);
    seen.push(stuck);
    // Why the pods' readiness probe is pg_isready, not a TCP connect: the
    // kernel completes a frozen postmaster's handshake; pg_isready waits for
    // the server itself (resources.ts, docs/failover.md).
    await new Promise<void>((resolve, reject) => {
      const socket = tcpConnect(replica.port, replica.host, () => {
        socket.destroy();
        resolve();
      });
      socket.on("error", reject);
    });
    const probe = await runAsPostgres(
      "pg_isready",
      ["-q", "-h", replica.host, "-p", String(replica.port), "-t", "2"],
      { cwd: dir },
    );
    assert.equal(probe.code, 2, "pg_isready: no response from a frozen server");
    const live = await runAsPostgres(
      "pg_isready",
      ["-q", "-h", primary.host, "-p", String(primary.port), "-t", "2"],
      { cwd: dir },
    );
    assert.equal(live.code, 0, "the same probe passes on a live server");
  } finally {
    frozen.kill("SIGCONT");
  }

  for (const value of seen) {
    const text = shown(value);
    assert.ok(!text.includes(password) && !text.includes(wrong), text);
  }
  const back: InstanceReport = await admin.report(replica);
  assert.equal(
    back.role,
    "replica",
    "the right password still works, and the thawed server answers",
  );
});

// --- roles and databases (spec.roles, spec.databases), on the new primary ---

/** A session as `user`, to `database`, as an application with that role's password would open it. */
async function sessionAs(n: InstanceAddress, user: string, secret: string, database = "postgres") {
  const c = new Client({ host: n.host, port: n.port, user, password: secret, database });
  c.on("error", () => {});
  await c.connect();
  return c;
}

async function loginWorks(n: InstanceAddress, user: string, secret: string, database?: string) {
  const c = await sessionAs(n, user, secret, database);
  try {
    const [row] = (await c.query("SELECT current_user AS u")).rows;
    return row?.u === user;
  } finally {
    await c.end();
  }
}

async function serverLog(n: InstanceAddress): Promise<string> {
  const { readFileSync } = await import("node:fs");
  return readFileSync(join(dir, `n${n.id}.log`), "utf8");
}

const appPassword = `app-pw-${process.pid}-${Date.now()}`;
const accented = `pässwörd-ü-${process.pid}`;

test("applyRoleChange() creates a marked login role; setRolePassword() lets it log in, with no password in the server's log", {
  timeout: 30_000,
}, async () => {
  const primary = nodeAt(1);
  const before = await admin.readRoles(primary);
  const superuser = before.roles.find((r) => r.name === "postgres");
  assert.deepEqual(
    superuser && [superuser.superuser, superuser.login, superuser.managed],
    [true, true, false],
    "initdb's superuser, not the operator's to drop",
  );
  assert.ok(!before.roles.some((r) => r.name.startsWith("pg_")), "PostgreSQL's own roles left out");

  await admin.applyRoleChange(primary, {
    kind: "createRole",
    role: "app",
    login: true,
    superuser: false,
  });
  const [row] = await sql(
    primary,
    "SELECT rolcanlogin, rolsuper, shobj_description(oid, 'pg_authid') AS mark FROM pg_authid WHERE rolname = 'app'",
  );
  assert.deepEqual(row, { rolcanlogin: true, rolsuper: false, mark: "managed by ballast" });

  await admin.setRolePassword(primary, "app", appPassword);
  const [stored] = await sql(primary, "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'");
  assert.match(String(stored?.rolpassword), /^SCRAM-SHA-256\$4096:/, "a verifier made by the port");
  assert.ok(await loginWorks(primary, "app", appPassword));
  const matches = async (secret: string) =>
    (await admin.readRoles(primary, new Map([["app", secret]]))).roles.find((r) => r.name === "app")
      ?.passwordMatches;
  assert.equal(await matches(appPassword), true);
  assert.equal(await matches(`${appPassword}-other`), false);

  // Non-ASCII: hashed by the server (its SASLprep), still read back as the same password.
  await admin.setRolePassword(primary, "app", accented);
  assert.ok(await loginWorks(primary, "app", accented));
  assert.equal(await matches(accented), true);
  await admin.setRolePassword(primary, "app", appPassword);

  // A failing ALTER ROLE: the statement (and the password) is neither in the error nor logged.
  const secret = `ghost-pw-ü-${Date.now()}`;
  await assert.rejects(admin.setRolePassword(primary, "ghost", secret), (err: unknown) => {
    assert.ok(err instanceof PostgresPortError && err.reason === "error", String(err));
    assert.equal(err.sqlState, "42704");
    assert.match(err.message, /role "ghost" does not exist/);
    assert.ok(!shown(err).includes(secret), shown(err));
    return true;
  });
  const logged = await serverLog(primary);
  assert.match(logged, /role "ghost" does not exist/, "the error itself is logged");
  for (const s of [secret, appPassword, accented]) assert.ok(!logged.includes(s), `${s} logged`);
  assert.ok(!logged.includes("SCRAM-SHA-256$"), "no verifier logged");
});

test("applyRoleChange() creates a database owned by the role, keeps its grants as asked, hands it to another owner", {
  timeout: 30_000,
}, async () => {
  const primary = nodeAt(1);
  await admin.applyRoleChange(primary, { kind: "createDatabase", database: "app", owner: "app" });
  const db = (await admin.readRoles(primary)).databases.find((d) => d.name === "app");
  assert.deepEqual(db, {
    name: "app",
    owner: "app",
    managed: true,
    grants: [{ role: "public", privileges: ["CONNECT", "TEMPORARY"] }],
  });
  const owner = await sessionAs(primary, "app", appPassword, "app");
  await owner.query("CREATE TABLE owned (v int)");
  await owner.end();

  await admin.applyRoleChange(primary, {
    kind: "createRole",
    role: "reader",
    login: true,
    superuser: false,
  });
  await admin.setRolePassword(primary, "reader", `${appPassword}-reader`);
  await sql(primary, "CREATE ROLE handmade LOGIN PASSWORD 'handmade-pw'");
  for (const change of [
    {
      kind: "revokeDatabase",
      database: "app",
      role: "public",
      privileges: ["CONNECT", "TEMPORARY"],
    },
    { kind: "grantDatabase", database: "app", role: "reader", privileges: ["CONNECT"] },
  ] as const) {
    await admin.applyRoleChange(primary, change);
  }
  const granted = (await admin.readRoles(primary)).databases.find((d) => d.name === "app");
  assert.deepEqual(granted?.grants, [{ role: "reader", privileges: ["CONNECT"] }]);
  assert.ok(await loginWorks(primary, "reader", `${appPassword}-reader`, "app"));
  await assert.rejects(loginWorks(primary, "handmade", "handmade-pw", "app"), /permission denied/);

  // The old owner's entries go to the new owner: neither is listed.
  await admin.applyRoleChange(primary, { kind: "alterOwner", database: "app", owner: "postgres" });
  const moved = (await admin.readRoles(primary)).databases.find((d) => d.name === "app");
  assert.deepEqual(
    [moved?.owner, moved?.grants],
    ["postgres", [{ role: "reader", privileges: ["CONNECT"] }]],
  );
  await admin.applyRoleChange(primary, { kind: "alterOwner", database: "app", owner: "app" });
});

test("memberships; dropRole drops only the operator's roles, and PostgreSQL refuses one that objects depend on", {
  timeout: 30_000,
}, async () => {
  const primary = nodeAt(1);
  const role = async (name: string) =>
    (await admin.readRoles(primary)).roles.find((r) => r.name === name);
  await admin.applyRoleChange(primary, {
    kind: "grantMembership",
    role: "reader",
    of: "pg_read_all_data",
  });
  assert.deepEqual((await role("reader"))?.memberOf, ["pg_read_all_data"]);
  await admin.applyRoleChange(primary, {
    kind: "revokeMembership",
    role: "reader",
    of: "pg_read_all_data",
  });
  assert.deepEqual((await role("reader"))?.memberOf, []);

  // app owns a table in database app (its database's ownership is not counted: the plan sees it).
  assert.equal((await role("app"))?.ownsObjects, true);
  const owner = await sessionAs(primary, "app", appPassword, "app");
  await owner.query("GRANT SELECT ON owned TO reader");
  const r = await role("reader");
  assert.deepEqual([r?.ownsObjects, r?.holdsPrivileges], [false, true]);
  await assert.rejects(admin.applyRoleChange(primary, { kind: "dropRole", role: "app" }), (err) => {
    assert.ok(err instanceof PostgresPortError && err.reason === "error", String(err));
    assert.equal(err.sqlState, "2BP01");
    return true;
  });
  for (const refused of ["postgres", "streaming_replica", "handmade"]) {
    await assert.rejects(
      admin.applyRoleChange(primary, { kind: "dropRole", role: refused }),
      /refused/,
      refused,
    );
  }
  assert.ok(await role("handmade"), "a role the operator did not create stays");

  await owner.query("DROP TABLE owned");
  await owner.end();
  await admin.applyRoleChange(primary, { kind: "alterOwner", database: "app", owner: "postgres" });
  await admin.applyRoleChange(primary, {
    kind: "revokeDatabase",
    database: "app",
    role: "reader",
    privileges: ["CONNECT"],
  });
  const free = await role("app");
  assert.deepEqual([free?.ownsObjects, free?.holdsPrivileges], [false, false]);
  await admin.applyRoleChange(primary, { kind: "dropRole", role: "app" });
  await admin.applyRoleChange(primary, { kind: "dropRole", role: "reader" });
  const left = await sql(
    primary,
    "SELECT rolname FROM pg_roles WHERE rolname IN ('app', 'reader')",
  );
  assert.deepEqual(left, []);
  assert.ok(
    (await admin.readRoles(primary)).databases.some((d) => d.name === "app"),
    "the database stays",
  );
});
