/**
 * queue: the rate-limited, deduplicating work queue that sits between watch
 * events and reconcilers, with an injectable clock so timing is testable.
 */

export { type Clock, FakeClock, systemClock, type TimerHandle } from "./clock.ts";
export { type InFlightWork, noopQueueMetrics, type QueueMetrics } from "./metrics.ts";
export {
  backoffDelay,
  type ExponentialBackoffOptions,
  exponentialBackoff,
  type RateLimiter,
} from "./rate-limiter.ts";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.ts";
