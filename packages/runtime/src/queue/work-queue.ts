/**
 * The work queue between watch events and reconcilers.
 *
 * Guarantees:
 * - A key waits in the queue at most once: ten events for one object before a
 *   worker is free cost one reconcile, not ten.
 * - A key is handed to one worker at a time. Adding it while it is being
 *   processed marks it dirty, and `done(key)` queues it again, so the change
 *   that arrived mid-reconcile is never lost.
 * - Keys from `add()` (something changed) are served before keys whose retry
 *   back-off or requeue delay ran out, so a storm of retries cannot starve
 *   fresh changes.
 * - `addAfter` keeps only the earliest pending deadline per key: one reconcile
 *   at the earlier time observes everything a later one would.
 *
 * Keys are compared with `SameValueZero` (strings in practice: "ns/name") and
 * must not be `undefined`, which `get()` uses to say the queue shut down.
 */

import { type Clock, systemClock, type TimerHandle } from "../time/clock.ts";
import { type InFlightWork, noopQueueMetrics, type QueueMetrics } from "./metrics.ts";
import { exponentialBackoff, type RateLimiter } from "./rate-limiter.ts";

export interface WorkQueueOptions<K> {
  /**
   * Source of time and timers.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Decides the delay of `addRateLimited`.
   * @default exponentialBackoff() (5 ms doubling to 1000 s)
   */
  rateLimiter?: RateLimiter<K>;
  /**
   * Receives depth, adds, latencies and retries.
   * @default noopQueueMetrics
   */
  metrics?: QueueMetrics;
}

type Lane = "fresh" | "retry";

interface Delayed {
  readonly at: number;
  readonly timer: TimerHandle;
}

export class WorkQueue<K = string> {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter<K>;
  readonly #metrics: QueueMetrics;

  // Insertion-ordered sets: FIFO within a lane, O(1) dedupe and promotion.
  readonly #fresh = new Set<K>();
  readonly #retry = new Set<K>();
  /** Key → when its worker got it. */
  readonly #processing = new Map<K, number>();
  /** Keys added while being processed, and the lane they go back to on `done`. */
  readonly #dirtyWhileProcessing = new Map<K, Lane>();
  /** Key → when it last entered the queue, for queue latency. */
  readonly #enqueuedAt = new Map<K, number>();
  readonly #delayed = new Map<K, Delayed>();
  readonly #getters: Array<(key: K | undefined) => void> = [];
  readonly #drainWaiters: Array<() => void> = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#limiter = options.rateLimiter ?? exponentialBackoff<K>();
    this.#metrics = options.metrics ?? noopQueueMetrics;
    this.#metrics.observeInFlight(() => this.#inFlight());
  }

  /** Keys waiting for a worker (not counting delayed ones). */
  get length(): number {
    return this.#fresh.size + this.#retry.size;
  }

  /** Keys currently held by workers. */
  get processing(): number {
    return this.#processing.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Queues `key` now, in the fresh lane. Ignored after shutdown. */
  add(key: K): void {
    if (this.#shuttingDown) return;
    this.#enqueue(key, "fresh");
    this.#dispatch();
  }

  /**
   * Queues `key` after `ms` milliseconds, in the retry lane. If the key already
   * has a pending delay, the earlier deadline wins.
   */
  addAfter(key: K, ms: number): void {
    if (Number.isNaN(ms)) throw new RangeError(`WorkQueue.addAfter: ms must be a number, got NaN`);
    if (this.#shuttingDown) return;
    this.#metrics.retried();
    if (ms <= 0) {
      this.#enqueue(key, "retry");
      this.#dispatch();
      return;
    }
    const at = this.#clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#clock.clearTimeout(existing.timer);
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.#enqueue(key, "retry");
      this.#dispatch();
    }, ms);
    this.#delayed.set(key, { at, timer });
  }

  /** Queues `key` after its back-off delay, and counts one more failure for it. */
  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Resets the back-off of `key`; call it when `key` was processed successfully. */
  forget(key: K): void {
    this.#limiter.forget(key);
  }

  /** Failures counted for `key` since it was last forgotten. */
  retries(key: K): number {
    return this.#limiter.retries(key);
  }

  /**
   * The next key to process, waiting for one if the queue is empty, or
   * `undefined` once the queue is shut down. The caller must call `done(key)`.
   */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) {
      this.#reportDepth();
      return Promise.resolve(key.value);
    }
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /**
   * Marks `key` as no longer processed. If it was added meanwhile it is queued
   * again now. Calling it for a key not being processed does nothing.
   */
  done(key: K): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#metrics.workDuration((this.#clock.now() - started) / 1000);
    const lane = this.#dirtyWhileProcessing.get(key);
    if (lane !== undefined) {
      this.#dirtyWhileProcessing.delete(key);
      this.#laneOf(lane).add(key);
      this.#dispatch();
    }
    if (this.#shuttingDown && this.#processing.size === 0) {
      for (const resolve of this.#drainWaiters.splice(0)) resolve();
    }
  }

  /**
   * Stops the queue: waiting and future `get()` calls return `undefined`,
   * adds are ignored, and queued and delayed keys are dropped. Dropping is
   * safe because reconciling is level-driven: the next start lists every
   * object again.
   */
  shutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) this.#clock.clearTimeout(timer);
    this.#delayed.clear();
    this.#fresh.clear();
    this.#retry.clear();
    this.#dirtyWhileProcessing.clear();
    this.#enqueuedAt.clear();
    this.#reportDepth();
    for (const resolve of this.#getters.splice(0)) resolve(undefined);
  }

  /** Like `shutdown()`, then resolves once every key handed out is `done`. */
  shutdownWithDrain(): Promise<void> {
    this.shutdown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #laneOf(lane: Lane): Set<K> {
    return lane === "fresh" ? this.#fresh : this.#retry;
  }

  #enqueue(key: K, lane: Lane): void {
    if (this.#processing.has(key)) {
      const pending = this.#dirtyWhileProcessing.get(key);
      if (pending === undefined) this.#markEntered(key);
      if (pending !== "fresh") this.#dirtyWhileProcessing.set(key, lane);
      return;
    }
    if (this.#fresh.has(key)) return;
    if (this.#retry.has(key)) {
      // A new change outranks a retry of an older one.
      if (lane === "fresh") {
        this.#retry.delete(key);
        this.#fresh.add(key);
      }
      return;
    }
    this.#markEntered(key);
    this.#laneOf(lane).add(key);
  }

  #markEntered(key: K): void {
    this.#enqueuedAt.set(key, this.#clock.now());
    this.#metrics.added();
  }

  /** Hands queued keys to waiting `get()` calls. */
  #dispatch(): void {
    while (this.#getters.length > 0) {
      const key = this.#take();
      if (key === undefined) break;
      this.#getters.shift()?.(key.value);
    }
    this.#reportDepth();
  }

  /** Removes the next key from the lanes and marks it processing; boxed so `K` may include `undefined`. */
  #take(): { value: K } | undefined {
    const lane = this.#fresh.size > 0 ? this.#fresh : this.#retry;
    const next = lane.values().next();
    if (next.done) return undefined;
    const key = next.value;
    lane.delete(key);
    const now = this.#clock.now();
    const entered = this.#enqueuedAt.get(key) ?? now;
    this.#enqueuedAt.delete(key);
    this.#metrics.queueLatency((now - entered) / 1000);
    this.#processing.set(key, now);
    return { value: key };
  }

  #reportDepth(): void {
    // Counts keys dirtied while processing too, as client-go's depth does.
    this.#metrics.depth(this.length + this.#dirtyWhileProcessing.size);
  }

  #inFlight(): InFlightWork {
    const now = this.#clock.now();
    let unfinishedSeconds = 0;
    let longestRunningSeconds = 0;
    for (const started of this.#processing.values()) {
      const seconds = (now - started) / 1000;
      unfinishedSeconds += seconds;
      longestRunningSeconds = Math.max(longestRunningSeconds, seconds);
    }
    return { unfinishedSeconds, longestRunningSeconds };
  }
}
