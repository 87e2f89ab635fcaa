import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatLsn } from "../plan/lsn.ts";
import { historyFileName, parseTimelineHistory } from "./timeline-history.ts";

test("parseTimelineHistory() reads what PostgreSQL 15 writes at a promotion", () => {
  // The file of timeline 3, after promotions on timelines 1 and 2.
  const file =
    "1\t0/304A5E0\tno recovery target specified\n\n2\t0/5000000\tno recovery target specified\n";
  assert.deepEqual(parseTimelineHistory(file), [
    { timeline: 1, switchpoint: "0/304A5E0" },
    { timeline: 2, switchpoint: "0/5000000" },
  ]);
  assert.deepEqual(parseTimelineHistory("# a comment\n"), []);
});

test("parseTimelineHistory() reads back any increasing history, whatever the reasons say", () => {
  const entry = fc.record({
    step: fc.integer({ min: 1, max: 1000 }),
    switchpoint: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }).map(formatLsn),
    reason: fc.constantFrom(
      "no recovery target specified",
      "before 2026-12-02 14:00:00+00",
      'at restore point "r"',
    ),
  });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 12 }), (entries) => {
      let timeline = 0;
      const expected = entries.map((e) => {
        timeline += e.step;
        return { timeline, switchpoint: e.switchpoint, reason: e.reason };
      });
      const text = expected.map((e) => `${e.timeline}\t${e.switchpoint}\t${e.reason}\n`).join("");
      assert.deepEqual(
        parseTimelineHistory(text),
        expected.map(({ timeline: t, switchpoint }) => ({ timeline: t, switchpoint })),
      );
    }),
  );
});

test("parseTimelineHistory() refuses lines it cannot read and timelines that go back", () => {
  assert.throws(() => parseTimelineHistory("one\t0/0\tx\n"), /line 1/);
  assert.throws(() => parseTimelineHistory("1\n"), /line 1/);
  assert.throws(() => parseTimelineHistory("1\tnot-an-lsn\tx\n"), /not an LSN/);
  assert.throws(
    () => parseTimelineHistory("2\t0/10\tx\n1\t0/20\tx\n"),
    /goes back from timeline 2 to 1/,
  );
});

test("historyFileName() is the timeline in 8 upper-case hex digits", () => {
  assert.equal(historyFileName(2), "00000002.history");
  assert.equal(historyFileName(0x1a), "0000001A.history");
  assert.throws(() => historyFileName(0), RangeError);
  assert.throws(() => historyFileName(1.5), RangeError);
});
