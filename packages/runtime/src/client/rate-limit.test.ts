import assert from "node:assert/strict";
import { test } from "node:test";
import { type LimiterClock, TokenBucket } from "./rate-limit.ts";

function fakeClock(): LimiterClock & { waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  };
}

test("TokenBucket lets a burst through at once, then paces at qps", async () => {
  const clock = fakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 3 }, clock);
  for (let i = 0; i < 3; i++) await bucket.take();
  assert.deepEqual(clock.waits, []);
  await bucket.take();
  await bucket.take();
  assert.equal(clock.waits.length, 2);
  assert.ok(Math.abs((clock.waits[0] ?? 0) - 100) < 1e-6, `first wait ${clock.waits[0]}`);
  // The second waiter's clock already advanced by the first wait: one more token-time.
  assert.ok(Math.abs((clock.waits[1] ?? 0) - 100) < 1e-6, `second wait ${clock.waits[1]}`);
});

test("TokenBucket defaults to 20 qps with a burst of 30", () => {
  const bucket = new TokenBucket();
  assert.equal(bucket.qps, 20);
  assert.equal(bucket.burst, 30);
});

test("TokenBucket gives the token back when the waiting request is aborted", async () => {
  let now = 0;
  const sleeps: number[] = [];
  const bucket = new TokenBucket(
    { qps: 1, burst: 1 },
    {
      now: () => now,
      sleep: (ms, signal) => {
        sleeps.push(ms);
        return new Promise((_resolve, reject) => {
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
      },
    },
  );
  await bucket.take();
  const controller = new AbortController();
  const waiting = bucket.take(controller.signal);
  controller.abort(new Error("gave up"));
  await assert.rejects(waiting, /gave up/);
  assert.equal(sleeps.length, 1);
  // One second refills exactly one token: enough only if the aborted reservation was returned.
  now = 1000;
  await bucket.take();
  assert.equal(sleeps.length, 1);
});

test("TokenBucket rejects a non-positive qps, naming it", () => {
  assert.throws(() => new TokenBucket({ qps: 0 }), /qps=0/);
});
