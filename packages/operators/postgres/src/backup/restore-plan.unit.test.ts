import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type BackupRecord, restorableFrom, type StanzaInfo } from "./pgbackrest.ts";
import {
  type BackupView,
  planRestore,
  type RestoreRequest,
  restoreShellCommand,
  restoreTargetProblem,
} from "./restore-plan.ts";

const endpoint = "https://s3.example.com:9000";
const request = (over: Partial<RestoreRequest> = {}): RestoreRequest => ({
  namespace: "ns",
  recovery: { backup: { name: "first" }, target: { time: "2026-12-03T10:00:00Z" } },
  objectStore: { endpoint, bucket: "backups" },
  own: { stanza: "db-restored", repoPath: "/ns/db-restored" },
  ...over,
});
const completed: BackupView = {
  status: {
    phase: "Completed",
    label: "20261203-090000F",
    repository: { endpoint, bucket: "backups", path: "/ns/db", stanza: "db" },
  },
};

test("planRestore() restores a Completed Backup from the source's path and stanza, with its label and the target", () => {
  assert.deepEqual(planRestore(request(), completed), {
    kind: "restore",
    source: { stanza: "db", repoPath: "/ns/db" },
    label: "20261203-090000F",
    target: { time: "2026-12-03T10:00:00Z" },
  });
  const all = planRestore(request({ recovery: { backup: { name: "first" } } }), completed);
  assert.ok(all.kind === "restore" && all.target === undefined, "no target: all the WAL");
  const lsn = planRestore(
    request({ recovery: { backup: { name: "first" }, target: { lsn: "0/3000060" } } }),
    completed,
  );
  assert.ok(lsn.kind === "restore" && lsn.target && "lsn" in lsn.target);
});

test("planRestore() waits for a Backup that is missing or not Completed, saying which", () => {
  const missing = planRestore(request(), undefined);
  assert.equal(missing.kind, "wait");
  assert.match(
    "message" in missing ? missing.message : "",
    /^spec\.bootstrap\.recovery\.backup\.name: Backup ns\/first not found; waiting/,
  );
  for (const phase of [undefined, "Pending", "Running"] as const) {
    const p = planRestore(request(), { status: phase ? { phase } : {} });
    assert.equal(p.kind, "wait", String(phase));
    assert.equal("reason" in p && p.reason, "RestoreBackupNotCompleted");
    assert.match("message" in p ? p.message : "", /waiting for it to complete/);
  }
});

test("planRestore() refuses what the user must fix, naming the field", () => {
  const cases: [string, RestoreRequest, BackupView | undefined, string, RegExp][] = [
    [
      "no spec.backup",
      request({ objectStore: undefined }),
      completed,
      "RestoreNeedsBackupSpec",
      /^spec\.backup: /,
    ],
    [
      "a Failed Backup",
      request(),
      { status: { phase: "Failed", message: "boom" } },
      "RestoreBackupFailed",
      /Failed \(boom\).*naming a Completed Backup/,
    ],
    [
      "an Expired Backup",
      request(),
      { status: { ...completed.status, phase: "Expired", message: "retention removed it" } },
      "RestoreBackupExpired",
      /Expired \(retention removed it\).*no longer in the repository.*naming a Completed Backup/,
    ],
    [
      "no repository recorded",
      request(),
      { status: { phase: "Completed", label: "20261203-090000F" } },
      "RestoreBackupUnrecorded",
      /records no repository \(status\.repository\)/,
    ],
    [
      "another bucket",
      request({ objectStore: { endpoint, bucket: "other" } }),
      completed,
      "RestoreRepositoryElsewhere",
      /^spec\.backup\.objectStore: .*bucket backups.*names bucket other/,
    ],
    [
      "another endpoint",
      request({ objectStore: { endpoint: "https://elsewhere:9000", bucket: "backups" } }),
      completed,
      "RestoreRepositoryElsewhere",
      /set spec\.backup\.objectStore\.endpoint and bucket to the Backup's/,
    ],
    [
      "the source's own repository",
      request({ own: { stanza: "db", repoPath: "/ns/db" } }),
      completed,
      "RestoreIntoSourceRepository",
      /^spec\.backup\.objectStore\.path: \/ns\/db is the repository/,
    ],
  ];
  for (const [what, req, backup, reason, message] of cases) {
    const p = planRestore(req, backup);
    assert.equal(p.kind, "refuse", what);
    assert.equal("reason" in p && p.reason, reason, what);
    assert.match("message" in p ? p.message : "", message, what);
  }
});

test("planRestore() takes the same endpoint written differently (default port, case) as the same", () => {
  const p = planRestore(
    request({ objectStore: { endpoint: "https://S3.example.com", bucket: "backups" } }),
    {
      status: {
        ...completed.status,
        repository: {
          endpoint: "https://s3.example.com:443",
          bucket: "backups",
          path: "/ns/db",
          stanza: "db",
        },
      },
    },
  );
  assert.equal(p.kind, "restore");
});

const record = (label: string, stoppedAt: string): BackupRecord => ({
  label,
  type: "full",
  startLsn: "0/2000028",
  stopLsn: "0/3000050",
  startedAt: stoppedAt,
  stoppedAt,
  databaseBytes: 1,
  deltaBytes: 1,
  repoBytes: 1,
  repoDeltaBytes: 1,
  walStart: "000000010000000000000002",
  walStop: "000000010000000000000003",
  error: false,
});

const infoOf = (backups: BackupRecord[]): StanzaInfo => ({
  stanza: "db",
  status: { code: 0, state: "ok", message: "ok" },
  backupRunning: false,
  repos: [{ key: 1, code: 0, message: "ok" }],
  backups,
  archive: { min: "000000010000000000000001", max: "000000010000000000000009" },
});

test("restoreTargetProblem() accepts a time exactly inside [the Backup's restorable start, now], and says spec.bootstrap cannot change otherwise", () => {
  const stop = Date.parse("2026-12-03T09:00:05Z");
  const now = new Date(stop + 3600_000);
  const info = infoOf([
    record("20261203-080000F", "2026-12-03T08:00:05Z"),
    record("20261203-090000F", "2026-12-03T09:00:05Z"),
  ]);
  const earliest = restorableFrom(info.backups[1] as BackupRecord).getTime();
  fc.assert(
    fc.property(fc.integer({ min: -7200_000, max: 7200_000 }), (offset) => {
      const t = stop + offset;
      const plan = {
        kind: "restore" as const,
        source: { stanza: "db", repoPath: "/ns/db" },
        label: "20261203-090000F",
        target: { time: new Date(t).toISOString() },
      };
      const problem = restoreTargetProblem(info, plan, now);
      const inside = t >= earliest && t <= now.getTime();
      assert.equal(problem === undefined, inside, `${plan.target.time}: ${problem}`);
      if (problem) {
        assert.match(problem, /^spec\.bootstrap\.recovery\.target\.time /);
        assert.match(problem, /spec\.bootstrap cannot change: delete this PostgresCluster/);
      }
    }),
  );
});

test("restoreTargetProblem() without a target only needs the Backup's set in the repository", () => {
  const info = infoOf([record("20261203-090000F", "2026-12-03T09:00:05Z")]);
  const plan = {
    kind: "restore" as const,
    source: { stanza: "db", repoPath: "/ns/db" },
    label: "20261203-090000F",
  };
  assert.equal(restoreTargetProblem(info, plan, new Date()), undefined);
  const gone = restoreTargetProblem(info, { ...plan, label: "20261201-000000F" }, new Date());
  assert.match(gone ?? "", /^spec\.bootstrap\.recovery\.backup names backup 20261201-000000F/);
});

test("restoreShellCommand() restores the source's set into PGDATA.restore, its restore_command naming PGDATA and the source", () => {
  const line = restoreShellCommand(
    "db-restored",
    {
      kind: "restore",
      source: { stanza: "db", repoPath: "/ns/db" },
      label: "20261203-090000F",
      target: { time: "2026-12-03T10:00:00.123Z" },
    },
    "/data/pgdata",
  );
  assert.match(line, /^pgbackrest /);
  assert.match(line, / --stanza=db /);
  assert.match(line, / --pg1-path=\/data\/pgdata\.restore /);
  assert.match(line, / --repo1-path=\/ns\/db /);
  assert.match(line, / --set=20261203-090000F /);
  assert.match(
    line,
    / --type=time '--target=2026-12-03 10:00:00\.123\+00' --target-action=promote /,
  );
  assert.match(
    line,
    /restore_command=pgbackrest .*--stanza=db .*--pg1-path=\/data\/pgdata --repo1-path=\/ns\/db archive-get %f/,
  );
  assert.match(line, / restore$/);
  assert.doesNotMatch(line, /db-restored/, "the source's stanza, never the restoring cluster's");
});
