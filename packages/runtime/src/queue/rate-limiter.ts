/**
 * Per-key retry delays. A key that keeps failing waits twice as long each
 * time, so one broken object cannot keep a worker busy, while a key that fails
 * once is retried almost at once. `forget` on success starts it over.
 */

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
}

/** The delay after `failures` earlier failures: base·2^failures, capped at max. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  // 2 ** n overflows to Infinity for large n; Math.min still caps it.
  return Math.min(baseMs * 2 ** failures, maxMs);
}

/** Exponential back-off per key, the same curve as client-go's default controller limiter. */
export function exponentialBackoff<K>(options: ExponentialBackoffOptions = {}): RateLimiter<K> {
  const baseMs = options.baseMs ?? 5;
  const maxMs = options.maxMs ?? 1_000_000;
  if (!(baseMs > 0)) throw new RangeError(`exponentialBackoff: baseMs must be > 0, got ${baseMs}`);
  if (!(maxMs >= baseMs)) {
    throw new RangeError(`exponentialBackoff: maxMs must be >= baseMs (${baseMs}), got ${maxMs}`);
  }
  const failures = new Map<K, number>();
  return {
    when(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      return backoffDelay(n, baseMs, maxMs);
    },
    forget(key) {
      failures.delete(key);
    },
    retries(key) {
      return failures.get(key) ?? 0;
    },
  };
}
