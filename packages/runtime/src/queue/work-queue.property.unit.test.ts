import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { FakeClock } from "../time/fake-clock.ts";
import { exponentialBackoff } from "./rate-limiter.ts";
import { WorkQueue } from "./work-queue.ts";

const keyArb = fc.constantFrom("ns/a", "ns/b", "ns/c", "d");
const MAX_GETTERS = 3;

type Op =
  | { kind: "add"; key: string }
  | { kind: "addAfter"; key: string; ms: number }
  | { kind: "addRateLimited"; key: string }
  | { kind: "forget"; key: string }
  | { kind: "get" }
  | { kind: "done"; pick: number }
  | { kind: "advance"; ms: number };

const addOnlyOpArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), key: keyArb }),
  fc.record({ kind: fc.constant("get" as const) }),
  fc.record({ kind: fc.constant("done" as const), pick: fc.nat() }),
);

const anyOpArb: fc.Arbitrary<Op> = fc.oneof(
  addOnlyOpArb,
  fc.record({
    kind: fc.constant("addAfter" as const),
    key: keyArb,
    ms: fc.integer({ min: -5, max: 200 }),
  }),
  fc.record({ kind: fc.constant("addRateLimited" as const), key: keyArb }),
  fc.record({ kind: fc.constant("forget" as const), key: keyArb }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 300 }) }),
);

/** Lets resolved get() promises run their callbacks. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Drives a queue like a pool of workers would, recording every hand-out and
 * failing if a key is handed out while a worker still holds it.
 */
class Workers {
  readonly queue: WorkQueue<string>;
  readonly inFlight = new Set<string>();
  readonly handouts: Array<{ key: string; step: number }> = [];
  readonly violations: string[] = [];
  step = 0;
  outstanding = 0;
  onHandout: (key: string) => void = () => {};

  constructor(queue: WorkQueue<string>) {
    this.queue = queue;
  }

  get(): void {
    if (this.outstanding >= MAX_GETTERS) return;
    this.outstanding++;
    void this.queue.get().then((key) => {
      this.outstanding--;
      if (key === undefined) return;
      if (this.inFlight.has(key))
        this.violations.push(`${key} handed out twice at step ${this.step}`);
      this.inFlight.add(key);
      this.handouts.push({ key, step: this.step });
      this.onHandout(key);
    });
  }

  /** Marks one held key done; returns it. */
  done(pick: number): string | undefined {
    const held = [...this.inFlight];
    const key = held[pick % Math.max(1, held.length)];
    if (key === undefined) return undefined;
    this.inFlight.delete(key);
    this.queue.done(key);
    return key;
  }
}

describe("WorkQueue properties", () => {
  test("with add/get/done only, the queue matches a FIFO set model", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(addOnlyOpArb, { maxLength: 60 }), async (ops) => {
        const queue = new WorkQueue<string>({ clock: new FakeClock() });
        const workers = new Workers(queue);
        // Model: keys ready for a worker (in order) and held keys added again.
        const ready = new Set<string>();
        const dirty = new Set<string>();
        workers.onHandout = (key) => {
          const first = ready.values().next().value;
          if (key !== first) workers.violations.push(`${key} handed out before ${first}`);
          ready.delete(key);
        };
        for (const op of ops) {
          workers.step++;
          if (op.kind === "add") {
            if (workers.inFlight.has(op.key)) dirty.add(op.key);
            else ready.add(op.key);
            queue.add(op.key);
          } else if (op.kind === "get") {
            workers.get();
          } else if (op.kind === "done") {
            const key = workers.done(op.pick);
            if (key !== undefined && dirty.delete(key)) ready.add(key);
          }
          await flush();
          assert.deepEqual(workers.violations, []);
          assert.equal(queue.length, ready.size, "each ready key is queued exactly once");
          assert.equal(queue.processing, workers.inFlight.size);
        }
        queue.shutdown();
      }),
      { numRuns: 300 },
    );
  });

  test("under any operations a key is held by one worker and every add is processed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyOpArb, { maxLength: 80 }), async (ops) => {
        const clock = new FakeClock();
        const queue = new WorkQueue<string>({ clock });
        const workers = new Workers(queue);
        const lastAdd = new Map<string, number>();
        for (const op of ops) {
          workers.step++;
          switch (op.kind) {
            case "add":
              queue.add(op.key);
              lastAdd.set(op.key, workers.step);
              break;
            case "addAfter":
              queue.addAfter(op.key, op.ms);
              lastAdd.set(op.key, workers.step);
              break;
            case "addRateLimited":
              queue.addRateLimited(op.key);
              lastAdd.set(op.key, workers.step);
              break;
            case "forget":
              queue.forget(op.key);
              break;
            case "get":
              workers.get();
              break;
            case "done":
              workers.done(op.pick);
              break;
            case "advance":
              clock.advance(op.ms);
              break;
          }
          await flush();
          assert.deepEqual(workers.violations, []);
        }

        // Ready keys are distinct: taking `length` of them empties the queue.
        const readyCount = queue.length;
        const taken = new Set<string>();
        for (let i = 0; i < readyCount; i++) {
          const key = await queue.get();
          assert.ok(key !== undefined && !taken.has(key) && !workers.inFlight.has(key));
          taken.add(key);
          workers.handouts.push({ key, step: workers.step });
        }
        assert.equal(queue.length, 0);
        for (const key of taken) queue.done(key);

        // Let every worker finish and every back-off expire, with no new adds.
        const busy = () => queue.length + queue.processing + clock.pendingTimers > 0;
        for (let round = 0; round === 0 || (busy() && round < 100); round++) {
          workers.step++;
          for (let i = 0; i < MAX_GETTERS; i++) workers.get();
          while (workers.inFlight.size > 0) workers.done(0);
          clock.advance(1_000_000);
          await flush();
          assert.deepEqual(workers.violations, []);
        }
        assert.equal(busy(), false, "the queue settles once adds stop");

        for (const [key, step] of lastAdd) {
          const after = workers.handouts.some((h) => h.key === key && h.step >= step);
          assert.ok(after, `${key} last added at step ${step} was processed afterwards`);
        }
        queue.shutdown();
        await flush();
      }),
      { numRuns: 300 },
    );
  });

  test("the n-th consecutive rate-limited add waits min(5 ms·2^(n-1), 1000 s)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 64 }), async (n) => {
        const clock = new FakeClock();
        const queue = new WorkQueue<string>({ clock });
        for (let i = 1; i < n; i++) queue.addRateLimited("a");
        clock.advance(5);
        while (queue.length > 0) queue.done((await queue.get()) ?? "");
        queue.addRateLimited("a");
        const expected = Math.min(5 * 2 ** (n - 1), 1_000_000);
        assert.equal(clock.pendingTimers, 1);
        clock.advance(expected - 1);
        assert.equal(queue.length, 0, `not ready before ${expected} ms`);
        clock.advance(1);
        assert.equal(queue.length, 1, `ready at ${expected} ms`);
        assert.equal(queue.retries("a"), n);
        queue.shutdown();
      }),
      { numRuns: 100 },
    );
  });

  test("exponentialBackoff() doubles from 5 ms, caps at 1000 s, and forget() restarts it", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 80 }), (failOrForget) => {
        const limiter = exponentialBackoff<string>();
        let failures = 0;
        let previous: number | undefined;
        for (const fail of failOrForget) {
          if (!fail) {
            limiter.forget("k");
            failures = 0;
            previous = undefined;
            assert.equal(limiter.retries("k"), 0);
            continue;
          }
          const delay = limiter.when("k");
          failures++;
          assert.equal(limiter.retries("k"), failures);
          const expected = previous === undefined ? 5 : Math.min(previous * 2, 1_000_000);
          assert.equal(delay, expected);
          previous = delay;
        }
        assert.equal(limiter.retries("other"), 0, "failures are counted per key");
      }),
    );
  });

  test("a key delayed several times becomes ready at the earliest deadline, once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 1, maxLength: 8 }),
        async (delays) => {
          const clock = new FakeClock();
          const queue = new WorkQueue<string>({ clock });
          for (const ms of delays) queue.addAfter("a", ms);
          const earliest = Math.min(...delays);
          clock.advance(earliest - 1);
          assert.equal(queue.length, 0);
          clock.advance(1);
          assert.equal(queue.length, 1);
          queue.done((await queue.get()) ?? "");
          clock.advance(2_000);
          assert.equal(queue.length, 0, "later deadlines do not queue it again");
          queue.shutdown();
        },
      ),
    );
  });
});
