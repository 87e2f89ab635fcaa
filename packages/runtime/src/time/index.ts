/**
 * time: the one `Clock` (monotonic, injectable) and the one exponential
 * back-off curve that the queue, the watcher, leader election and the
 * manager share. The fake clock for tests is in `@ballast/runtime/testing`.
 */
export { Backoff, type BackoffCurve, type BackoffOptions, backoffDelay } from "./backoff.ts";
export { type Clock, systemClock, type TimerHandle } from "./clock.ts";
export { sleep } from "./sleep.ts";
