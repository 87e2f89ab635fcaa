/**
 * Reconnect back-off of the watcher: exponential from `initialMs` to `maxMs`,
 * with jitter so that many operators cut off by one API server restart do not
 * come back in lockstep.
 */

export interface BackoffOptions {
  /** @default 800 */
  initialMs?: number;
  /** @default 30000 */
  maxMs?: number;
  /** Up to this fraction is added at random to each delay. @default 0.5 */
  jitter?: number;
  /** A connection that stayed up this long resets the back-off. @default 120000 */
  resetAfterMs?: number;
}

export class Backoff {
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
    const exponent = Math.min(this.#failures, 30);
    this.#failures += 1;
    const base = Math.min(this.maxMs, this.initialMs * 2 ** exponent);
    return Math.min(this.maxMs, base * (1 + this.jitter * this.#random()));
  }

  /** A connection that lived `healthyForMs` resets the count if it was long enough. */
  connectionEnded(healthyForMs: number): void {
    if (healthyForMs >= this.resetAfterMs) this.#failures = 0;
  }

  reset(): void {
    this.#failures = 0;
  }
}
