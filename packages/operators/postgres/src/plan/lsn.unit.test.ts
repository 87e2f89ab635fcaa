import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  compareLsn,
  formatLsn,
  LsnSyntaxError,
  lsnDistance,
  maxLsn,
  parseLsn,
  replayLag,
} from "./lsn.ts";

const lsn = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
/** Positions near the 32-bit boundaries, where string order and number order part. */
const edgy = fc.oneof(
  lsn,
  fc
    .tuple(fc.bigInt({ min: 0n, max: 0xffn }), fc.constantFrom(0n, 1n, 0xffff_ffffn, 0x1000_0000n))
    .map(([h, l]) => (h << 32n) | l),
);

test("parseLsn(formatLsn(x)) is x for every 64-bit position", () => {
  fc.assert(
    fc.property(edgy, (x) => parseLsn(formatLsn(x)) === x),
    { numRuns: 2000 },
  );
});

test("formatLsn(parseLsn(s)) is s for every text PostgreSQL prints (upper-case, no padding)", () => {
  const hex = fc.bigInt({ min: 0n, max: 0xffff_ffffn }).map((n) => n.toString(16).toUpperCase());
  fc.assert(
    fc.property(hex, hex, (h, l) => formatLsn(parseLsn(`${h}/${l}`)) === `${h}/${l}`),
    { numRuns: 1000 },
  );
});

test("parseLsn() reads PostgreSQL 18's zero-padded and lower-case forms as the same position", () => {
  assert.equal(parseLsn("0/03000148"), parseLsn("0/3000148"));
  assert.equal(parseLsn("16/b374d848"), parseLsn("16/B374D848"));
  assert.equal(parseLsn("16/B374D848"), (0x16n << 32n) | 0xb374d848n);
  assert.equal(parseLsn("FFFFFFFF/FFFFFFFF"), 0xffff_ffff_ffff_ffffn);
});

test("compareLsn() agrees with the numeric order, also where the text order disagrees", () => {
  fc.assert(
    fc.property(edgy, edgy, (a, b) => {
      const want = a < b ? -1 : a > b ? 1 : 0;
      return (
        compareLsn(a, b) === want &&
        compareLsn(parseLsn(formatLsn(a)), parseLsn(formatLsn(b))) === want &&
        compareLsn(b, a) === -want
      );
    }),
    { numRuns: 2000 },
  );
  // "0/A000000" sorts before "0/9FFFFFF" as text, and is ahead of it.
  assert.equal(compareLsn(parseLsn("0/A000000"), parseLsn("0/9FFFFFF")), 1);
  assert.equal(compareLsn(parseLsn("1/0"), parseLsn("0/FFFFFFFF")), 1);
});

test("sorting by compareLsn() orders positions as numbers", () => {
  fc.assert(
    fc.property(fc.array(edgy, { maxLength: 20 }), (xs) => {
      const sorted = xs.map(formatLsn).map(parseLsn).sort(compareLsn);
      return sorted.every((x, i) => i === 0 || (sorted[i - 1] ?? x) <= x);
    }),
  );
});

test("maxLsn() is the greatest known position and lsnDistance() the byte difference", () => {
  fc.assert(
    fc.property(fc.array(fc.option(edgy, { nil: undefined })), (xs) => {
      const known = xs.filter((x): x is bigint => x !== undefined);
      const m = maxLsn(...xs);
      if (known.length === 0) return m === undefined;
      return m !== undefined && known.every((x) => x <= m && lsnDistance(m, x) >= 0n);
    }),
  );
  assert.equal(lsnDistance(parseLsn("1/0"), parseLsn("0/FFFFFFFF")), 1n);
});

test("parseLsn() refuses what is not X/Y, naming the value", () => {
  for (const bad of [
    "",
    "0",
    "0/",
    "/0",
    "0/0/0",
    "G/0",
    "123456789/0",
    "0/123456789",
    " 0/0",
    "-1/0",
  ]) {
    assert.throws(
      () => parseLsn(bad),
      (e: unknown) => e instanceof LsnSyntaxError && e.message.includes(JSON.stringify(bad)),
    );
  }
  assert.throws(() => formatLsn(-1n), RangeError);
  assert.throws(() => formatLsn(1n << 64n), RangeError);
});

test("replayLag() is the bytes a standby's replay is behind, 0 when it is past the primary's (earlier) reading", () => {
  assert.equal(replayLag(parseLsn("0/3000100"), parseLsn("0/3000000")), 256n);
  assert.equal(
    replayLag(parseLsn("0/3000000"), parseLsn("0/3000068")),
    0n,
    "asked after the primary",
  );
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      (p, r) => {
        const lag = replayLag(p, r);
        assert.ok(lag >= 0n);
        assert.equal(lag, p >= r ? lsnDistance(p, r) : 0n);
      },
    ),
  );
});
