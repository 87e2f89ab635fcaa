import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type BackupRecordView, expiredRecords, latestCompleted } from "./records.ts";

const repo = { bucket: "backups", path: "/ns/db", stanza: "db" };
const endpoint = "https://s3:9000";

function record(
  name: string,
  label: string,
  completedAt: string,
  over: Partial<NonNullable<BackupRecordView["status"]>> = {},
): BackupRecordView {
  return {
    metadata: { name },
    status: {
      phase: "Completed",
      label,
      completedAt,
      repository: { endpoint, ...repo },
      ...over,
    },
  };
}

const a = record("a", "20261204-100000F", "2026-12-04T10:00:10Z");
const b = record("b", "20261204-110000F", "2026-12-04T11:00:10Z");
const c = record("c", "20261204-120000F", "2026-12-04T12:00:10Z");

test("latestCompleted() is the record of the repository that completed last", () => {
  assert.equal(latestCompleted([b, c, a], repo)?.metadata.name, "c");
  const failed = record("d", "x", "2026-12-04T13:00:00Z", { phase: "Failed" });
  const expired = record("e", "y", "2026-12-04T14:00:00Z", { phase: "Expired" });
  const elsewhere = record("f", "z", "2026-12-04T15:00:00Z", {
    repository: { endpoint, ...repo, path: "/ns/other" },
  });
  const otherStanza = record("g", "z", "2026-12-04T15:00:00Z", {
    repository: { endpoint, ...repo, stanza: "other" },
  });
  assert.equal(
    latestCompleted([a, failed, expired, elsewhere, otherStanza], repo)?.metadata.name,
    "a",
    "only Completed records of this bucket, path and stanza",
  );
  assert.equal(latestCompleted([], repo), undefined);
  assert.equal(latestCompleted([failed, elsewhere], repo), undefined);
});

test("expiredRecords() names the Completed records older than the backup just taken whose set info no longer lists", () => {
  const justTaken = { label: "20261204-120000F", startedAt: "2026-12-04T12:00:00Z" };
  const expired = expiredRecords(
    [a, b, c],
    repo,
    ["20261204-110000F", "20261204-120000F"],
    justTaken,
  );
  assert.deepEqual(
    expired.map((r) => r.metadata.name),
    ["a"],
  );
  // A listing without the backup just taken is not the repository's: nothing is judged.
  assert.deepEqual(expiredRecords([a, b, c], repo, [], justTaken), []);
  assert.deepEqual(expiredRecords([a, b, c], repo, ["20261204-110000F"], justTaken), []);
  // Records of another repository, or not Completed, are never judged.
  const elsewhere = record("f", "20261204-090000F", "2026-12-04T09:00:10Z", {
    repository: { endpoint, ...repo, path: "/ns/other" },
  });
  const failed = record("d", "20261204-080000F", "2026-12-04T08:00:10Z", { phase: "Failed" });
  assert.deepEqual(expiredRecords([elsewhere, failed], repo, [justTaken.label], justTaken), []);
  // A record that completed after the backup just taken started is not judged by its listing.
  const late = record("late", "20261204-115959F", "2026-12-04T12:00:01Z");
  assert.deepEqual(expiredRecords([late], repo, [justTaken.label], justTaken), []);
});

test("expiredRecords(): a record whose set is listed is never expired, whatever else is true (property)", () => {
  const minute = 60_000;
  const base = Date.parse("2026-12-04T00:00:00Z");
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.integer({ min: 0, max: 1000 }), listed: fc.boolean() }), {
        maxLength: 20,
      }),
      fc.integer({ min: 0, max: 1000 }),
      (sets, takenAt) => {
        const records = sets.map((s, i) =>
          record(`r${i}`, `L${i}`, new Date(base + s.at * minute).toISOString()),
        );
        const justTaken = {
          label: "NEW",
          startedAt: new Date(base + takenAt * minute).toISOString(),
        };
        const labels = ["NEW", ...sets.flatMap((s, i) => (s.listed ? [`L${i}`] : []))];
        const expired = new Set(
          expiredRecords(records, repo, labels, justTaken).map((r) => r.metadata.name),
        );
        sets.forEach((s, i) => {
          const shouldExpire = !s.listed && s.at <= takenAt;
          assert.equal(expired.has(`r${i}`), shouldExpire, `r${i}`);
        });
      },
    ),
  );
});
