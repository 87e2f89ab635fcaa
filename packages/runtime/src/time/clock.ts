/**
 * The one notion of time in the runtime. The work queue, the watcher, leader
 * election and the manager never read the global clock or set a global
 * timer themselves: they take a `Clock`, so tests pass a fake one (see
 * `@ballast/runtime/testing`) and move time by hand instead of sleeping.
 */

/** An opaque timer handle, only ever given back to the clock that made it. */
export type TimerHandle = unknown;

export interface Clock {
  /**
   * Monotonic milliseconds since an arbitrary origin; only differences
   * matter. Never jumps when NTP sets the wall clock, so deadlines and
   * back-off do not either.
   */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /**
   * Waits `ms`, rejecting with `signal.reason` once `signal` aborts. Optional:
   * `sleep()` builds it from `setTimeout`; a clock implements it only to
   * intercept waits (a test holding a watcher's reconnects).
   */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock: `performance.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
