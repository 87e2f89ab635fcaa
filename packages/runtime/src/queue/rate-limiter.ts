/**
 * Per-key retry delays. A key that keeps failing waits twice as long each
 * time, so one broken object cannot keep a worker busy, while a key that fails
 * once is retried almost at once. `forget` on success starts it over. The
 * curve is `time/`'s `backoffDelay`, the same one the watcher reconnects on.
 */
import { backoffDelay } from "../time/backoff.ts";

export interface RateLimiter<K> {
  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  when(key: K): number;
  /** Clears the failure history of `key`. */
  forget(key: K): void;
  /** How many failures of `key` have been recorded since it was last forgotten. */
  retries(key: K): number;
}

export interface ExponentialBackoffOptions {
  /**
   * Delay after the first failure, in milliseconds.
   * @default 5
   */
  baseMs?: number;
  /**
   * Longest delay, in milliseconds.
   * @default 1_000_000 (1000 s)
   */
  maxMs?: number;
  /**
   * Up to this fraction of each delay is added at random (still capped at `maxMs`).
   * @default 0
   */
  jitter?: number;
}

/** Exponential back-off per key, the same curve as client-go's default controller limiter. */
export function exponentialBackoff<K>(options: ExponentialBackoffOptions = {}): RateLimiter<K> {
  const baseMs = options.baseMs ?? 5;
  const maxMs = options.maxMs ?? 1_000_000;
  const jitter = options.jitter ?? 0;
  if (!(baseMs > 0)) throw new RangeError(`exponentialBackoff: baseMs must be > 0, got ${baseMs}`);
  if (!(maxMs >= baseMs)) {
    throw new RangeError(`exponentialBackoff: maxMs must be >= baseMs (${baseMs}), got ${maxMs}`);
  }
  if (!(jitter >= 0))
    throw new RangeError(`exponentialBackoff: jitter must be >= 0, got ${jitter}`);
  const curve = { initialMs: baseMs, maxMs, jitter };
  const failures = new Map<K, number>();
  return {
    when(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      return backoffDelay(n, curve);
    },
    forget(key) {
      failures.delete(key);
    },
    retries(key) {
      return failures.get(key) ?? 0;
    },
  };
}
