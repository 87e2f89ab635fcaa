/**
 * A client-side token bucket, so an operator in a tight loop cannot flood the
 * API server. Same model as client-go's flowcontrol: `qps` tokens a second
 * refill a bucket of `burst`; a request takes one token or waits for it.
 * Waiters are served in arrival order, so no request starves.
 */

export interface RateLimitOptions {
  /** Sustained requests per second. @default 20 */
  qps?: number;
  /** Requests allowed at once after a quiet period. @default 30 */
  burst?: number;
}

export interface LimiterClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: LimiterClock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  #tokens: number;
  #last: number;
  readonly #clock: LimiterClock;

  constructor(options: RateLimitOptions = {}, clock: LimiterClock = realClock) {
    this.qps = options.qps ?? 20;
    this.burst = options.burst ?? 30;
    if (!(this.qps > 0) || !(this.burst >= 1)) {
      throw new RangeError(
        `rate limit needs qps > 0 and burst >= 1, got qps=${this.qps} burst=${this.burst}`,
      );
    }
    this.#clock = clock;
    this.#tokens = this.burst;
    this.#last = clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
    this.#last = now;
  }

  /**
   * Takes a token, waiting as long as needed. Tokens may go negative: each
   * waiter reserves its own future token, which keeps arrival order without a
   * queue and makes the wait a single timer.
   */
  async take(signal?: AbortSignal): Promise<void> {
    this.#refill();
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    const waitMs = (-this.#tokens / this.qps) * 1000;
    try {
      await this.#clock.sleep(waitMs, signal);
    } catch (error) {
      // Give the reservation back: an aborted request sends nothing.
      this.#tokens += 1;
      throw error;
    }
  }
}
