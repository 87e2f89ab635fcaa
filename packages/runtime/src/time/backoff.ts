/**
 * Exponential back-off: the one curve the runtime retries on. The work
 * queue's per-key limiter (`exponentialBackoff()`) and the watcher's
 * reconnects (`Backoff`) both compute their delays with `backoffDelay`, so
 * an operator's own retries can take the same curve from here.
 */

/** A back-off curve: `initialMs · 2^failures`, capped at `maxMs`, plus optional jitter. */
export interface BackoffCurve {
  /** Delay after the first failure, in milliseconds; each further failure doubles it. */
  readonly initialMs: number;
  /** Longest delay, in milliseconds, jitter included. */
  readonly maxMs: number;
  /**
   * Up to this fraction of each delay is added at random, so that clients
   * cut off together (an API server restart) do not come back in lockstep.
   * @default 0
   */
  readonly jitter?: number;
}

/**
 * The delay before the next attempt after `failures` earlier failures (0 for
 * the first retry): `min(maxMs, initialMs · 2^failures · (1 + jitter · random()))`.
 */
export function backoffDelay(
  failures: number,
  curve: BackoffCurve,
  random: () => number = Math.random,
): number {
  const { initialMs, maxMs, jitter = 0 } = curve;
  // 2 ** n overflows to Infinity for large n; Math.min still caps it.
  const delay = Math.min(initialMs * 2 ** failures, maxMs);
  return jitter > 0 ? Math.min(maxMs, delay * (1 + jitter * random())) : delay;
}

export interface BackoffOptions {
  /** @default 800 */
  initialMs?: number;
  /** @default 30000 */
  maxMs?: number;
  /** Up to this fraction is added at random to each delay. @default 0.5 */
  jitter?: number;
  /** An attempt that stayed healthy this long resets the back-off. @default 120000 */
  resetAfterMs?: number;
}

/**
 * One sequence of failures on the curve, for something retried as a whole
 * (a connection, a call); `exponentialBackoff()` keeps one count per key
 * instead. The defaults are the watcher's reconnect timings.
 */
export class Backoff implements BackoffCurve {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly jitter: number;
  readonly resetAfterMs: number;
  #failures = 0;
  readonly #random: () => number;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.initialMs = options.initialMs ?? 800;
    this.maxMs = options.maxMs ?? 30_000;
    this.jitter = options.jitter ?? 0.5;
    this.resetAfterMs = options.resetAfterMs ?? 120_000;
    this.#random = random;
  }

  get failures(): number {
    return this.#failures;
  }

  /** Records one failure and says how long to wait before the next attempt. */
  next(): number {
    const delay = backoffDelay(this.#failures, this, this.#random);
    this.#failures += 1;
    return delay;
  }

  /** An attempt (a connection) that lived `healthyForMs` resets the count if that was long enough. */
  connectionEnded(healthyForMs: number): void {
    if (healthyForMs >= this.resetAfterMs) this.#failures = 0;
  }

  reset(): void {
    this.#failures = 0;
  }
}
