import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { PostgresCluster } from "../api.ts";
import {
  archiveCommand,
  type BackupRecord,
  type BackupSpecView,
  backupArgs,
  checkArgs,
  chooseBackup,
  classifyPgbackrestFailure,
  credentialsConf,
  expireArgs,
  infoArgs,
  infoFailure,
  objectStoreOf,
  PgbackrestConfigError,
  PgbackrestInfoError,
  parseInfo,
  pgbackrestConf,
  pgbackrestPaths,
  pgbackrestTime,
  pitrTargetProblem,
  recoveryOverrides,
  redact,
  repoPathOf,
  restorableFrom,
  restoreArgs,
  restoreCommand,
  retentionOf,
  type StanzaInfo,
  segmentEnd,
  stanzaCreateArgs,
  stanzaOf,
} from "./pgbackrest.ts";

// A PostgresCluster is what objectStoreOf() and repoPathOf() read: checked at compile time.
const asView: (r: PostgresCluster) => BackupSpecView = (r) => r;
void asView;

const store = {
  host: "s3.example.com",
  port: 9000,
  bucket: "backups",
  region: "eu-west-1",
  path: "/prod/orders",
};
const pg = {
  path: "/var/lib/postgresql/data/pgdata",
  port: 5432,
  socketPath: "/run/postgres-operator",
};
const conf = (over: Partial<Parameters<typeof pgbackrestConf>[0]> = {}) =>
  pgbackrestConf({
    stanza: "orders",
    objectStore: store,
    retention: { type: "time", days: 30 },
    pg,
    ...over,
  });

/** `key=value` lines of one section of a pgbackrest.conf. */
function section(text: string, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  let current = "";
  for (const line of text.split("\n")) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) current = header[1] as string;
    else if (current === name && line.includes("=") && !line.startsWith("#")) {
      const at = line.indexOf("=");
      out[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return out;
}

test("pgbackrestConf() is the S3 repository per cluster, retention and the local server, without credentials", () => {
  const text = conf();
  const global = section(text, "global");
  assert.deepEqual(
    {
      type: global["repo1-type"],
      endpoint: global["repo1-s3-endpoint"],
      port: global["repo1-storage-port"],
      bucket: global["repo1-s3-bucket"],
      region: global["repo1-s3-region"],
      style: global["repo1-s3-uri-style"],
      path: global["repo1-path"],
      verify: global["repo1-storage-verify-tls"],
      retentionType: global["repo1-retention-full-type"],
      retention: global["repo1-retention-full"],
      bundle: global["repo1-bundle"],
      compress: global["compress-type"],
      processes: global["process-max"],
      async: global["archive-async"],
      fast: global["start-fast"],
      console: global["log-level-console"],
      file: global["log-level-file"],
      log: global["log-path"],
      lock: global["lock-path"],
    },
    {
      type: "s3",
      endpoint: "s3.example.com",
      port: "9000",
      bucket: "backups",
      region: "eu-west-1",
      style: "path",
      path: "/prod/orders",
      verify: "y",
      retentionType: "time",
      retention: "30",
      bundle: "y",
      compress: "zst",
      processes: "1",
      async: "n",
      fast: "y",
      console: "info",
      file: "off",
      log: "/run/postgres-operator/pgbackrest/log",
      lock: "/run/postgres-operator/pgbackrest/lock",
    },
  );
  assert.deepEqual(section(text, "orders"), {
    "pg1-path": pg.path,
    "pg1-port": "5432",
    "pg1-socket-path": pg.socketPath,
  });
  assert.doesNotMatch(text, /s3-key/);
  assert.equal(global["repo1-storage-ca-file"], undefined);

  const counted = section(
    conf({
      retention: { type: "count", full: 1 },
      objectStore: { ...store, caFile: "/ca.crt", verifyTls: false },
      processMax: 2,
      compressType: "lz4",
      bundle: false,
      ioTimeoutSeconds: 5,
      archiveTimeoutSeconds: 10,
    }),
    "global",
  );
  assert.equal(counted["repo1-retention-full-type"], "count");
  assert.equal(counted["repo1-retention-full"], "1");
  assert.equal(counted["repo1-storage-ca-file"], "/ca.crt");
  assert.equal(counted["repo1-storage-verify-tls"], "n");
  assert.equal(counted["process-max"], "2");
  assert.equal(counted["compress-type"], "lz4");
  assert.equal(counted["repo1-bundle"], "n");
  assert.equal(counted["io-timeout"], "5");
  assert.equal(counted["archive-timeout"], "10");
});

test("pgbackrestConf() refuses values that would break the file, and bad stanzas, ports and retention", () => {
  assert.throws(
    () => conf({ objectStore: { ...store, bucket: "a\nrepo1-path=/x" } }),
    PgbackrestConfigError,
  );
  assert.throws(() => conf({ objectStore: { ...store, host: " s3" } }), PgbackrestConfigError);
  assert.throws(() => conf({ objectStore: { ...store, port: 0 } }), /not a TCP port/);
  assert.throws(() => conf({ objectStore: { ...store, path: "prod" } }), /must start with \//);
  assert.throws(() => conf({ stanza: "a]b" }), /stanza "a]b"/);
  assert.throws(() => conf({ stanza: "" }), PgbackrestConfigError);
  assert.throws(() => conf({ retention: { type: "count", full: 0 } }), /retention 0/);
});

test("credentialsConf() is the key and secret alone; a bad value is refused without being shown", () => {
  assert.equal(
    credentialsConf({ accessKeyId: "AKIA1", secretAccessKey: "s/e+c=r" }),
    "[global]\nrepo1-s3-key=AKIA1\nrepo1-s3-key-secret=s/e+c=r\n",
  );
  assert.throws(
    () => credentialsConf({ accessKeyId: "AKIA1", secretAccessKey: "top-secret\n" }),
    (err: Error) => {
      assert.ok(err instanceof PgbackrestConfigError);
      assert.match(err.message, /SECRET_ACCESS_KEY/);
      assert.ok(!err.message.includes("top-secret"));
      return true;
    },
  );
});

test("retentionOf() reads spec.backup.retention as days or as a count of full backups", () => {
  assert.deepEqual(retentionOf("30d"), { type: "time", days: 30 });
  assert.deepEqual(retentionOf("4w"), { type: "time", days: 28 });
  assert.deepEqual(retentionOf("3 full"), { type: "count", full: 3 });
  for (const bad of [
    "0d",
    "30",
    "1m",
    "d",
    "10000d",
    " 3d",
    "0 full",
    "3full",
    "3 fulls",
    "full",
  ]) {
    assert.throws(() => retentionOf(bad), /spec\.backup\.retention/, bad);
  }
});

const cluster = (objectStore: Record<string, string>): BackupSpecView => ({
  metadata: { name: "orders", namespace: "shop" },
  spec: {
    backup: {
      objectStore: objectStore as { endpoint: string; bucket: string },
    },
  },
});

test("objectStoreOf() reads spec.backup.objectStore; the path defaults to /<namespace>/<name>", () => {
  const r = cluster({
    endpoint: "https://s3.example.com:9000",
    bucket: "b1",
    credentialsSecret: "c",
  });
  assert.equal(stanzaOf(r), "orders");
  assert.equal(repoPathOf(r), "/shop/orders");
  assert.deepEqual(objectStoreOf(r), {
    host: "s3.example.com",
    port: 9000,
    bucket: "b1",
    region: "us-east-1",
    path: "/shop/orders",
    verifyTls: true,
  });
  const r2 = cluster({
    endpoint: "https://s3.example.com/",
    bucket: "b1",
    path: "/custom",
    caSecret: "ca",
  });
  assert.deepEqual(objectStoreOf(r2, { region: "eu-west-1" }), {
    host: "s3.example.com",
    port: 443,
    bucket: "b1",
    region: "eu-west-1",
    path: "/custom",
    verifyTls: true,
    caFile: pgbackrestPaths.ca,
  });
});

test("objectStoreOf() refuses endpoints pgBackRest cannot use, naming the field", () => {
  for (const endpoint of [
    "http://s3.example.com",
    "https://10.0.0.1:9000",
    "https://s3.example.com/prefix",
    "not a url",
  ]) {
    assert.throws(
      () => objectStoreOf(cluster({ endpoint, bucket: "b" })),
      /spec\.backup\.objectStore\.endpoint/,
      endpoint,
    );
  }
  assert.throws(() => objectStoreOf({ metadata: { name: "x" }, spec: {} }), /no spec\.backup/);
});

const inv = { stanza: "orders" };
const prefix = [
  "pgbackrest",
  "--config=/etc/postgres-operator/config/pgbackrest.conf",
  "--config-include-path=/etc/postgres-operator/pgbackrest",
  "--stanza=orders",
];

test("the argv builders name the pod's files, the stanza, the command; never a credential", () => {
  assert.deepEqual(stanzaCreateArgs(inv), [...prefix, "stanza-create"]);
  assert.deepEqual(checkArgs(inv), [...prefix, "check"]);
  assert.deepEqual(backupArgs(inv, "full"), [...prefix, "--type=full", "backup"]);
  assert.deepEqual(backupArgs(inv, "incr"), [...prefix, "--type=incr", "backup"]);
  assert.deepEqual(infoArgs(inv), [...prefix, "--log-level-console=off", "--output=json", "info"]);
  assert.deepEqual(expireArgs(inv), [...prefix, "expire"]);
  assert.deepEqual(expireArgs(inv, { retentionFull: 1 }), [
    ...prefix,
    "--repo1-retention-full=1",
    "expire",
  ]);
  // A command's own option replaces the caller's: pgBackRest refuses one twice.
  assert.deepEqual(infoArgs({ ...inv, extra: ["--log-level-console=warn", "--io-timeout=5"] }), [
    ...prefix,
    "--io-timeout=5",
    "--log-level-console=off",
    "--output=json",
    "info",
  ]);
  assert.throws(
    () => checkArgs({ ...inv, extra: ["--repo1-s3-key-secret=x"] }),
    /must not be on a command line/,
  );
  assert.throws(() => checkArgs({ ...inv, extra: ["--repo1-s3-key=x"] }), PgbackrestConfigError);
  assert.throws(() => checkArgs({ stanza: "a b" }), PgbackrestConfigError);
});

test("archiveCommand() and restoreCommand() are shell command lines, %p and %f left for PostgreSQL", () => {
  assert.equal(
    archiveCommand(inv),
    "pgbackrest --config=/etc/postgres-operator/config/pgbackrest.conf --config-include-path=/etc/postgres-operator/pgbackrest --stanza=orders archive-push %p",
  );
  assert.equal(
    restoreCommand(inv, {
      pgPath: "/data/pgdata",
      source: { stanza: "old", repoPath: "/shop/old" },
    }),
    'pgbackrest --config=/etc/postgres-operator/config/pgbackrest.conf --config-include-path=/etc/postgres-operator/pgbackrest --stanza=old --pg1-path=/data/pgdata --repo1-path=/shop/old archive-get %f "%p"',
  );
  assert.equal(
    archiveCommand({ stanza: "orders", config: "/dir with space/p.conf" }).split(" ")[1],
    "'--config=/dir",
  );
});

test("restoreArgs() writes beside PGDATA, names our restore_command, and sets the target", () => {
  const base = { into: "/data/pgdata.restore", pgPath: "/data/pgdata" };
  const own = restoreCommand(inv, { pgPath: "/data/pgdata" });
  assert.deepEqual(restoreArgs(inv, base), [
    ...prefix,
    "--pg1-path=/data/pgdata.restore",
    "--type=default",
    `--recovery-option=restore_command=${own}`,
    "restore",
  ]);
  assert.deepEqual(
    restoreArgs(inv, { ...base, target: { time: "2026-12-02T14:00:00.25Z" }, set: "L" }),
    [
      ...prefix,
      "--pg1-path=/data/pgdata.restore",
      "--set=L",
      "--type=time",
      "--target=2026-12-02 14:00:00.25+00",
      "--target-action=promote",
      `--recovery-option=restore_command=${own}`,
      "restore",
    ],
  );
  assert.deepEqual(restoreArgs(inv, { ...base, target: { lsn: "0/3000060" } }).slice(5, 8), [
    "--type=lsn",
    "--target=0/3000060",
    "--target-action=promote",
  ]);
  assert.deepEqual(restoreArgs(inv, { ...base, target: { xid: 742 } }).slice(5, 8), [
    "--type=xid",
    "--target=742",
    "--target-action=promote",
  ]);
  const from = restoreArgs(inv, { ...base, source: { stanza: "old", repoPath: "/shop/old" } });
  assert.equal(from[3], "--stanza=old");
  assert.ok(from.includes("--repo1-path=/shop/old"));
  assert.ok(from.some((a) => a.includes("archive-get") && a.includes("--repo1-path=/shop/old")));
});

test("pgbackrestTime() keeps every digit of an RFC 3339 time and means the same instant", () => {
  assert.equal(pgbackrestTime("2026-12-02T14:00:00Z"), "2026-12-02 14:00:00+00");
  assert.equal(pgbackrestTime("2026-12-02t14:00:00.123456z"), "2026-12-02 14:00:00.123456+00");
  assert.equal(pgbackrestTime("2026-12-02T14:00:00+05:30"), "2026-12-02 14:00:00+05:30");
  for (const bad of ["2026-12-02", "2026-12-02T14:00:00", "yesterday", "2026-13-02T14:00:00Z"]) {
    assert.throws(() => pgbackrestTime(bad), /not an RFC 3339 time/, bad);
  }
  fc.assert(
    fc.property(
      fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }),
      fc.integer({ min: -14 * 60, max: 14 * 60 }),
      (d, offsetMinutes) => {
        const sign = offsetMinutes < 0 ? "-" : "+";
        const abs = Math.abs(offsetMinutes);
        const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
        const local = new Date(d.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23);
        const text = `${local}${zone}`;
        const out = pgbackrestTime(text);
        assert.equal(Date.parse(out.replace(" ", "T")), d.getTime());
      },
    ),
  );
});

test("recoveryOverrides() empties every recovery target and the restore_command on the command line", () => {
  const args = recoveryOverrides();
  assert.equal(args.length, 12);
  for (let i = 0; i < args.length; i += 2) assert.equal(args[i], "-c");
  assert.ok(args.includes("recovery_target_time="));
  assert.ok(args.includes("restore_command="));
  assert.ok(
    recoveryOverrides('pgbackrest x archive-get %f "%p"').includes(
      'restore_command=pgbackrest x archive-get %f "%p"',
    ),
  );
});

/** `pgbackrest info --output=json` from pgBackRest 2.45 (the real test's run, one full backup). */
const infoJson = `[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000005","min":"000000010000000000000002"}],"backup":[{"archive":{"start":"000000010000000000000002","stop":"000000010000000000000003"},"backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":22992646,"repository":{"delta":2823187,"size":2823187},"size":22992646},"label":"20261202-210911F","lsn":{"start":"0/2000028","stop":"0/3000050"},"prior":null,"reference":null,"timestamp":{"start":1796245751,"stop":1796245756},"type":"full"},{"archive":{"start":"000000010000000000000005","stop":"000000010000000000000005"},"backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":8192,"repository":{"delta":1024,"size":2824211},"size":22992646},"label":"20261202-210911F_20261202-211500D","lsn":{"start":"0/5000028","stop":"0/5000138"},"prior":"20261202-210911F","reference":["20261202-210911F"],"timestamp":{"start":1796246100,"stop":1796246102},"type":"diff"}],"cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7714815174080182298,"version":"15"}],"name":"c1","repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]`;

test("parseInfo() reads each backup's label, type, LSNs, times, sizes and WAL, and the archive", () => {
  const info = parseInfo(infoJson);
  assert.equal(info.stanza, "c1");
  assert.deepEqual(info.status, { code: 0, state: "ok", message: "ok" });
  assert.equal(info.backupRunning, false);
  assert.equal(info.systemId, "7714815174080182298"); // not 7714815174080182000
  assert.equal(info.pgVersion, "15");
  assert.deepEqual(info.archive, {
    min: "000000010000000000000002",
    max: "000000010000000000000005",
  });
  assert.deepEqual(info.backups[0], {
    label: "20261202-210911F",
    type: "full",
    startLsn: "0/2000028",
    stopLsn: "0/3000050",
    startedAt: "2026-12-02T21:09:11Z",
    stoppedAt: "2026-12-02T21:09:16Z",
    databaseBytes: 22992646,
    deltaBytes: 22992646,
    repoBytes: 2823187,
    repoDeltaBytes: 2823187,
    walStart: "000000010000000000000002",
    walStop: "000000010000000000000003",
    error: false,
  });
  assert.equal(info.backups[1]?.type, "diff");
  assert.equal(info.backups[1]?.prior, "20261202-210911F");
  assert.deepEqual(parseInfo(infoJson, "c1"), info);
});

test("parseInfo() keeps an unreadable repository in the status (info exits 0), and refuses what is not its JSON", () => {
  const refused = `[{"archive":[],"backup":[],"cipher":"none","db":[],"name":"c1","repo":[{"cipher":"none","key":1,"status":{"code":99,"message":"[ProtocolError] HTTP request failed with 403 (Forbidden):\\n*** Response Content ***:\\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><AWSAccessKeyId>AKIAXYZ</AWSAccessKeyId></Error>"}}],"status":{"code":99,"lock":{"backup":{"held":true}},"message":"other"}}]`;
  const info = parseInfo(refused);
  assert.equal(info.status.state, "error");
  assert.equal(info.backupRunning, true);
  assert.equal(info.backups.length, 0);
  assert.equal(info.archive, undefined);
  const failure = infoFailure(info, { secrets: ["AKIAXYZ"] });
  assert.equal(failure?.reason, "credentials");
  assert.equal(failure?.errorCode, 39);
  assert.ok(!failure?.message.includes("AKIAXYZ"), failure?.message);
  assert.equal(infoFailure(parseInfo(infoJson)), undefined);

  assert.throws(() => parseInfo("ERROR: [031]: option"), PgbackrestInfoError);
  assert.throws(() => parseInfo("{}"), /not an array/);
  assert.throws(() => parseInfo(infoJson, "other"), /no stanza "other" \(it has c1\)/);
  assert.throws(
    () => parseInfo(infoJson.replace('"type":"full"', '"type":"snapshot"')),
    /snapshot/,
  );
  assert.throws(() => parseInfo(infoJson.replace('"stop":"0/3000050"', '"stop":3')), /lsn\.stop/);
});

test("segmentEnd() is the first position after a WAL segment", () => {
  assert.equal(segmentEnd("000000010000000000000003"), 0x4000000n);
  assert.equal(segmentEnd("0000000200000001000000FF"), 0x2_0000_0000n);
  assert.equal(segmentEnd("000000010000000000000003", 64 * 1024 * 1024), 0x10000000n);
  assert.equal(segmentEnd("00000001.history"), undefined);
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 0xffff_ffff_feff_ffffn }),
      fc.integer({ min: 1, max: 9 }),
      (lsn, tl) => {
        const seg = 16n * 1024n * 1024n;
        const name =
          `${tl.toString(16).padStart(8, "0")}${(lsn >> 32n).toString(16).padStart(8, "0")}${((lsn & 0xffff_ffffn) / seg).toString(16).padStart(8, "0")}`.toUpperCase();
        const end = segmentEnd(name);
        assert.ok(end !== undefined && end > lsn && end - seg <= lsn);
      },
    ),
  );
});

const lsnText = (n: bigint) =>
  `${(n >> 32n).toString(16).toUpperCase()}/${(n & 0xffff_ffffn).toString(16).toUpperCase()}`;
const segName = (n: bigint) =>
  `00000001${(n >> 32n).toString(16).padStart(8, "0")}${((n & 0xffff_ffffn) >> 24n).toString(16).padStart(8, "0")}`.toUpperCase();

/** A repository: backups one after another (times in whole seconds, LSNs growing), and archived WAL from the first. */
const repository = fc
  .array(
    fc.tuple(
      fc.integer({ min: 1, max: 7200 }),
      fc.integer({ min: 0, max: 600 }),
      fc.bigInt({ min: 1n, max: 1n << 30n }),
      fc.bigInt({ min: 1n, max: 1n << 28n }),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((steps) => {
    let t = 1_800_000_000;
    let lsn = 0x2000000n;
    const backups: BackupRecord[] = steps.map(([gap, duration, lsnGap, lsnLength], i) => {
      t += gap;
      lsn += lsnGap;
      const start = lsn;
      lsn += lsnLength;
      const startedAt = new Date(t * 1000).toISOString().replace(".000Z", "Z");
      t += duration;
      return {
        label: `b${i}`,
        type: i === 0 ? "full" : "diff",
        startLsn: lsnText(start),
        stopLsn: lsnText(lsn),
        startedAt,
        stoppedAt: new Date(t * 1000).toISOString().replace(".000Z", "Z"),
        databaseBytes: 1,
        deltaBytes: 1,
        repoBytes: 1,
        repoDeltaBytes: 1,
        walStart: segName(start),
        walStop: segName(lsn),
        error: false,
      };
    });
    const first = backups[0] as BackupRecord;
    const info: StanzaInfo = {
      stanza: "s",
      status: { code: 0, state: "ok", message: "ok" },
      backupRunning: false,
      repos: [{ key: 1, code: 0, message: "ok" }],
      backups,
      archive: { min: first.walStart, max: segName(lsn + 0x100000n) },
    };
    return { info, lastTime: t, lastLsn: lsn };
  });

test("pitrTargetProblem() accepts a time exactly inside [first backup's end + 1 s, last archived], and names the field otherwise", () => {
  fc.assert(
    fc.property(
      repository,
      fc.integer({ min: -7200, max: 20000 }),
      fc.integer({ min: 0, max: 3600 }),
      ({ info, lastTime }, offset, archivedFor) => {
        const first = info.backups[0] as BackupRecord;
        const until = new Date((lastTime + archivedFor) * 1000);
        const t = new Date(Date.parse(first.stoppedAt) + offset * 1000 + 500);
        const problem = pitrTargetProblem(
          info,
          { time: t.toISOString() },
          { archivedUntil: { time: until.toISOString() } },
        );
        const inside = t >= restorableFrom(first) && t <= until;
        assert.equal(problem === undefined, inside, `${t.toISOString()}: ${problem}`);
        if (problem) {
          assert.match(problem, /^spec\.bootstrap\.recovery\.target\.time /);
          assert.match(
            problem,
            t < restorableFrom(first)
              ? /before the end of the first backup .* earliest restorable time is/
              : /after the last archived WAL .* latest restorable time is/,
          );
        } else {
          // A backup exists that a restore to t can start from, and it ended before t.
          const chosen = chooseBackup(info, { time: t.toISOString() });
          assert.ok(chosen && restorableFrom(chosen) <= t);
          const later = info.backups[info.backups.indexOf(chosen) + 1];
          assert.ok(!later || restorableFrom(later) > t, "the newest such backup");
        }
      },
    ),
  );
});

test("pitrTargetProblem() accepts an LSN exactly inside [first backup's stop, end of the last archived segment]", () => {
  fc.assert(
    fc.property(
      repository,
      fc.bigInt({ min: -(1n << 26n), max: 1n << 34n }),
      ({ info }, offset) => {
        const first = info.backups[0] as BackupRecord;
        const from =
          BigInt(`0x${first.stopLsn.split("/")[0]}`) * 2n ** 32n +
          BigInt(`0x${first.stopLsn.split("/")[1]}`);
        const t = from + offset;
        if (t < 0n) return;
        const end = segmentEnd(info.archive?.max ?? "") ?? 0n;
        const problem = pitrTargetProblem(info, { lsn: lsnText(t) });
        assert.equal(problem === undefined, t >= from && t <= end, `${lsnText(t)}: ${problem}`);
        if (problem)
          assert.match(
            problem,
            /^spec\.bootstrap\.recovery\.target\.lsn .* (earliest|latest) restorable LSN is/,
          );
        else assert.ok(chooseBackup(info, { lsn: lsnText(t) }));
      },
    ),
  );
});

test("pitrTargetProblem() with a named backup: it must exist, keep its WAL and end before the target", () => {
  const info = parseInfo(infoJson);
  const [full, diff] = info.backups as [BackupRecord, BackupRecord];
  const now = new Date("2026-12-03T00:00:00Z");
  const between = "2026-12-02T21:12:00Z"; // after the full, before the diff
  assert.equal(
    pitrTargetProblem(info, { time: between }, { backupLabel: full.label, now }),
    undefined,
  );
  assert.match(
    pitrTargetProblem(info, { time: between }, { backupLabel: diff.label, now }) ?? "",
    /target\.time 2026-12-02T21:12:00Z is before the end of backup 20261202-210911F_20261202-211500D, 2026-12-02T21:15:02Z; the earliest restorable time is 2026-12-02T21:15:03.000Z: set a later time or name an earlier backup/,
  );
  assert.match(
    pitrTargetProblem(info, { time: between }, { backupLabel: "nope", now }) ?? "",
    /spec\.bootstrap\.recovery\.backup names backup nope, which stanza c1 does not hold \(it holds 20261202-210911F, /,
  );
  // Without an archive time, "now" bounds it: a target in the future is refused.
  assert.match(
    pitrTargetProblem(info, { time: "2027-01-01T00:00:00Z" }, { now }) ?? "",
    /is after now \(2026-12-03T00:00:00.000Z\), so after the last archived WAL \(000000010000000000000005\)/,
  );
  assert.match(pitrTargetProblem(info, { time: "tomorrow" }) ?? "", /not an RFC 3339 time/);
  assert.match(pitrTargetProblem(info, { lsn: "5" }) ?? "", /target\.lsn "5" is not an LSN/);
  // An xid is not in info: only the backups are checked.
  assert.equal(pitrTargetProblem(info, { xid: 1000 }), undefined);
  assert.equal(chooseBackup(info, { xid: 1000 }), undefined);
  const empty: StanzaInfo = { ...info, backups: [] };
  assert.match(pitrTargetProblem(empty, { xid: 1000 }) ?? "", /holds no backup to restore/);
  // WAL the oldest backup needed is gone (expired): the next one is the first usable.
  const trimmed: StanzaInfo = {
    ...info,
    archive: { min: "000000010000000000000004", max: "000000010000000000000005" },
  };
  assert.match(
    pitrTargetProblem(trimmed, { time: between }, { now }) ?? "",
    /before the end of the first backup \(20261202-210911F_20261202-211500D\)/,
  );
  assert.match(
    pitrTargetProblem(
      trimmed,
      { time: "2026-12-02T21:20:00Z" },
      { backupLabel: full.label, now },
    ) ?? "",
    /needs WAL from 000000010000000000000002, which the archive no longer holds/,
  );
});

/** stderr of pgBackRest 2.45's failures, as the real test saw them (the dumps shortened). */
const stderr = {
  signature: `ERROR: [039]: unable to load info file '/ns/c1/backup/c1/backup.info' or '/ns/c1/backup/c1/backup.info.copy':
       ProtocolError: HTTP request failed with 403 (Forbidden):
       *** Path/Query ***:
       GET /bucket1/ns/c1/backup/c1/backup.info
       *** Request Headers ***:
       authorization: <redacted>
       *** Response Content ***:
       <?xml version="1.0" encoding="UTF-8"?>
       <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message><AWSAccessKeyId>AKIATEST0000</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256&#xA;20261202T210922Z</StringToSign></Error>
       HINT: backup.info cannot be opened and is required to perform a backup.
       HINT: has a stanza-create been performed?`,
  accessKey: `ERROR: [039]: HTTP request failed with 403 (Forbidden):
       <Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`,
  connect: `ERROR: [049]: unable to load info file '/ns/c1/backup/c1/backup.info' or '/ns/c1/backup/c1/backup.info.copy':
       HostConnectError: unable to connect to 'localhost:19444': [111] Connection refused
       HostConnectError: unable to connect to 'localhost:19444': [111] Connection refused
       HINT: backup.info cannot be opened and is required to perform a backup.
       HINT: has a stanza-create been performed?`,
  dns: "ERROR: [049]: unable to get address for 's3.nowhere.invalid': [-2] Name or service not known",
  noBucket: `ERROR: [039]: HTTP request failed with 404 (Not Found):
       *** Path/Query ***:
       GET /nobucket/?delimiter=%2F&list-type=2&prefix=ns%2Fc1%2Farchive%2Fc1%2F
       *** Response Content ***:
       <?xml version="1.0" encoding="UTF-8"?>
       <Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist.</Message><BucketName>nobucket</BucketName></Error>`,
  noStanza: `ERROR: [055]: unable to load info file '/ns/c1/backup/c1/backup.info' or '/ns/c1/backup/c1/backup.info.copy':
       FileMissingError: unable to open missing file '/ns/c1/backup/c1/backup.info' for read
       FileMissingError: unable to open missing file '/ns/c1/backup/c1/backup.info.copy' for read
       HINT: backup.info cannot be opened and is required to perform a backup.
       HINT: has a stanza-create been performed?`,
  tls: "ERROR: [095]: unable to find hostname '127.0.0.1' in certificate common name or subject alternative names",
  archive: `ERROR: [082]: WAL segment 000000010000000000000004 was not archived before the 3000ms timeout
       HINT: check the archive_command to ensure that all options are correct (especially --stanza).
       HINT: check the PostgreSQL server log for errors.`,
  lock: "ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/c1-backup.lock': Resource temporarily unavailable\n       HINT: is another pgBackRest process running?",
  server: "ERROR: [101]: HTTP request failed with 503 (Service Unavailable)",
  other:
    "ERROR: [058]: database version = 15, system-id 7714815174080182298 does not match backup version = 15, system-id 7714815174080182299",
};

test("classifyPgbackrestFailure() gives each failure its reason, code and a short message with the fix", () => {
  const expect: Record<keyof typeof stderr, [string, number]> = {
    signature: ["credentials", 39],
    accessKey: ["credentials", 39],
    connect: ["unreachable", 49],
    dns: ["unreachable", 49],
    noBucket: ["bucket-missing", 39],
    noStanza: ["stanza-missing", 55],
    tls: ["tls", 95],
    archive: ["archive", 82],
    lock: ["busy", 50],
    server: ["unreachable", 101],
    other: ["other", 58],
  };
  for (const [name, text] of Object.entries(stderr) as [keyof typeof stderr, string][]) {
    const [reason, code] = expect[name];
    const f = classifyPgbackrestFailure({ exitCode: code, stderr: text }, { command: "backup" });
    assert.equal(f.reason, reason, `${name}: ${f.message}`);
    assert.equal(f.errorCode, code, name);
    assert.equal(f.exitCode, code);
    assert.ok(
      f.message.startsWith(
        `pgbackrest backup failed (exit ${code}) [${String(code).padStart(3, "0")} `,
      ),
      f.message,
    );
    assert.match(f.message, /Fix: /);
    assert.ok(f.message.length < 1000, f.message);
    assert.doesNotMatch(f.message, /StringToSign|authorization/);
  }
  const sig = classifyPgbackrestFailure({ exitCode: 39, stderr: stderr.signature });
  assert.match(
    sig.message,
    /HTTP 403 \(Forbidden\), S3 SignatureDoesNotMatch: The request signature/,
  );
  assert.match(sig.message, /credentialsSecret/);
  assert.equal(sig.errorName, "ProtocolError");
  // A failure without pgBackRest's ERROR line: the exit code still names it.
  assert.equal(classifyPgbackrestFailure({ exitCode: 82, stderr: "" }).reason, "archive");
  assert.equal(classifyPgbackrestFailure({ exitCode: null, stderr: "killed" }).reason, "other");
});

test("classifyPgbackrestFailure() shows no secret, wherever pgBackRest or a server put it", () => {
  const secretArb = fc.string({
    minLength: 8,
    maxLength: 40,
    unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_"),
  });
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.values(stderr)),
      secretArb,
      fc.nat(),
      (text, secret, at) => {
        const i = at % (text.length + 1);
        const leaked = `${text.slice(0, i)}${secret}${text.slice(i)}\nrepo1-s3-key-secret=${secret}`;
        const f = classifyPgbackrestFailure(
          { exitCode: 39, stderr: leaked, stdout: secret },
          { secrets: [secret] },
        );
        assert.ok(!JSON.stringify(f).includes(secret), f.message);
      },
    ),
  );
  assert.equal(
    redact("repo1-s3-key=AKIA1 and repo1-s3-key-secret = abc"),
    "repo1-s3-key=<redacted> and repo1-s3-key-secret = <redacted>",
  );
});
