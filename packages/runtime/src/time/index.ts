/**
 * time: the one `Clock` (monotonic, injectable) and the one exponential
 * back-off curve that the queue, the watcher, leader election and the
 * manager share, and the cron schedules (UTC) that scheduled resources such
 * as a ScheduledBackup run on. The fake clock for tests is in
 * `@ballast/runtime/testing`.
 */
export { Backoff, type BackoffCurve, type BackoffOptions, backoffDelay } from "./backoff.ts";
export { type Clock, systemClock, type TimerHandle } from "./clock.ts";
export {
  CronParseError,
  type CronSchedule,
  latestCronTime,
  nextCronTime,
  parseCron,
} from "./cron.ts";
export { sleep } from "./sleep.ts";
