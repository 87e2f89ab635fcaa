import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { exponentialBackoff } from "../queue/rate-limiter.ts";
import { Backoff, backoffDelay } from "./backoff.ts";

test("Backoff.next() doubles from 0.8 s and stops at 30 s without jitter", () => {
  const backoff = new Backoff({ jitter: 0 });
  const delays = Array.from({ length: 8 }, () => backoff.next());
  assert.deepEqual(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
});

test("Backoff.next() stays within [base, min(max, base * (1 + jitter))] for any random draw", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 20 }),
      (draws) => {
        let i = 0;
        const backoff = new Backoff({ jitter: 0.5 }, () => draws[i++ % draws.length] ?? 0);
        for (let n = 0; n < draws.length; n++) {
          const base = Math.min(30_000, 800 * 2 ** n);
          const delay = backoff.next();
          assert.ok(
            delay >= base && delay <= Math.min(30_000, base * 1.5),
            `delay ${delay} for attempt ${n}`,
          );
        }
      },
    ),
  );
});

test("Backoff resets only after a connection stayed up for resetAfterMs", () => {
  const backoff = new Backoff({ jitter: 0, resetAfterMs: 60_000 });
  backoff.next();
  backoff.next();
  backoff.connectionEnded(59_999);
  assert.equal(backoff.next(), 3200);
  backoff.connectionEnded(60_000);
  assert.equal(backoff.failures, 0);
  assert.equal(backoff.next(), 800);
});

test("backoffDelay() without jitter doubles from initialMs, caps at maxMs past overflow, and draws no random number", () => {
  const random = () => assert.fail("random() was called without jitter");
  const curve = { initialMs: 5, maxMs: 1_000 };
  assert.deepEqual(
    [0, 1, 2, 7, 8, 2_000].map((n) => backoffDelay(n, curve, random)),
    [5, 10, 20, 640, 1_000, 1_000],
  );
});

test("backoffDelay() with jitter adds up to jitter·delay and never exceeds maxMs", () => {
  const curve = { initialMs: 100, maxMs: 1_000, jitter: 0.5 };
  assert.equal(
    backoffDelay(0, curve, () => 0),
    100,
  );
  assert.equal(
    backoffDelay(0, curve, () => 0.5),
    125,
  );
  assert.equal(
    backoffDelay(3, curve, () => 0.99),
    1_000,
  );
});

test("the queue's exponentialBackoff() and the watcher's Backoff retry on the same curve", () => {
  const limiter = exponentialBackoff<string>({ baseMs: 800, maxMs: 30_000 });
  const backoff = new Backoff({ jitter: 0 });
  for (let i = 0; i < 10; i++)
    assert.equal(limiter.when("key"), backoff.next(), `failure ${i + 1}`);
});

test("exponentialBackoff({ jitter }) spreads delays within [delay, delay·(1 + jitter)]", () => {
  const limiter = exponentialBackoff<string>({ baseMs: 100, maxMs: 100_000, jitter: 0.25 });
  for (let n = 0; n < 8; n++) {
    const delay = limiter.when("key");
    const base = 100 * 2 ** n;
    assert.ok(delay >= base && delay <= base * 1.25, `delay ${delay} after ${n} failures`);
  }
  assert.throws(() => exponentialBackoff({ jitter: -1 }), /jitter must be >= 0, got -1/);
});
