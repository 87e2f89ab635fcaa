import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatLsn, LsnSyntaxError } from "../plan/lsn.ts";
import { compareLsnText, walLsnDiff } from "./lsn.ts";

const position = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
/** Positions near a 4 GiB boundary, where `X/Y` text order and position order part. */
const nearBoundary = fc
  .tuple(fc.bigInt({ min: 0n, max: 0xffff_fffen }), fc.bigInt({ min: -4096n, max: 4096n }))
  .map(([high, offset]) => (high << 32n) + 0x1_0000_0000n + offset);
const anyPosition = fc.oneof(position, nearBoundary);
/** A position and one way a server may print it: either case, leading zeros or not. */
const spelled = fc
  .tuple(anyPosition, fc.boolean(), fc.nat(7), fc.nat(7))
  .map(([p, lower, padHigh, padLow]) => {
    const high = (p >> 32n).toString(16);
    const low = (p & 0xffff_ffffn).toString(16);
    const text = `${high.padStart(Math.min(8, high.length + padHigh), "0")}/${low.padStart(Math.min(8, low.length + padLow), "0")}`;
    return { p, text: lower ? text.toLowerCase() : text.toUpperCase() };
  });

test("walLsnDiff() is the byte distance between two spellings, as pg_wal_lsn_diff computes it", () => {
  assert.equal(walLsnDiff("0/3000148", "0/3000000"), 0x148n);
  assert.equal(walLsnDiff("1/0", "0/FFFFFFFF"), 1n);
  assert.equal(walLsnDiff("FFFFFFFF/FFFFFFFF", "0/0"), 2n ** 64n - 1n);
  fc.assert(
    fc.property(spelled, spelled, (a, b) => {
      assert.equal(walLsnDiff(a.text, b.text), a.p - b.p);
    }),
  );
});

test("walLsnDiff() is antisymmetric, zero on itself, and additive", () => {
  fc.assert(
    fc.property(anyPosition, anyPosition, anyPosition, (a, b, c) => {
      const [la, lb, lc] = [formatLsn(a), formatLsn(b), formatLsn(c)];
      assert.equal(walLsnDiff(la, lb), -walLsnDiff(lb, la));
      assert.equal(walLsnDiff(la, la), 0n);
      assert.equal(walLsnDiff(la, lc), walLsnDiff(la, lb) + walLsnDiff(lb, lc));
    }),
  );
});

test("compareLsnText() orders by position, not by text (0/A000000 is ahead of 0/9FFFFFF)", () => {
  assert.equal(compareLsnText("0/A000000", "0/9FFFFFF"), 1);
  assert.equal(compareLsnText("0/3000148", "0/03000148"), 0);
  fc.assert(
    fc.property(fc.array(spelled, { maxLength: 20 }), (xs) => {
      const sorted = [...xs].sort((x, y) => compareLsnText(x.text, y.text)).map((x) => x.p);
      assert.deepEqual(
        sorted,
        xs.map((x) => x.p).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
      );
    }),
  );
});

test("walLsnDiff() and compareLsnText() refuse text that is not X/Y, naming it", () => {
  for (const bad of ["", "0", "0/", "/0", "0/3000148 ", "G/0", "0/123456789", "-1/0", "1/2/3"]) {
    assert.throws(
      () => walLsnDiff(bad, "0/0"),
      (err: unknown) => err instanceof LsnSyntaxError && err.message.includes(JSON.stringify(bad)),
    );
    assert.throws(() => compareLsnText("0/0", bad), LsnSyntaxError);
  }
});
