import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "../time/fake-clock.ts";
import type { InFlightWork, QueueMetrics } from "./metrics.ts";
import { WorkQueue } from "./work-queue.ts";

const pendingMarker = Symbol("pending");

/** The value of `promise` if it settles within one macrotask turn, else `pendingMarker`. */
function peek<T>(promise: Promise<T>): Promise<T | typeof pendingMarker> {
  return Promise.race([
    promise,
    new Promise<typeof pendingMarker>((resolve) => setImmediate(() => resolve(pendingMarker))),
  ]);
}

function makeQueue() {
  const clock = new FakeClock(1_000);
  const queue = new WorkQueue<string>({ clock });
  return { clock, queue };
}

/** Takes every key that is ready now, marking each done. */
async function drainReady(queue: WorkQueue<string>): Promise<string[]> {
  const keys: string[] = [];
  while (queue.length > 0) {
    const key = await queue.get();
    assert.ok(key !== undefined);
    keys.push(key);
    queue.done(key);
  }
  return keys;
}

describe("WorkQueue", () => {
  test("get() resolves with a key added before it was called", async () => {
    const { queue } = makeQueue();
    queue.add("ns/a");
    assert.equal(await queue.get(), "ns/a");
  });

  test("get() waits for a key and resolves when one is added", async () => {
    const { queue } = makeQueue();
    const next = queue.get();
    assert.equal(await peek(next), pendingMarker);
    queue.add("ns/a");
    assert.equal(await peek(next), "ns/a");
  });

  test("get() serves keys of one lane in the order they were added", async () => {
    const { queue } = makeQueue();
    for (const key of ["c", "a", "b"]) queue.add(key);
    assert.deepEqual(await drainReady(queue), ["c", "a", "b"]);
  });

  test("add() holds a key at most once while it waits", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    queue.add("b");
    queue.add("a");
    queue.add("a");
    assert.equal(queue.length, 2);
    assert.deepEqual(await drainReady(queue), ["a", "b"]);
    assert.equal(await peek(queue.get()), pendingMarker);
  });

  test("get() never hands a key being processed to a second worker", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    assert.equal(await queue.get(), "a");
    queue.add("a");
    const second = queue.get();
    assert.equal(await peek(second), pendingMarker);
    assert.equal(queue.length, 0, "a dirty key being processed is not ready");
    queue.done("a");
    assert.equal(await peek(second), "a");
  });

  test("done() queues again a key that was added while being processed", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    const key = await queue.get();
    queue.add("a");
    queue.add("a");
    queue.done("a");
    assert.equal(key, "a");
    assert.equal(queue.length, 1, "added twice while processing, queued once");
    assert.deepEqual(await drainReady(queue), ["a"]);
  });

  test("done() does not queue again a key that was not added while processed", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    queue.done((await queue.get()) ?? "");
    assert.equal(queue.length, 0);
    assert.equal(queue.processing, 0);
  });

  test("done() of a key that is not being processed changes nothing", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    queue.done("a");
    queue.done("zzz");
    assert.equal(queue.length, 1);
    assert.equal(await queue.get(), "a");
    assert.equal(queue.processing, 1);
  });

  test("get() serves keys from add() before keys whose delay expired", async () => {
    const { clock, queue } = makeQueue();
    queue.addAfter("retry-1", 10);
    queue.addAfter("retry-2", 0);
    clock.advance(10);
    queue.add("fresh-1");
    queue.add("fresh-2");
    assert.deepEqual(await drainReady(queue), ["fresh-1", "fresh-2", "retry-2", "retry-1"]);
  });

  test("add() of a key waiting as a retry moves it to the fresh lane", async () => {
    const { queue } = makeQueue();
    queue.addAfter("a", 0);
    queue.addAfter("b", 0);
    queue.add("c");
    queue.add("b");
    assert.equal(queue.length, 3);
    assert.deepEqual(await drainReady(queue), ["c", "b", "a"]);
  });

  test("a key added while processing returns to the fresh lane if any add was fresh", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    await queue.get();
    queue.addAfter("a", 0);
    queue.add("a");
    queue.addAfter("r", 0);
    queue.done("a");
    assert.deepEqual(await drainReady(queue), ["a", "r"]);
  });

  test("addAfter() makes a key ready exactly when its delay has passed", async () => {
    const { clock, queue } = makeQueue();
    queue.addAfter("a", 250);
    clock.advance(249);
    assert.equal(queue.length, 0);
    const next = queue.get();
    assert.equal(await peek(next), pendingMarker);
    clock.advance(1);
    assert.equal(await peek(next), "a");
  });

  test("addAfter() with zero or negative delay queues the key at once", async () => {
    const { queue } = makeQueue();
    queue.addAfter("a", 0);
    queue.addAfter("b", -5);
    assert.deepEqual(await drainReady(queue), ["a", "b"]);
  });

  test("addAfter() keeps the earlier deadline when a key is delayed twice", async () => {
    const { clock, queue } = makeQueue();
    queue.addAfter("earlier-second", 100);
    queue.addAfter("earlier-second", 30);
    queue.addAfter("earlier-first", 30);
    queue.addAfter("earlier-first", 100);
    clock.advance(29);
    assert.equal(queue.length, 0);
    clock.advance(1);
    assert.deepEqual((await drainReady(queue)).sort(), ["earlier-first", "earlier-second"]);
    clock.advance(1_000);
    assert.equal(queue.length, 0, "the later deadline was dropped, not kept as a second copy");
    assert.equal(clock.pendingTimers, 0);
  });

  test("addAfter() of a key already queued adds no second copy when it fires", async () => {
    const { clock, queue } = makeQueue();
    queue.add("a");
    queue.addAfter("a", 10);
    clock.advance(10);
    assert.equal(queue.length, 1);
  });

  test("addAfter() rejects a NaN delay", () => {
    const { queue } = makeQueue();
    assert.throws(() => queue.addAfter("a", Number.NaN), /NaN/);
  });

  test("addRateLimited() delays each retry twice as long as the one before", async () => {
    const { clock, queue } = makeQueue();
    for (const expected of [5, 10, 20, 40, 80]) {
      queue.addRateLimited("a");
      clock.advance(expected - 1);
      assert.equal(queue.length, 0, `not ready 1 ms before ${expected} ms`);
      clock.advance(1);
      assert.equal(queue.length, 1, `ready after ${expected} ms`);
      queue.done((await queue.get()) ?? "");
    }
    assert.equal(queue.retries("a"), 5);
  });

  test("addRateLimited() caps the delay at 1000 seconds", async () => {
    const { clock, queue } = makeQueue();
    // Forty failures in a row leave only the earliest (5 ms) deadline pending.
    for (let i = 0; i < 40; i++) queue.addRateLimited("a");
    clock.advance(5);
    assert.deepEqual(await drainReady(queue), ["a"]);
    queue.addRateLimited("a");
    clock.advance(999_999);
    assert.equal(queue.length, 0);
    clock.advance(1);
    assert.equal(queue.length, 1);
    assert.equal(queue.retries("a"), 41);
  });

  test("forget() resets the back-off of a key to the first delay", async () => {
    const { clock, queue } = makeQueue();
    for (let i = 0; i < 6; i++) queue.addRateLimited("a");
    clock.advance(5);
    await drainReady(queue);
    assert.equal(queue.retries("a"), 6);
    queue.forget("a");
    assert.equal(queue.retries("a"), 0);
    queue.addRateLimited("a");
    clock.advance(5);
    assert.equal(queue.length, 1);
  });

  test("back-off is counted per key", () => {
    const { queue } = makeQueue();
    queue.addRateLimited("a");
    queue.addRateLimited("a");
    queue.addRateLimited("b");
    assert.equal(queue.retries("a"), 2);
    assert.equal(queue.retries("b"), 1);
    assert.equal(queue.retries("c"), 0);
  });

  test("shutdown() resolves waiting get() calls with undefined", async () => {
    const { queue } = makeQueue();
    const waiting = [queue.get(), queue.get()];
    queue.shutdown();
    assert.deepEqual(await Promise.all(waiting), [undefined, undefined]);
    assert.equal(await queue.get(), undefined);
  });

  test("shutdown() drops queued and delayed keys and ignores later adds", async () => {
    const { clock, queue } = makeQueue();
    queue.add("a");
    queue.addAfter("b", 10);
    queue.addRateLimited("c");
    queue.shutdown();
    assert.equal(clock.pendingTimers, 0);
    queue.add("d");
    queue.addAfter("e", 0);
    queue.addRateLimited("f");
    clock.advance(1_000);
    assert.equal(queue.length, 0);
    assert.equal(queue.retries("f"), 0);
    assert.equal(await queue.get(), undefined);
    assert.equal(queue.shuttingDown, true);
  });

  test("shutdown() does not requeue a key added while it was processing", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    await queue.get();
    queue.add("a");
    queue.shutdown();
    queue.done("a");
    assert.equal(queue.length, 0);
    assert.equal(queue.processing, 0);
  });

  test("shutdownWithDrain() resolves only when every key handed out is done", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    queue.add("b");
    const a = await queue.get();
    const b = await queue.get();
    const drained = queue.shutdownWithDrain();
    assert.equal(await peek(drained), pendingMarker);
    assert.equal(await queue.get(), undefined);
    queue.done(a ?? "");
    assert.equal(await peek(drained), pendingMarker);
    queue.done(b ?? "");
    assert.equal(await peek(drained), undefined);
  });

  test("shutdownWithDrain() resolves at once when nothing is being processed", async () => {
    const { queue } = makeQueue();
    queue.add("a");
    assert.equal(await peek(queue.shutdownWithDrain()), undefined);
  });
});

interface Recorded {
  depth: number[];
  adds: number;
  latency: number[];
  work: number[];
  retries: number;
  probe: (() => InFlightWork) | undefined;
}

function recordingMetrics(): { metrics: QueueMetrics; recorded: Recorded } {
  const recorded: Recorded = {
    depth: [],
    adds: 0,
    latency: [],
    work: [],
    retries: 0,
    probe: undefined,
  };
  const metrics: QueueMetrics = {
    observeInFlight: (probe) => {
      recorded.probe = probe;
    },
    depth: (count) => recorded.depth.push(count),
    added: () => recorded.adds++,
    queueLatency: (seconds) => recorded.latency.push(seconds),
    workDuration: (seconds) => recorded.work.push(seconds),
    retried: () => recorded.retries++,
  };
  return { metrics, recorded };
}

describe("WorkQueue metrics hooks", () => {
  test("added() counts keys entering the queue, not repeated adds of a waiting key", () => {
    const { metrics, recorded } = recordingMetrics();
    const queue = new WorkQueue<string>({ clock: new FakeClock(), metrics });
    queue.add("a");
    queue.add("a");
    queue.add("b");
    assert.equal(recorded.adds, 2);
    assert.equal(recorded.depth.at(-1), 2);
  });

  test("depth counts a key dirtied while processing until a worker takes it", async () => {
    const { metrics, recorded } = recordingMetrics();
    const queue = new WorkQueue<string>({ clock: new FakeClock(), metrics });
    queue.add("a");
    await queue.get();
    assert.equal(recorded.depth.at(-1), 0);
    queue.add("a");
    assert.equal(recorded.depth.at(-1), 1);
    queue.done("a");
    assert.equal(recorded.depth.at(-1), 1);
    await queue.get();
    assert.equal(recorded.depth.at(-1), 0);
  });

  test("queue latency and work duration are measured on the queue's clock in seconds", async () => {
    const { metrics, recorded } = recordingMetrics();
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock, metrics });
    queue.add("a");
    clock.advance(1_500);
    await queue.get();
    clock.advance(250);
    queue.done("a");
    assert.deepEqual(recorded.latency, [1.5]);
    assert.deepEqual(recorded.work, [0.25]);
  });

  test("retried() is reported for every delayed or rate-limited add", () => {
    const { metrics, recorded } = recordingMetrics();
    const queue = new WorkQueue<string>({ clock: new FakeClock(), metrics });
    queue.addAfter("a", 10);
    queue.addRateLimited("b");
    queue.add("c");
    assert.equal(recorded.retries, 2);
  });

  test("the in-flight probe reports unfinished and longest-running seconds", async () => {
    const { metrics, recorded } = recordingMetrics();
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock, metrics });
    const probe = recorded.probe;
    assert.ok(probe);
    assert.deepEqual(probe(), { unfinishedSeconds: 0, longestRunningSeconds: 0 });
    queue.add("a");
    queue.add("b");
    await queue.get();
    clock.advance(3_000);
    await queue.get();
    clock.advance(1_000);
    assert.deepEqual(probe(), { unfinishedSeconds: 5, longestRunningSeconds: 4 });
    queue.done("a");
    assert.deepEqual(probe(), { unfinishedSeconds: 1, longestRunningSeconds: 1 });
  });
});
