/** archivingHealth: the BackupReady verdict from pg_stat_archiver and the WAL waiting to be archived. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { archiveStallSeconds, archivingHealth } from "./archiver.ts";

const at = (ms: number) => new Date(ms).toISOString();
const moment = fc.option(fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }), {
  nil: undefined,
});

test("archivingHealth(): failing when the last failure is newer than the last success, else stalled when a WAL file waited a minute", () => {
  const waiting = fc.option(fc.double({ min: 0, max: 3600, noNaN: true }), { nil: undefined });
  fc.assert(
    fc.property(
      moment,
      moment,
      waiting,
      fc.nat(1000),
      fc.nat(1000),
      (archived, failed, waitedS, na, nf) => {
        const h = archivingHealth(
          {
            archivedCount: na,
            failedCount: nf,
            waitingCount: waitedS === undefined ? 0 : 1 + (nf % 5),
            ...(archived === undefined
              ? {}
              : { lastArchivedAt: at(archived), lastArchivedWal: "000000010000000000000003" }),
            ...(failed === undefined
              ? {}
              : { lastFailedAt: at(failed), lastFailedWal: "000000010000000000000004" }),
            ...(waitedS === undefined
              ? {}
              : { oldestWaitingWal: "000000010000000000000005", oldestWaitingSeconds: waitedS }),
          },
          "/repo/db",
        );
        const expected =
          failed !== undefined && (archived === undefined || failed > archived)
            ? "failing"
            : waitedS !== undefined && waitedS >= archiveStallSeconds
              ? "stalled"
              : archived === undefined
                ? "idle"
                : "working";
        assert.equal(h.kind, expected);
        if (h.kind === "failing") assert.match(h.message, /000000010000000000000004 failed/);
        if (h.kind === "stalled") assert.match(h.message, /000000010000000000000005 has waited/);
        if (h.kind === "failing" || h.kind === "stalled")
          assert.match(h.message, /spec\.backup\.objectStore\.credentialsSecret/);
      },
    ),
  );
});

test("archivingHealth(): an old failure that was retried, and a file waiting seconds, are not a failure now", () => {
  const h = archivingHealth(
    {
      archivedCount: 12,
      lastArchivedWal: "00000002000000000000000C",
      lastArchivedAt: "2026-12-03T10:05:00.000Z",
      failedCount: 3,
      lastFailedWal: "000000020000000000000009",
      lastFailedAt: "2026-12-03T10:01:00.000Z",
      waitingCount: 1,
      oldestWaitingWal: "00000002000000000000000D",
      oldestWaitingSeconds: 2.5,
    },
    "/repo/db",
  );
  assert.deepEqual(h, {
    kind: "working",
    message:
      "WAL is archived to /repo/db; the last, 00000002000000000000000C, at 2026-12-03T10:05:00.000Z",
  });
});
