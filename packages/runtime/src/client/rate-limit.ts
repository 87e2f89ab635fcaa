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
  /**
   * What one bucket covers. `"resource"`: each API resource (group and
   * plural; its subresources included) has its own `qps`/`burst`, which is
   * what the same numbers mean in controller-runtime, whose client holds one
   * rate-limited REST client per kind. `"client"`: one bucket for every
   * request of this client, a hard ceiling on what the process sends.
   * @default "resource"
   */
  per?: "resource" | "client";
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

/**
 * Client-side rate limits keyed by what a request addresses: one bucket for the whole
 * client, or one per API resource (see `RateLimitOptions.per`).
 */
export class ClientRateLimiter {
  readonly #options: RateLimitOptions;
  readonly #clock: LimiterClock;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: RateLimitOptions = {}, clock: LimiterClock = realClock) {
    // Fail at construction, not on the first request.
    new TokenBucket(options, clock);
    this.#options = options;
    this.#clock = clock;
  }

  /** Takes a token from the bucket that covers a request to `path`. */
  take(path: string, signal?: AbortSignal): Promise<void> {
    const key = this.#options.per === "client" ? "" : resourceOfPath(path);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.#options, this.#clock);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(signal);
  }
}

/**
 * The API resource a request path addresses, as `group/plural` (`/plural`
 * for the core group), or the path's first segments for anything that is not
 * a resource (discovery, /version): `/apis/apps/v1/namespaces/x/deployments/y/scale`
 * → `apps/deployments`.
 */
export function resourceOfPath(path: string): string {
  const segments = (path.split("?", 1)[0] ?? "").split("/").filter(Boolean);
  let rest: string[];
  let group: string;
  if (segments[0] === "api") {
    group = "";
    rest = segments.slice(2);
  } else if (segments[0] === "apis") {
    group = segments[1] ?? "";
    rest = segments.slice(3);
  } else return segments.slice(0, 2).join("/");
  // Discovery of a group or version: no resource in the path.
  if (rest.length === 0) return segments.join("/");
  // `namespaces/<ns>/<plural>/…`, but not `namespaces` or `namespaces/<ns>` (the Namespace itself).
  const plural = rest[0] === "namespaces" && rest.length > 2 ? rest[2] : rest[0];
  return `${group}/${plural}`;
}
