/**
 * What the work queue reports about itself. The queue knows nothing about
 * Prometheus: it calls these hooks and `metrics/` turns them into the
 * `workqueue_*` series that controller-runtime dashboards already chart.
 */

/** Work handed to workers and not yet marked done, measured when asked. */
export interface InFlightWork {
  /** Sum over in-flight keys of how long each has been processing, in seconds. */
  unfinishedSeconds: number;
  /** How long the oldest in-flight key has been processing, in seconds (0 when idle). */
  longestRunningSeconds: number;
}

export interface QueueMetrics {
  /**
   * Called once when the queue is created. In-flight time grows without any
   * event, so rather than run a timer the queue hands over a probe the sink
   * reads whenever it is scraped.
   */
  observeInFlight(probe: () => InFlightWork): void;
  /** The number of keys waiting for a worker changed to `count`. */
  depth(count: number): void;
  /** A key entered the queue (a repeated add of a waiting key is not counted). */
  added(): void;
  /** A key waited `seconds` between entering the queue and being handed to a worker. */
  queueLatency(seconds: number): void;
  /** A worker held a key for `seconds` before calling `done`. */
  workDuration(seconds: number): void;
  /** A key was scheduled for a delayed retry (`addAfter` / `addRateLimited`). */
  retried(): void;
}

/** Hooks that record nothing; the default. */
export const noopQueueMetrics: QueueMetrics = {
  observeInFlight() {},
  depth() {},
  added() {},
  queueLatency() {},
  workDuration() {},
  retried() {},
};
