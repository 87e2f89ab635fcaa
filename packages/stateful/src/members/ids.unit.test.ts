import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { assignIds } from "./ids.ts";

const arbUsed = fc.array(fc.integer({ min: -3, max: 40 }), { maxLength: 30 });
const arbCount = fc.integer({ min: 0, max: 20 });

test("assignIds() fills the gaps first, then continues after the highest id", () => {
  assert.deepEqual(assignIds([0, 1, 3, 7], 4), [2, 4, 5, 6]);
  assert.deepEqual(assignIds([], 3), [0, 1, 2]);
  assert.deepEqual(assignIds([1, 2], 0), []);
});

test("assignIds() returns `count` distinct ascending ids, none of them in use", () => {
  fc.assert(
    fc.property(arbUsed, arbCount, (used, count) => {
      const ids = assignIds(used, count);
      assert.equal(ids.length, count);
      assert.equal(new Set(ids).size, count);
      for (const id of ids) {
        assert.ok(Number.isInteger(id) && id >= 0);
        assert.ok(!used.includes(id), `id ${id} is in use`);
      }
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
      );
    }),
  );
});

test("assignIds() picks the lowest possible ids: every smaller id is taken or chosen", () => {
  fc.assert(
    fc.property(arbUsed, arbCount, (used, count) => {
      const ids = assignIds(used, count);
      const highest = ids.at(-1) ?? -1;
      for (let id = 0; id < highest; id++) {
        assert.ok(used.includes(id) || ids.includes(id), `free id ${id} was skipped`);
      }
    }),
  );
});

test("assignIds() starts at `first` when a system's ids start above 0", () => {
  assert.deepEqual(assignIds([], 3, 1), [1, 2, 3]);
  assert.deepEqual(assignIds([1, 3], 2, 1), [2, 4]);
});
