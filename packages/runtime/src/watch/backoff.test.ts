import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Backoff } from "./backoff.ts";

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
