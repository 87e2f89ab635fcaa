import assert from "node:assert/strict";
import { test } from "node:test";
import type { Clock } from "./clock.ts";
import { FakeClock } from "./fake-clock.ts";
import { sleep } from "./sleep.ts";

test("sleep() resolves when the clock reaches the deadline, not before", async () => {
  const clock = new FakeClock();
  let done = false;
  const slept = sleep(clock, 100).then(() => {
    done = true;
  });
  clock.advance(99);
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1);
  await slept;
  assert.equal(done, true);
});

test("sleep() rejects with the signal's reason on abort and clears its timer", async () => {
  const clock = new FakeClock();
  const stop = new AbortController();
  const slept = sleep(clock, 1_000, stop.signal);
  stop.abort(new Error("stopping"));
  await assert.rejects(slept, /stopping/);
  assert.equal(clock.pendingTimers, 0);
  await assert.rejects(
    sleep(clock, 1, stop.signal),
    /stopping/,
    "an aborted signal rejects at once",
  );
});

test("sleep() defers to a clock's own sleep, so a test can intercept waits", async () => {
  const waits: number[] = [];
  const clock: Clock = {
    now: () => 0,
    setTimeout: () => assert.fail("setTimeout used despite clock.sleep"),
    clearTimeout: () => {},
    sleep: async (ms) => {
      waits.push(ms);
    },
  };
  await sleep(clock, 250);
  assert.deepEqual(waits, [250]);
});
