/** PostgresMetrics: the archiving series read back from a registry, as Prometheus scrapes them. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleMetric } from "@ballast/runtime/testing";
import { Registry } from "prom-client";
import type { PostgresClusterStatus } from "../api.ts";
import { PostgresMetrics } from "./metrics.ts";

const base = { namespace: "shop", cluster: "db" };

function status(o: {
  archivedAgoMs?: number;
  reason?: "ArchivingFailing" | "ArchivingStalled";
  awaiting?: number;
}): PostgresClusterStatus {
  return {
    systemIdentifier: "7000000000000000000",
    primary: { id: 0, timeline: 1 },
    instances: [],
    backup: {
      repoPath: "/repo/db",
      stanzaCreatedAt: "2026-12-03T10:00:00.000Z",
      ...(o.awaiting === undefined ? {} : { walFilesAwaitingArchive: o.awaiting }),
      ...(o.archivedAgoMs === undefined
        ? {}
        : {
            lastArchivedWal: "000000010000000000000003",
            lastArchivedAt: new Date(Date.now() - o.archivedAgoMs).toISOString(),
          }),
    },
    conditions: [
      {
        type: "BackupReady",
        status: o.reason ? "False" : "True",
        reason: o.reason ?? "Archiving",
        message: "",
        lastTransitionTime: "2026-12-03T10:00:00Z",
      },
    ],
  } as PostgresClusterStatus;
}

test("the last archived WAL's age is computed at scrape time; archiving_failing follows BackupReady (failing or stalled); the WAL awaiting archive", async () => {
  const registry = new Registry();
  const m = new PostgresMetrics(registry);
  m.record("shop", "db", 3, status({ archivedAgoMs: 60_000 }));
  const age = await sampleMetric(registry, "ballast_postgres_last_archived_wal_age_seconds", base);
  assert.ok(age !== undefined && age >= 60 && age < 70, String(age));
  assert.equal(await sampleMetric(registry, "ballast_postgres_archiving_failing", base), 0);

  m.record("shop", "db", 3, status({ archivedAgoMs: 120_000, reason: "ArchivingFailing" }));
  const later = await sampleMetric(
    registry,
    "ballast_postgres_last_archived_wal_age_seconds",
    base,
  );
  assert.ok(later !== undefined && later >= 120, String(later));
  assert.equal(await sampleMetric(registry, "ballast_postgres_archiving_failing", base), 1);

  m.record(
    "shop",
    "db",
    3,
    status({ archivedAgoMs: 1000, reason: "ArchivingStalled", awaiting: 4 }),
  );
  assert.equal(await sampleMetric(registry, "ballast_postgres_archiving_failing", base), 1);
  assert.equal(
    await sampleMetric(registry, "ballast_postgres_wal_files_awaiting_archive", base),
    4,
  );
  m.record("shop", "db", 3, status({ archivedAgoMs: 1000, awaiting: 0 }));
  assert.equal(await sampleMetric(registry, "ballast_postgres_archiving_failing", base), 0);
  assert.equal(
    await sampleMetric(registry, "ballast_postgres_wal_files_awaiting_archive", base),
    0,
  );

  // Nothing archived yet: no age (not zero, which would read as "just now").
  m.record("shop", "db", 3, status({}));
  assert.equal(
    await sampleMetric(registry, "ballast_postgres_last_archived_wal_age_seconds", base),
    undefined,
  );
  m.forget("shop", "db");
  assert.equal(await sampleMetric(registry, "ballast_postgres_archiving_failing", base), undefined);
});

test("the last backup's age is computed at scrape time from status.backup.lastBackup, absent without one and once forgotten", async () => {
  const registry = new Registry();
  const m = new PostgresMetrics(registry);
  const name = "ballast_postgres_last_backup_age_seconds";
  m.record("shop", "db", 3, status({}));
  assert.equal(await sampleMetric(registry, name, base), undefined, "no backup yet: no age");
  const withBackup = status({});
  if (withBackup.backup)
    withBackup.backup.lastBackup = {
      name: "nightly-202612040100",
      label: "20261204-010000F",
      type: "full",
      completedAt: new Date(Date.now() - 3600_000).toISOString(),
    };
  m.record("shop", "db", 3, withBackup);
  const age = await sampleMetric(registry, name, base);
  assert.ok(age !== undefined && age >= 3600 && age < 3610, String(age));
  m.forget("shop", "db");
  assert.equal(await sampleMetric(registry, name, base), undefined);
});
