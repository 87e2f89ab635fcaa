/** backupStartedSince: which backup in `info` a Backup took (controller.ts, step 6). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { backupStartedSince } from "./controller.ts";
import type { BackupRecord, StanzaInfo } from "./pgbackrest.ts";

const record = (label: string, startedAt: string): BackupRecord => ({
  label,
  type: "full",
  startLsn: "0/2000028",
  stopLsn: "0/2000100",
  startedAt,
  stoppedAt: startedAt,
  databaseBytes: 1,
  deltaBytes: 1,
  repoBytes: 1,
  repoDeltaBytes: 1,
  walStart: "000000010000000000000002",
  walStop: "000000010000000000000002",
  error: false,
});

const info = (backups: BackupRecord[]): StanzaInfo => ({
  stanza: "db",
  status: { code: 0, state: "ok", message: "ok" },
  backupRunning: false,
  repos: [],
  backups,
});

test("the newest backup started at or after the recorded start, whole seconds as pgBackRest keeps them", () => {
  const older = record("20261203-100000F", "2026-12-03T10:00:00Z");
  const ours = record("20261203-101500F", "2026-12-03T10:15:00Z");
  // The operator recorded 10:15:00.700; pgBackRest printed 10:15:00.
  assert.equal(backupStartedSince(info([older, ours]), "2026-12-03T10:15:00.700Z"), ours);
});

test("none started since: undefined (the backup is run again, never an older one taken for it)", () => {
  const older = record("20261203-100000F", "2026-12-03T10:00:00Z");
  assert.equal(backupStartedSince(info([older]), "2026-12-03T10:15:00.000Z"), undefined);
  assert.equal(backupStartedSince(info([]), "2026-12-03T10:15:00.000Z"), undefined);
});
