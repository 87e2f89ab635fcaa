/**
 * pgbackrest.ts against the real things, no fakes: Debian's PostgreSQL 15
 * and pgBackRest 2.45 run as the `postgres` user (as admin.test.ts runs
 * them), and versitygw, a real S3 server that checks SigV4 signatures,
 * started on the host over TLS with a CA made for this test
 * (`startLocalS3`, admin/_test-servers.ts). Every pgBackRest command is the argv
 * the module builds, reading the module's pgbackrest.conf and the
 * credentials file from a directory laid out as a Secret volume is
 * (`..data` links); the archive_command is the module's, on the server's
 * command line as the pods will have it.
 *
 * The tests share the servers and run in order: stanza-create, WAL
 * archiving, a full and a diff backup, info, a point-in-time restore into
 * a new data directory, retention, the failures, and a target outside the
 * archive. Times are reported as diagnostics (docs/backup.md quotes them).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { inspect } from "node:util";
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { eventually, freePort } from "@ballast/dev/testkit";
import { Client } from "pg";
import {
  asPostgres,
  type LocalS3,
  mustRunAsPostgres,
  postgresIds,
  runAsPostgres,
  startLocalS3,
  stopProcess,
} from "../admin/_test-servers.ts";
import { compareLsnText } from "../admin/lsn.ts";
import {
  archiveCommand,
  backupArgs,
  checkArgs,
  chooseBackup,
  classifyPgbackrestFailure,
  credentialsConf,
  expireArgs,
  type Invocation,
  infoArgs,
  infoFailure,
  type PgbackrestFailure,
  parseInfo,
  pgbackrestConf,
  pitrTargetProblem,
  restoreArgs,
  type StanzaInfo,
  segmentEnd,
  stanzaCreateArgs,
} from "./pgbackrest.ts";

const { uid, gid } = postgresIds();
const stanza = "pg-src";
const namespace = "test-ns";
const repoPath = `/${namespace}/${stanza}`;
const bucket = "backups";
const region = "us-east-1";
const password = `pw-${randomBytes(6).toString("hex")}`;
const credentials = {
  accessKeyId: `AK${randomBytes(9).toString("hex").toUpperCase()}`,
  secretAccessKey: `sk-${randomBytes(18).toString("base64url")}`,
};
const wrongSecret = `wrong-${randomBytes(18).toString("base64url")}`;

let dir: string;
let pgPort = 0;
let local: LocalS3;
let s3: S3Client;
const servers = new Map<string, ChildProcess>();
const timings: Record<string, number> = {};

const file = (...parts: string[]) => join(dir, ...parts);
const dataDir = () => file("primary");
const inv = (extra: string[] = []): Invocation => ({
  stanza,
  config: file("conf", "pgbackrest.conf"),
  includePath: file("credentials"),
  extra: ["--log-level-console=warn", ...extra],
});

/** pgBackRest as the postgres user; its result whatever its exit code. */
function pgbackrest(argv: string[]) {
  const [program, ...args] = argv;
  assert.equal(program, "pgbackrest");
  return runAsPostgres(program, args, { cwd: dir });
}

async function mustPgbackrest(argv: string[]) {
  const done = await pgbackrest(argv);
  assert.equal(done.code, 0, `${argv.join(" ")}: ${done.output}`);
  return done;
}

async function info(): Promise<StanzaInfo> {
  return parseInfo((await mustPgbackrest(infoArgs(inv()))).stdout, stanza);
}

/** A server from `data` on `port`, archiving with the module's archive_command unless told otherwise. */
function startServer(name: string, data: string, port: number, settings: string[] = []): void {
  const log = openSync(file(`${name}.log`), "a");
  const child = asPostgres(
    "postgres",
    ["-D", data, "-p", String(port), "-c", `cluster_name=${name}`, ...settings],
    { cwd: dir, stdio: log },
  );
  closeSync(log);
  servers.set(name, child);
}

const archiving = (command = archiveCommand(inv())) => [
  "-c",
  "archive_mode=on",
  "-c",
  `archive_command=${command}`,
];

async function stopServer(name: string, signal: NodeJS.Signals = "SIGINT"): Promise<void> {
  await stopProcess(servers.get(name), signal);
  servers.delete(name);
}

async function connect(port: number): Promise<Client> {
  const c = new Client({
    host: "127.0.0.1",
    port,
    user: "postgres",
    password,
    database: "postgres",
  });
  c.on("error", () => {});
  await c.connect();
  return c;
}

async function sql<T = Record<string, unknown>>(port: number, text: string): Promise<T[]> {
  const c = await connect(port);
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

const serverLog = (name: string) => `(server log: ${file(`${name}.log`)})`;

function answering(name: string, port: number) {
  return eventually(`${name} answering ${serverLog(name)}`, async () => {
    const child = servers.get(name);
    if (child && child.exitCode !== null) {
      throw new Error(
        `${name} exited ${child.exitCode}: ${readFileSync(file(`${name}.log`), "utf8")}`,
      );
    }
    try {
      await sql(port, "SELECT 1");
      return true;
    } catch {
      return undefined;
    }
  });
}

/** Switches WAL on the primary and waits until the archiver says the segment is in the repository. */
async function switchAndArchive(): Promise<{ wal: string; archivedAt: string }> {
  const [row] = await sql<{ wal: string }>(
    pgPort,
    "SELECT pg_walfile_name(pg_switch_wal()) AS wal",
  );
  const wal = row?.wal ?? "";
  return eventually(`${wal} archived ${serverLog("primary")}`, async () => {
    const [a] = await sql<{ wal: string | null; at: Date | null; failed: string }>(
      pgPort,
      "SELECT last_archived_wal AS wal, last_archived_time AS at, failed_count AS failed FROM pg_stat_archiver",
    );
    if (a?.wal && a.at && a.wal >= wal) return { wal, archivedAt: a.at.toISOString() };
    return undefined;
  });
}

/** Every key under `prefix` in the bucket. */
async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}
const backupPrefix = `${repoPath.slice(1)}/backup/${stanza}/`;
const archivePrefix = `${repoPath.slice(1)}/archive/${stanza}/`;

/** A directory laid out as a Secret volume: the file a link into `..data`, itself a link. */
function secretVolume(name: string, files: Record<string, string>): string {
  const root = file(name);
  const stamp = `..2026_12_02_00_00_00.${randomBytes(4).toString("hex")}`;
  mkdirSync(join(root, stamp), { recursive: true });
  for (const [key, text] of Object.entries(files)) {
    writeFileSync(join(root, stamp, key), text, { mode: 0o440 });
    chownSync(join(root, stamp, key), uid, gid);
    symlinkSync(`..data/${key}`, join(root, key));
  }
  symlinkSync(stamp, join(root, "..data"));
  return root;
}

function writeConf(name: string, overrides: { retentionFull?: number } = {}): void {
  writeFileSync(
    file("conf", name),
    pgbackrestConf({
      stanza,
      objectStore: {
        host: local.host,
        port: local.port,
        bucket,
        region,
        path: repoPath,
        caFile: local.caFile,
      },
      retention: { type: "count", full: overrides.retentionFull ?? 2 },
      pg: { path: dataDir(), port: pgPort, socketPath: file("run") },
      logPath: file("run", "pgbackrest", "log"),
      lockPath: file("run", "pgbackrest", "lock"),
      archiveTimeoutSeconds: 30,
    }),
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "postgres-pgbackrest-"));
  chownSync(dir, uid, gid);
  pgPort = await freePort();

  local = await startLocalS3({ dir, bucket, credentials, region });
  s3 = local.client;

  mkdirSync(file("conf"));
  mkdirSync(file("run", "pgbackrest", "log"), { recursive: true });
  mkdirSync(file("run", "pgbackrest", "lock"), { recursive: true });
  writeConf("pgbackrest.conf");
  secretVolume("credentials", { "s3.conf": credentialsConf(credentials) });
  secretVolume("wrong-credentials", {
    "s3.conf": credentialsConf({ ...credentials, secretAccessKey: wrongSecret }),
  });
  execFileSync("chown", ["-R", `${uid}:${gid}`, file("conf"), file("run")]);

  const pwfile = file("pwfile");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, uid, gid);
  await mustRunAsPostgres(
    "initdb",
    [
      ...["-D", dataDir(), "-U", "postgres", `--pwfile=${pwfile}`],
      // As the pods: peer on the socket (pgBackRest), scram over TCP (the test's client).
      ...["--auth-local=peer", "--auth-host=scram-sha-256", "--data-checksums"],
      ...["--no-locale", "-E", "UTF8", "--no-sync"],
    ],
    { cwd: dir },
  );
  rmSync(pwfile);
  writeFileSync(
    join(dataDir(), "postgresql.conf"),
    [
      "",
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${file("run")}'`,
      "shared_buffers = 16MB",
      "max_connections = 20",
      "fsync = off",
      "",
    ].join("\n"),
    { flag: "a" },
  );
  startServer("primary", dataDir(), pgPort, archiving());
  await answering("primary", pgPort);
});

after(async () => {
  await Promise.all([...servers.keys()].map((name) => stopServer(name, "SIGQUIT")));
  await local?.stop();
  if (timings && Object.keys(timings).length > 0) console.log("timings (ms):", timings);
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

// However the process ends (a timeout, --test-force-exit), no server outlives it.
process.on("exit", () => {
  for (const child of servers.values()) child.kill("SIGQUIT");
});

test("stanza-create makes the stanza in the bucket; check sees a WAL switch reach it", {
  timeout: 60_000,
}, async (t) => {
  const created = await mustPgbackrest(stanzaCreateArgs(inv()));
  timings.stanzaCreate = created.ms;
  t.diagnostic(`stanza-create took ${created.ms} ms`);
  const made = await keys(`${repoPath.slice(1)}/`);
  for (const f of ["backup.info", "backup.info.copy"])
    assert.ok(made.includes(`${backupPrefix}${f}`), inspect(made));
  for (const f of ["archive.info", "archive.info.copy"])
    assert.ok(made.includes(`${archivePrefix}${f}`), inspect(made));
  // Idempotent: a controller may run it again after a restart.
  await mustPgbackrest(stanzaCreateArgs(inv()));
  const checked = await mustPgbackrest(checkArgs(inv()));
  timings.check = checked.ms;
  const empty = await info();
  assert.equal(empty.status.state, "no-backups", inspect(empty));
  assert.equal(empty.backups.length, 0);
});

test("the module's archive_command pushes each switched WAL segment into the bucket", {
  timeout: 60_000,
}, async () => {
  await sql(
    pgPort,
    "CREATE TABLE t (v text PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())",
  );
  const { wal } = await switchAndArchive();
  const archived = await keys(archivePrefix);
  assert.ok(
    archived.some((k) => k.split("/").at(-1)?.startsWith(`${wal}-`)),
    `${wal} in ${inspect(archived)}`,
  );
  // Compressed with zst, as the configuration says.
  assert.ok(archived.filter((k) => /\/[0-9A-F]{24}-/.test(k)).every((k) => k.endsWith(".zst")));
});

let full = "";
let diff = "";

test("a full backup, then rows, then a diff backup; info reports both with real LSNs, sizes and times", {
  timeout: 180_000,
}, async (t) => {
  const started = Date.now();
  const f = await mustPgbackrest(backupArgs(inv(), "full"));
  timings.fullBackup = f.ms;
  await sql(pgPort, "INSERT INTO t (v) SELECT 'row-' || g FROM generate_series(1, 5000) g");
  const d = await mustPgbackrest(backupArgs(inv(), "diff"));
  timings.diffBackup = d.ms;
  t.diagnostic(`full backup ${f.ms} ms, diff backup ${d.ms} ms`);

  const i = await info();
  assert.equal(i.status.state, "ok", inspect(i));
  assert.equal(i.backupRunning, false);
  assert.deepEqual(i.repos, [{ key: 1, code: 0, message: "ok" }]);
  const [b1, b2] = i.backups;
  assert.ok(b1 && b2 && i.backups.length === 2, inspect(i));
  full = b1.label;
  diff = b2.label;
  assert.equal(b1.type, "full");
  assert.equal(b2.type, "diff");
  assert.equal(b2.prior, b1.label);
  assert.match(b1.label, /^\d{8}-\d{6}F$/);
  assert.match(b2.label, new RegExp(`^${b1.label}_\\d{8}-\\d{6}D$`));
  for (const b of [b1, b2]) {
    assert.equal(compareLsnText(b.startLsn, b.stopLsn), -1, inspect(b));
    assert.ok(Date.parse(b.startedAt) >= Math.floor(started / 1000) * 1000, inspect(b));
    assert.ok(Date.parse(b.stoppedAt) >= Date.parse(b.startedAt), inspect(b));
    assert.ok(Date.parse(b.stoppedAt) <= Date.now(), inspect(b));
    assert.ok(b.databaseBytes > 10_000_000, inspect(b)); // an empty PostgreSQL 15 is ~22 MB
    assert.ok(b.repoBytes > 0 && b.repoBytes < b.databaseBytes, inspect(b)); // compressed
    assert.ok(b.walStart <= b.walStop, inspect(b));
    assert.equal(b.error, false);
  }
  assert.equal(b1.deltaBytes, b1.databaseBytes); // a full copies everything
  assert.ok(b2.deltaBytes < b1.deltaBytes / 2, inspect(b2)); // a diff only what changed
  assert.equal(compareLsnText(b1.stopLsn, b2.startLsn), -1);
  assert.ok(i.archive && i.archive.min <= b1.walStart && i.archive.max >= b2.walStop, inspect(i));
  // 64 bits survive the parse (JSON.parse would have rounded the last digits).
  const [ctl] = await sql<{ id: string }>(
    pgPort,
    "SELECT system_identifier::text AS id FROM pg_control_system()",
  );
  assert.equal(i.systemId, ctl?.id);
  assert.equal(i.pgVersion, "15");
});

test("a restore to a time (new data directory, --type=time) has exactly the rows committed before it", {
  timeout: 180_000,
}, async (t) => {
  // The diff's end is recorded in whole seconds: 2 s on, it is surely before the target.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await sql(pgPort, "INSERT INTO t (v) VALUES ('A')");
  const target = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await sql(pgPort, "INSERT INTO t (v) VALUES ('B')");
  const archived = await switchAndArchive();

  const i = await info();
  const goal = { time: target };
  assert.equal(
    pitrTargetProblem(i, goal, { archivedUntil: { time: archived.archivedAt } }),
    undefined,
  );
  assert.equal(chooseBackup(i, goal)?.label, diff);

  const restored = file("restored");
  const into = `${restored}.restore`;
  const argv = restoreArgs(inv(), { into, pgPath: restored, target: goal, set: diff });
  const r = await mustPgbackrest(argv);
  renameSync(into, restored);
  const auto = readFileSync(join(restored, "postgresql.auto.conf"), "utf8");
  assert.match(auto, /recovery_target_time = '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+00'/);
  assert.ok(auto.includes(`--pg1-path=${restored} `), auto); // the final PGDATA, not the .restore
  assert.ok(!auto.includes(credentials.secretAccessKey) && !auto.includes(credentials.accessKeyId));

  const port = await freePort();
  const startedAt = Date.now();
  // Not archiving: a restored cluster archives into its own stanza, never its source's.
  startServer("restored", restored, port, ["-c", "archive_mode=off"]);
  await answering("restored", port);
  await eventually(`restored promoted ${serverLog("restored")}`, async () => {
    const [row] = await sql<{ r: boolean }>(port, "SELECT pg_is_in_recovery() AS r");
    return row?.r === false ? true : undefined;
  });
  timings.restore = r.ms;
  timings.restoreRecoveryToPromoted = Date.now() - startedAt;
  t.diagnostic(
    `restore ${r.ms} ms, then start, replay and promotion ${timings.restoreRecoveryToPromoted} ms`,
  );

  const rows = await sql<{ v: string }>(port, "SELECT v FROM t WHERE v IN ('A', 'B') ORDER BY v");
  assert.deepEqual(
    rows.map((x) => x.v),
    ["A"],
  );
  const [count] = await sql<{ n: string }>(port, "SELECT count(*) AS n FROM t");
  assert.equal(count?.n, "5001");
  const [timeline] = await sql<{ tl: number }>(
    port,
    "SELECT timeline_id AS tl FROM pg_control_checkpoint()",
  );
  assert.equal(timeline?.tl, 2);
  // What the restore leaves behind after the promotion: recoveryOverrides() exists for it.
  const [left] = await sql<{ v: string }>(port, "SHOW recovery_target_time");
  assert.notEqual(left?.v, "");
  await stopServer("restored");
});

test("retention: expire with repo1-retention-full=1 removes the older full backup, its diff and their files", {
  timeout: 180_000,
}, async () => {
  const before = await keys(`${backupPrefix}${full}/`);
  // Bundled (repo1-bundle): the manifest, its copy, and the bundles of small files.
  assert.ok(
    before.some((k) => k.includes("/bundle/")),
    inspect(before),
  );
  const f = await mustPgbackrest(backupArgs(inv(), "full"));
  timings.secondFullBackup = f.ms;
  const kept = await info();
  // The configured retention (2) kept both fulls when the backup expired by itself.
  assert.deepEqual(
    kept.backups.map((b) => b.type),
    ["full", "diff", "full"],
  );
  const newest = kept.backups.at(-1);
  assert.ok(newest);

  await mustPgbackrest(expireArgs(inv(), { retentionFull: 1 }));
  const after = await info();
  assert.deepEqual(
    after.backups.map((b) => b.label),
    [newest.label],
  );
  assert.deepEqual(await keys(`${backupPrefix}${full}/`), []);
  assert.deepEqual(await keys(`${backupPrefix}${diff}/`), []);
  assert.ok((await keys(`${backupPrefix}${newest.label}/`)).length > 2);
  // The WAL only the expired backups needed is gone too.
  assert.ok(after.archive && after.archive.min <= newest.walStart, inspect(after));
  assert.ok(after.archive.min > (kept.backups[0]?.walStart ?? ""), inspect(after));
  const segments = (await keys(archivePrefix))
    .map((k) => k.split("/").at(-1)?.slice(0, 24) ?? "")
    .filter((s) => /^[0-9A-F]{24}$/.test(s));
  const min = after.archive.min;
  assert.ok(segments.length > 0 && segments.every((s) => s >= min), inspect(segments));
});

/** Every failure seen: none may show a secret. */
const failures: PgbackrestFailure[] = [];
const secrets = [credentials.secretAccessKey, wrongSecret, credentials.accessKeyId];

async function failing(argv: string[], command: string): Promise<PgbackrestFailure> {
  const done = await pgbackrest(argv);
  assert.notEqual(done.code, 0, `${argv.join(" ")} should fail: ${done.output}`);
  // pgBackRest itself redacts the key and secret in what it prints.
  for (const s of [credentials.secretAccessKey, wrongSecret])
    assert.ok(!done.output.includes(s), done.output);
  const failure = classifyPgbackrestFailure(
    { exitCode: done.code, stderr: done.stderr, stdout: done.stdout },
    { command, secrets },
  );
  failures.push(failure);
  return failure;
}

test("a wrong S3 secret is the credentials reason, from info's JSON and from a backup's exit; the secret is in no message", {
  timeout: 60_000,
}, async () => {
  const wrong = { ...inv(), includePath: file("wrong-credentials") };
  const answered = await pgbackrest(infoArgs(wrong));
  assert.equal(answered.code, 0, "info exits 0 when the repository refuses it");
  const fromInfo = infoFailure(parseInfo(answered.stdout, stanza), { secrets });
  assert.equal(fromInfo?.reason, "credentials", inspect(fromInfo));
  assert.match(fromInfo?.message ?? "", /403.*SignatureDoesNotMatch/);
  failures.push(fromInfo as PgbackrestFailure);

  const backup = await failing(backupArgs(wrong, "incr"), "backup");
  assert.equal(backup.reason, "credentials", inspect(backup));
  assert.equal(backup.errorCode, 39);
  assert.match(backup.message, /SignatureDoesNotMatch/);
  assert.match(backup.message, /credentialsSecret/);
});

test("the other failures are told apart: bucket missing, no stanza, unreachable, certificate, WAL not archived", {
  timeout: 120_000,
}, async (t) => {
  const missing = await failing(
    stanzaCreateArgs(inv(["--repo1-s3-bucket=no-such-bucket"])),
    "stanza-create",
  );
  assert.equal(missing.reason, "bucket-missing", inspect(missing));
  // A backup into that bucket reads backup.info first, and pgBackRest says only "missing".
  const noStanza = await failing(
    backupArgs(inv(["--repo1-s3-bucket=no-such-bucket"]), "full"),
    "backup",
  );
  assert.equal(noStanza.reason, "stanza-missing", inspect(noStanza));
  assert.equal(noStanza.errorCode, 55);

  const closed = await freePort();
  const unreachable = await failing(
    checkArgs(inv([`--repo1-storage-port=${closed}`, "--io-timeout=1"])),
    "check",
  );
  assert.equal(unreachable.reason, "unreachable", inspect(unreachable));
  assert.equal(unreachable.errorCode, 49);

  // The certificate names 127.0.0.1 as an IP, which pgBackRest 2.45 does not match.
  const tls = await failing(
    checkArgs(inv(["--repo1-s3-endpoint=127.0.0.1", "--io-timeout=1"])),
    "check",
  );
  assert.equal(tls.reason, "tls", inspect(tls));
  assert.equal(tls.errorCode, 95);

  // The primary archiving with the wrong secret: check waits for a WAL switch that never lands.
  await stopServer("primary");
  startServer(
    "primary",
    dataDir(),
    pgPort,
    archiving(archiveCommand({ ...inv(), includePath: file("wrong-credentials") })),
  );
  try {
    await answering("primary", pgPort);
    const archive = await failing(checkArgs(inv(["--archive-timeout=3"])), "check");
    assert.equal(archive.reason, "archive", inspect(archive));
    assert.equal(archive.errorCode, 82);
  } finally {
    await stopServer("primary");
    startServer("primary", dataDir(), pgPort, archiving());
    await answering("primary", pgPort);
  }
  await switchAndArchive();

  for (const f of failures) {
    t.diagnostic(`${f.reason}: ${f.message}`);
    const shown = `${inspect(f)} ${JSON.stringify(f)}`;
    for (const s of secrets) assert.ok(!shown.includes(s), shown);
  }
});

test("a target after the last archived WAL is refused by pitrTargetProblem; PostgreSQL would fail on it", {
  timeout: 120_000,
}, async () => {
  const { archivedAt } = await switchAndArchive();
  const i = await info();
  const newest = i.backups.at(-1);
  assert.ok(newest && i.archive);
  const late = new Date(Date.parse(archivedAt) + 3_600_000).toISOString();
  const problem = pitrTargetProblem(i, { time: late }, { archivedUntil: { time: archivedAt } });
  assert.match(
    problem ?? "",
    /^spec\.bootstrap\.recovery\.target\.time .* is after the last archived WAL/,
  );
  assert.ok(problem?.includes(i.archive.max), String(problem));
  const early = pitrTargetProblem(i, {
    time: new Date(Date.parse(newest.stoppedAt) - 3_600_000).toISOString(),
  });
  assert.match(early ?? "", /is before the end of the first backup .*earliest restorable time is/);
  const end = segmentEnd(i.archive.max) ?? 0n;
  const lsn = `${(end >> 32n).toString(16).toUpperCase()}/${((end & 0xffff_ffffn) + 0x1000n).toString(16).toUpperCase()}`;
  assert.match(
    pitrTargetProblem(i, { lsn }) ?? "",
    /target\.lsn .* is after the last archived WAL/,
  );

  // What the check saves a user from: the restore itself succeeds, then recovery dies.
  const data = file("too-late");
  await mustPgbackrest(restoreArgs(inv(), { into: data, pgPath: data, target: { time: late } }));
  const port = await freePort();
  startServer("too-late", data, port, ["-c", "archive_mode=off"]);
  const child = servers.get("too-late");
  assert.ok(child);
  const code = await new Promise((resolve) => child.once("exit", (c) => resolve(c)));
  servers.delete("too-late");
  assert.notEqual(code, 0);
  assert.match(
    readFileSync(file("too-late.log"), "utf8"),
    /FATAL: {2}recovery ended before configured recovery target was reached/,
  );
});
