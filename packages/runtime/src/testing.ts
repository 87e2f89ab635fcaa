/**
 * `@ballast/runtime/testing`: helpers for tests of code built on the
 * runtime, kept out of the production entry.
 *
 * - `FakeClock`: a `Clock` that moves only on `advance(ms)`, for the work
 *   queue, the watcher and anything else that takes a clock, so back-off
 *   and requeue timing are tested without sleeping.
 * - `sampleMetric`: one series' value read back from a registry.
 */
export { sampleMetric } from "./metrics/sample.ts";
export { FakeClock } from "./time/fake-clock.ts";
