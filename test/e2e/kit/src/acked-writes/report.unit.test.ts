import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ackedWritesReport, type WriteLedger } from "./report.ts";

/** A run of `attempted` writes, some acknowledged, and a read-back of some of what was written. */
const run = fc
  .integer({ min: 0, max: 60 })
  .chain((attempted) =>
    fc.record({
      attempted: fc.constant(attempted),
      acked: fc.array(fc.boolean(), { minLength: attempted, maxLength: attempted }),
      reads: fc.array(fc.integer({ min: 0, max: Math.max(0, attempted - 1) }), {
        maxLength: 2 * attempted,
      }),
    }),
  )
  .map(({ attempted, acked, reads }) => {
    const acknowledged = new Set(acked.flatMap((a, n) => (a ? [n] : [])));
    const ledger: WriteLedger = { attempted, acknowledged, failed: attempted - acknowledged.size };
    return { ledger, reads: attempted === 0 ? [] : reads };
  });

test("ackedWritesReport() finds nothing lost iff every acknowledged number is read", () => {
  fc.assert(
    fc.property(run, ({ ledger, reads }) => {
      const report = ackedWritesReport(ledger, reads);
      const read = new Set(reads);
      const allRead = [...ledger.acknowledged].every((n) => read.has(n));
      assert.equal(report.lost.length === 0, allRead);
    }),
  );
});

test("ackedWritesReport() lost is exactly the acknowledged numbers never read, ascending", () => {
  fc.assert(
    fc.property(run, ({ ledger, reads }) => {
      const report = ackedWritesReport(ledger, reads);
      const read = new Set(reads);
      const expected = [...ledger.acknowledged].filter((n) => !read.has(n)).sort((a, b) => a - b);
      assert.deepEqual(report.lost, expected);
    }),
  );
});

test("ackedWritesReport() a duplicate never hides a loss", () => {
  fc.assert(
    fc.property(run, fc.nat(), ({ ledger, reads }, pick) => {
      const before = ackedWritesReport(ledger, reads);
      // Read one number again as many times as there are losses: counts would now balance.
      const again = reads.length ? [reads[pick % reads.length] as number] : [];
      const padded = [...reads, ...before.lost.flatMap(() => again)];
      const after = ackedWritesReport(ledger, padded);
      assert.deepEqual(after.lost, before.lost);
      if (before.lost.length > 0 && again.length > 0) assert.ok(after.duplicated.length > 0);
    }),
  );
});

test("ackedWritesReport() an unacknowledged write that landed never hides a loss", () => {
  fc.assert(
    fc.property(run, ({ ledger, reads }) => {
      const unacked = Array.from({ length: ledger.attempted }, (_, n) => n).filter(
        (n) => !ledger.acknowledged.has(n),
      );
      const before = ackedWritesReport(ledger, reads);
      const after = ackedWritesReport(ledger, [...reads, ...unacked]);
      assert.deepEqual(after.lost, before.lost);
      assert.deepEqual(after.unacknowledgedButPresent, unacked);
    }),
  );
});

test("ackedWritesReport() sorts every number read into exactly one class", () => {
  fc.assert(
    fc.property(run, fc.array(fc.integer({ min: -5, max: 200 })), ({ ledger, reads }, foreign) => {
      const all = [...reads, ...foreign];
      const report = ackedWritesReport(ledger, all);
      const read = new Set(all);
      assert.equal(report.read, read.size);
      const acknowledgedRead = [...ledger.acknowledged].filter((n) => read.has(n)).length;
      assert.equal(
        acknowledgedRead + report.unacknowledgedButPresent.length + report.neverWritten.length,
        read.size,
      );
      for (const n of report.unacknowledgedButPresent) assert.ok(!ledger.acknowledged.has(n));
      for (const n of report.neverWritten) assert.ok(!(n >= 0 && n < ledger.attempted));
      for (const n of report.lost) assert.ok(ledger.acknowledged.has(n) && !read.has(n));
    }),
  );
});

test("ackedWritesReport() duplicated lists each number read more than once, once", () => {
  const report = ackedWritesReport(
    { attempted: 5, acknowledged: new Set([0, 1, 2]), failed: 2 },
    [2, 0, 2, 2, 4, 4, 1],
  );
  assert.deepEqual(report.duplicated, [2, 4]);
  assert.deepEqual(report.lost, []);
  assert.deepEqual(report.unacknowledgedButPresent, [4]);
  assert.equal(report.read, 4);
});
