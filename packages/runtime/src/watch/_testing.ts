/**
 * Test helpers for code built on the watcher: a clock whose reconnects a
 * test can hold, so it can change the cluster while a watch is down.
 */
import { realClock, type WatchClock } from "./watcher.ts";

export interface HeldClock extends WatchClock {
  /** From now on, every reconnect waits until `release()`. */
  hold(): void;
  release(): void;
  /** Reconnects currently held. */
  readonly waiting: number;
}

export function holdableClock(base: WatchClock = realClock): HeldClock {
  let gate: PromiseWithResolvers<void> | undefined;
  let waiting = 0;
  return {
    now: () => base.now(),
    setTimeout: (callback, ms) => base.setTimeout(callback, ms),
    clearTimeout: (handle) => base.clearTimeout(handle),
    sleep: async (ms, signal) => {
      if (gate) {
        waiting += 1;
        try {
          await Promise.race([
            gate.promise,
            new Promise((_resolve, reject) =>
              signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
            ),
          ]);
        } finally {
          waiting -= 1;
        }
      }
      await base.sleep(ms, signal);
    },
    hold: () => {
      gate ??= Promise.withResolvers<void>();
    },
    release: () => {
      gate?.resolve();
      gate = undefined;
    },
    get waiting() {
      return waiting;
    },
  };
}
