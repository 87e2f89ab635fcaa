/** Waiting on a `Clock`, cancellable the way `node:timers/promises` is. */
import type { Clock } from "./clock.ts";

/**
 * Resolves after `ms` on `clock`; rejects with `signal.reason` when `signal`
 * aborts (at once if it already has). Uses the clock's own `sleep` when it
 * has one.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (clock.sleep) return clock.sleep(ms, signal ?? new AbortController().signal);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
