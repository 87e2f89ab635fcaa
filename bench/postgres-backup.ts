/**
 * B1 — PostgreSQL base backup throughput: `pgbackrest backup --type=full`
 * to S3 (the operator's configuration, `pgbackrestConf()`, and argv,
 * `backupArgs()`) against `pg_basebackup -D <local dir>` of the same
 * server, side by side in one process, interleaved, on the same data.
 *
 * One PostgreSQL 15 server (Debian's, as the `postgres` user, small
 * settings as in the tests but fsync on), archiving WAL with the module's
 * archive_command to versitygw, a real S3 server on 127.0.0.1 over TLS
 * (`startLocalS3`, as the tests run it). `pgbench -i -s BENCH_PGBENCH_SCALE`
 * fills it (scale 10: ~160 MB), then each run times, in an order that
 * alternates from one run to the next:
 *
 * - **pgBackRest**: `pgbackrest backup --type=full` from spawn to exit: the
 *   immediate checkpoint, reading, zst compression and upload of every file,
 *   the stop, the wait for the last WAL segment to reach the bucket, and
 *   the expire that ends every backup;
 * - **pg_basebackup**: `pg_basebackup -D <dir> -X stream -c fast` to a
 *   local directory (plain format, no compression), from spawn to exit;
 *
 * and then `pgbackrest restore` of that backup into an empty directory
 * (timed, not part of the ratio). Throughput = the database's size (what
 * pgBackRest's info reports for the backup, for both: pg_basebackup's
 * directory also holds the WAL it streamed) ÷ seconds; ratio = pgBackRest ÷
 * pg_basebackup, of the medians and per run. Higher is better; the two do
 * different work (pgBackRest compresses, checksums and uploads over TLS;
 * pg_basebackup writes plain files to the same disk), so the ratio is
 * what moving backups off the machine costs, not a race between equals.
 *
 *   node bench/postgres-backup.ts   BENCH_RUNS=3 BENCH_PGBENCH_SCALE=10 BENCH_PROCESS_MAX=1
 *                                   BENCH_BUNDLE=n (pgBackRest's default: no repo1-bundle)
 *
 * Prints a table and one JSON line (stderr); writes no file.
 */
import { randomBytes } from "node:crypto";
import { chownSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, freePort } from "@ballast/dev/testkit";
import {
  asPostgres,
  mustRunAsPostgres,
  postgresIds,
  runAsPostgres,
  startLocalS3,
  stopProcess,
} from "../packages/operators/postgres/src/admin/_test-servers.ts";
import {
  archiveCommand,
  backupArgs,
  credentialsConf,
  type Invocation,
  infoArgs,
  parseInfo,
  pgbackrestConf,
  restoreArgs,
  stanzaCreateArgs,
} from "../packages/operators/postgres/src/backup/pgbackrest.ts";
import { round, spread } from "./_stats.ts";

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name}=${raw} is not an integer ≥ 1`);
  return value;
}

const runs = envNumber("BENCH_RUNS", 3);
const scale = envNumber("BENCH_PGBENCH_SCALE", 10);
const processMax = envNumber("BENCH_PROCESS_MAX", 1);
/** `BENCH_BUNDLE=n`: pgBackRest's default, one object per file. */
const bundle = process.env.BENCH_BUNDLE !== "n";
if (processMax > 2) throw new Error("BENCH_PROCESS_MAX is 1 or 2 (pgbackrestConf's range)");
const log = (msg: string) => process.stderr.write(`[B1] ${msg}\n`);

const { uid, gid } = postgresIds();
const dir = mkdtempSync(join(tmpdir(), "ballast-bench-backup-"));
chownSync(dir, uid, gid);
const file = (...parts: string[]) => join(dir, ...parts);
const stanza = "bench";
const credentials = {
  accessKeyId: `AK${randomBytes(9).toString("hex").toUpperCase()}`,
  secretAccessKey: randomBytes(24).toString("base64url"),
};
const inv: Invocation = {
  stanza,
  config: file("pgbackrest.conf"),
  includePath: file("credentials"),
  extra: ["--log-level-console=warn"],
};
const as = (program: string, args: string[]) => mustRunAsPostgres(program, args, { cwd: dir });
const pgbackrest = (argv: string[]) => as("pgbackrest", argv.slice(1));

const s3 = await startLocalS3({ dir: file("store"), bucket: "bench", credentials });
const pgPort = await freePort();
let server: ReturnType<typeof asPostgres> | undefined;
process.on("exit", () => server?.kill("SIGQUIT"));

try {
  await as("mkdir", ["-p", file("run", "pgbackrest", "log"), file("run", "pgbackrest", "lock")]);
  await as("mkdir", [file("credentials")]);
  const conf = pgbackrestConf({
    stanza,
    objectStore: {
      host: s3.host,
      port: s3.port,
      bucket: s3.bucket,
      region: s3.region,
      path: `/bench/${stanza}`,
      caFile: s3.caFile,
    },
    retention: { type: "count", full: 2 },
    pg: { path: file("data"), port: pgPort, socketPath: file("run") },
    processMax: processMax as 1 | 2,
    bundle,
    logPath: file("run", "pgbackrest", "log"),
    lockPath: file("run", "pgbackrest", "lock"),
  });
  writeFileSync(file("pgbackrest.conf"), conf);
  writeFileSync(file("credentials", "s3.conf"), credentialsConf(credentials), { mode: 0o400 });
  chownSync(file("credentials", "s3.conf"), uid, gid);

  await as("initdb", ["-D", file("data"), "-U", "postgres", "--auth=peer", "--no-locale"]);
  writeFileSync(
    file("data", "postgresql.conf"),
    [
      "",
      "listen_addresses = ''",
      `unix_socket_directories = '${file("run")}'`,
      "shared_buffers = 32MB",
      "max_wal_size = 1GB",
      "",
    ].join("\n"),
    { flag: "a" },
  );
  const serverLog = openSync(file("server.log"), "a");
  server = asPostgres(
    "postgres",
    [
      ...["-D", file("data"), "-p", String(pgPort)],
      ...["-c", "archive_mode=on", "-c", `archive_command=${archiveCommand(inv)}`],
    ],
    { cwd: dir, stdio: serverLog },
  );
  closeSync(serverLog);
  const psql = ["-h", file("run"), "-p", String(pgPort), "-U", "postgres", "-Atq"];
  await eventually("PostgreSQL answering", async () =>
    (await runAsPostgres("pg_isready", psql.slice(0, 6), { cwd: dir })).code === 0
      ? true
      : undefined,
  );
  const filled = await as("pgbench", [
    "-i",
    "-s",
    String(scale),
    "-q",
    ...psql.slice(0, 6),
    "postgres",
  ]);
  const size = Number(
    (
      await as("psql", [...psql, "-c", "SELECT sum(pg_database_size(oid)) FROM pg_database"])
    ).stdout.trim(),
  );
  log(
    `pgbench -i -s ${scale}: ${(filled.ms / 1000).toFixed(1)} s; databases ${(size / 1e6).toFixed(0)} MB`,
  );
  const created = await pgbackrest(stanzaCreateArgs(inv));
  log(`stanza-create ${created.ms} ms`);

  const samples = {
    pgbackrest: [] as number[],
    basebackup: [] as number[],
    restore: [] as number[],
  };
  const bytes = { pgbackrest: [] as number[], basebackup: [] as number[], repo: [] as number[] };
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? ["pgbackrest", "basebackup"] : ["basebackup", "pgbackrest"];
    for (const which of order) {
      if (which === "pgbackrest") {
        const done = await pgbackrest(backupArgs(inv, "full"));
        const newest = parseInfo((await pgbackrest(infoArgs(inv))).stdout, stanza).backups.at(-1);
        if (!newest) throw new Error("no backup after pgbackrest backup");
        samples.pgbackrest.push(done.ms / 1000);
        bytes.pgbackrest.push(newest.databaseBytes);
        bytes.repo.push(newest.repoBytes);
        const target = file(`restore-${run}`);
        const restored = await pgbackrest(restoreArgs(inv, { into: target, pgPath: target }));
        samples.restore.push(restored.ms / 1000);
        rmSync(target, { recursive: true, force: true });
        log(
          `run ${run + 1}: pgbackrest backup ${(done.ms / 1000).toFixed(2)} s, restore ${(restored.ms / 1000).toFixed(2)} s`,
        );
      } else {
        const target = file(`basebackup-${run}`);
        const done = await as("pg_basebackup", [
          ...psql.slice(0, 6),
          "-D",
          target,
          "-X",
          "stream",
          "-c",
          "fast",
        ]);
        const du = await as("du", ["-sb", target]);
        samples.basebackup.push(done.ms / 1000);
        bytes.basebackup.push(Number(du.stdout.split("\t")[0]));
        rmSync(target, { recursive: true, force: true });
        log(`run ${run + 1}: pg_basebackup ${(done.ms / 1000).toFixed(2)} s`);
      }
    }
  }

  // The same numerator for both: the database's files as pgBackRest counts them
  // (pg_basebackup's directory adds the WAL it streamed).
  const database = spread(bytes.pgbackrest).median;
  const mbps = (s: number[]) => s.map((sec) => database / 1e6 / sec);
  const pgbr = spread(mbps(samples.pgbackrest));
  const bb = spread(mbps(samples.basebackup));
  const paired = pgbr.runs.map((v, i) => v / (bb.runs[i] ?? Number.NaN));
  const ratio = pgbr.median / bb.median;
  const fmt = (s: ReturnType<typeof spread>, d = 2) =>
    `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`;
  console.log(
    `B1: ${runs} runs, pgbench scale ${scale}, process-max ${processMax}, bundle ${bundle ? "y" : "n"}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  console.log(
    "| Figure | pgbackrest backup --type=full (S3, zst) | pg_basebackup -D (local, plain) |",
  );
  console.log("| --- | --- | --- |");
  console.log(
    `| time (s) | ${fmt(spread(samples.pgbackrest))} | ${fmt(spread(samples.basebackup))} |`,
  );
  console.log(`| throughput (MB/s of database) | ${fmt(pgbr, 1)} | ${fmt(bb, 1)} |`);
  console.log(
    `| data (MB) | ${(spread(bytes.pgbackrest).median / 1e6).toFixed(1)} database, ${(spread(bytes.repo).median / 1e6).toFixed(1)} in the bucket | ${(spread(bytes.basebackup).median / 1e6).toFixed(1)} on disk |`,
  );
  console.log(
    `| ratio pgBackRest ÷ pg_basebackup | **${ratio.toFixed(2)}×** (paired ${paired.map((p) => p.toFixed(2)).join(", ")}) | |`,
  );
  console.log(`| pgbackrest restore of that backup (s) | ${fmt(spread(samples.restore))} | |`);
  log(
    JSON.stringify({
      B1: {
        higher_is_better: "MB/s; ratio = pgBackRest ÷ pg_basebackup",
        pgbackrest: {
          seconds: spread(samples.pgbackrest),
          mb_per_s: pgbr,
          database_bytes: bytes.pgbackrest,
          repo_bytes: bytes.repo,
        },
        pg_basebackup: {
          seconds: spread(samples.basebackup),
          mb_per_s: bb,
          bytes: bytes.basebackup,
        },
        ratio: round(ratio),
        paired_ratio: paired.map((p) => round(p)),
        restore_seconds: spread(samples.restore),
        stanza_create_ms: created.ms,
        settings: {
          runs,
          scale,
          process_max: processMax,
          bundle,
          compress: "zst",
          database_bytes: size,
        },
      },
    }),
  );
} finally {
  await stopProcess(server, "SIGINT");
  await s3.stop();
  rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
}
process.exit(0);
