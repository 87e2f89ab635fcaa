/**
 * queue: the rate-limited, deduplicating work queue that sits between watch
 * events and reconcilers. Its clock and back-off curve come from `time/`.
 */

export { type InFlightWork, noopQueueMetrics, type QueueMetrics } from "./metrics.ts";
export {
  type ExponentialBackoffOptions,
  exponentialBackoff,
  type RateLimiter,
} from "./rate-limiter.ts";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.ts";
