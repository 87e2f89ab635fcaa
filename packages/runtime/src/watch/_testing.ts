/**
 * Test helpers for code built on the watcher: a clock whose reconnects a
 * test can hold, so it can change the cluster while a watch is down, and a
 * recorder of the lists and watches a process sends.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { type Clock, systemClock } from "../time/clock.ts";
import { sleep } from "../time/sleep.ts";

export interface HeldClock extends Clock {
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** From now on, every reconnect waits until `release()`. */
  hold(): void;
  release(): void;
  /** Reconnects currently held. */
  readonly waiting: number;
}

export function holdableClock(base: Clock = systemClock): HeldClock {
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
      await sleep(base, ms, signal);
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

export interface ListWatchRequest {
  readonly verb: "list" | "watch";
  /** The request's label selector; `""` for none. */
  readonly labelSelector: string;
}

/**
 * Records every list and watch (GET) of the collection at `path` (such as
 * `/api/v1/namespaces/x/pods`) that this process sends from now until
 * `stop()`, as Node's HTTP client announces them on its diagnostics channel.
 */
export function recordListWatches(path: string): {
  readonly requests: readonly ListWatchRequest[];
  stop(): void;
} {
  const requests: ListWatchRequest[] = [];
  const onRequest = (message: unknown) => {
    const { request } = message as { request: { method: string; path: string } };
    const url = new URL(request.path, "https://api.invalid");
    if (request.method !== "GET" || url.pathname !== path) return;
    const watch = url.searchParams.get("watch");
    requests.push({
      verb: watch === "1" || watch === "true" ? "watch" : "list",
      labelSelector: url.searchParams.get("labelSelector") ?? "",
    });
  };
  subscribe("http.client.request.start", onRequest);
  return { requests, stop: () => unsubscribe("http.client.request.start", onRequest) };
}
