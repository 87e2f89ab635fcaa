import assert from "node:assert/strict";
import { test } from "node:test";
import type { PostgresCluster } from "./api.ts";
import { formatBytes, postgresStatusView } from "./status-view.ts";

const options = { style: { color: false }, now: new Date("2026-12-01T10:00:30Z") } as const;
const at = "2026-12-01T10:00:00Z";

function cluster(status: object, annotations?: Record<string, string>): PostgresCluster {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "PostgresCluster",
    metadata: { name: "main", namespace: "data", ...(annotations ? { annotations } : {}) },
    spec: {
      version: "15.18",
      instances: 3,
      storage: { size: "1Gi" },
      synchronous: { any: 1 },
      failoverDelaySeconds: 3,
    },
    status,
  } as unknown as PostgresCluster;
}

test("the PostgreSQL status view shows the primary, instances serving, the synchronous standbys, each instance and the roll", () => {
  const text =
    postgresStatusView(
      cluster({
        systemIdentifier: "7441234567890123456",
        primary: { id: 0, timeline: 2 },
        readyInstances: 2,
        synchronous: { any: 1, standbys: [1, 2] },
        instances: [
          { id: 0, pod: "main-0", role: "primary", timeline: 2, lsn: "0/3000060", ready: true },
          {
            id: 1,
            pod: "main-1",
            role: "standby",
            timeline: 2,
            lsn: "0/3000060",
            lagBytes: 0,
            ready: true,
          },
          {
            id: 2,
            pod: "main-2",
            ready: false,
            unreachableSince: "2026-12-01T09:58:30Z",
            problem: "connect ECONNREFUSED 10.200.1.4:5432",
          },
        ],
        conditions: [
          {
            type: "Ready",
            status: "False",
            reason: "Rolling",
            message: "",
            lastTransitionTime: at,
          },
          {
            type: "Degraded",
            status: "False",
            reason: "AsExpected",
            message: "",
            lastTransitionTime: at,
          },
        ],
        operation: {
          type: "Roll",
          reason: "configuration change",
          startedAt: at,
          summary: "Roll 1/3",
          pending: [0],
          done: [1],
          current: 2,
          waitingFor: "instance 2 is starting",
        },
      }),
      options,
    ) ?? "";
  assert.match(text, /^PostgresCluster data\/main: not Ready/);
  assert.match(text, /Version\s+15\.18/);
  assert.match(text, /Instances serving\s+2\/3/);
  assert.match(text, /Primary\s+instance 0 \(timeline 2\)/);
  assert.match(text, /Synchronous\s+ANY 1 of instance 1, instance 2/);
  assert.match(text, /Services\s+main-rw \(primary\), main-ro \(standbys\), main-r \(any\)/);
  assert.match(text, /ID\s+POD\s+ROLE\s+READY\s+TIMELINE\s+LSN\s+LAG\s+SYNC\s+PROBLEM/);
  assert.match(text, /0\*\s+main-0\s+primary\s+yes\s+2\s+0\/3000060\s+-\s+-\s+-/);
  assert.match(text, /1\s+main-1\s+standby\s+yes\s+2\s+0\/3000060\s+0 B\s+yes\s+-/);
  assert.match(
    text,
    /2\s+main-2\s+-\s+no\s+-\s+-\s+-\s+yes\s+no answer since 2m: connect ECONNREFUSED/,
  );
  const summary = text.split("\n\n")[0] ?? "";
  assert.doesNotMatch(summary, /Degraded/, "no Degraded line while Degraded is False");
  assert.doesNotMatch(summary, /Failover|Switchover/);
  assert.match(text, /Operation: Roll/);
  assert.match(text, /Restarting\s+instance 2/);
  assert.match(text, /Progress\s+\[###-------\] 1\/3 instances restarted/);
  assert.match(text, /Waiting for\s+instance 2 is starting/);
});

test("the PostgreSQL status view shows a switchover's phase, a failover's, and the Degraded message", () => {
  const switching =
    postgresStatusView(
      cluster({
        primary: { id: 0, timeline: 1 },
        switchover: { phase: "stopping", from: 0, to: 2, startedAt: at },
      }),
      options,
    ) ?? "";
  assert.match(
    switching,
    /Switchover\s+instance 0 → instance 2: stopping the primary \(since 2026-12-01T10:00:00Z, 30s ago\)/,
  );
  assert.match(switching, /Synchronous\s+ANY 1 \(not set yet\)/);
  assert.match(switching, /Instances: none yet/);
  assert.match(switching, /Operation: none/);

  const failing =
    postgresStatusView(
      cluster({
        election: { phase: "promoting", from: 0, to: 1, timeline: 1, startedAt: at },
        conditions: [
          {
            type: "Degraded",
            status: "True",
            reason: "NoPrimary",
            message: "instance 0 stopped answering; promoting instance 1",
            lastTransitionTime: at,
          },
        ],
      }),
      options,
    ) ?? "";
  assert.match(failing, /Primary\s+none/);
  assert.match(failing, /Failover\s+instance 0 → instance 1: promoting/);
  assert.match(failing, /Degraded\s+NoPrimary: instance 0 stopped answering; promoting instance 1/);
});

test("the PostgreSQL status view shows a switchover asked for by the annotation until the operator begins it", () => {
  const asked = (value: string, status: object = { primary: { id: 0, timeline: 1 } }) =>
    postgresStatusView(cluster(status, { "postgres.ballast.dev/switchover-to": value }), options) ??
    "";
  assert.match(
    asked("2"),
    /Switchover asked\s+to instance 2 \(postgres\.ballast\.dev\/switchover-to=2\), not begun yet/,
  );
  assert.match(asked("any"), /Switchover asked\s+to the most advanced standby/);
  const begun = asked("2", { switchover: { phase: "rejoining", from: 0, to: 2, startedAt: at } });
  assert.doesNotMatch(begun, /Switchover asked/);
  assert.match(begun, /repointing the old primary and the standbys/);
});

test("the PostgreSQL status view says off without spec.synchronous, and leaves other kinds alone", () => {
  const r = cluster({});
  delete (r.spec as { synchronous?: unknown }).synchronous;
  const text = postgresStatusView(r, options) ?? "";
  assert.match(text, /^PostgresCluster data\/main: no status yet/);
  assert.match(text, /Synchronous\s+off/);
  assert.match(text, /Instances serving\s+0\/3/);
  assert.equal(postgresStatusView({ ...r, kind: "RedisCluster" }, options), undefined);
});

test("the PostgreSQL status view shows archiving and the newest base backup with spec.backup, nothing of them without", () => {
  const backedUp = cluster({
    backup: {
      repoPath: "/data/main",
      stanzaCreatedAt: at,
      lastArchivedWal: "000000020000000000000007",
      lastArchivedAt: at,
      lastBackup: {
        name: "nightly-202612010900",
        label: "20261201-090000F",
        type: "full",
        completedAt: "2026-12-01T09:00:30Z",
      },
    },
    conditions: [
      {
        type: "BackupReady",
        status: "True",
        reason: "Archiving",
        message: "WAL is archived",
        lastTransitionTime: at,
      },
    ],
  });
  (backedUp.spec as Record<string, unknown>).backup = {
    objectStore: { endpoint: "https://s3:9000", bucket: "b", credentialsSecret: "s3" },
    retention: "2 full",
  };
  const text = postgresStatusView(backedUp, options) ?? "";
  assert.match(text, /Archiving\s+Archiving, last 000000020000000000000007 30s ago/);
  assert.match(
    text,
    /Last backup\s+nightly-202612010900 \(full 20261201-090000F\), completed 2026-12-01T09:00:30Z, 1h ago/,
  );
  const stalled = cluster({
    backup: { repoPath: "/data/main", stanzaCreatedAt: at, walFilesAwaitingArchive: 3 },
    conditions: [
      {
        type: "BackupReady",
        status: "False",
        reason: "ArchivingStalled",
        message: "a WAL file has waited 2m",
        lastTransitionTime: at,
      },
    ],
  });
  (stalled.spec as Record<string, unknown>).backup = (
    backedUp.spec as Record<string, unknown>
  ).backup;
  const bad = postgresStatusView(stalled, options) ?? "";
  assert.match(bad, /Archiving\s+ArchivingStalled: a WAL file has waited 2m, 3 WAL files waiting/);
  assert.match(bad, /Last backup\s+none yet/);
  const none = postgresStatusView(cluster({}), options) ?? "";
  assert.doesNotMatch(none, /Archiving|Last backup/);
});

test("formatBytes() keeps small counts exact and scales the rest", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(16 * 1024 * 1024), "16 MiB");
});
