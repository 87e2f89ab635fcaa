/**
 * metrics: Prometheus metrics with controller-runtime's names, and the
 * adapter that feeds work-queue metrics into them.
 */

export {
  type ControllerMetrics,
  type LeaderElectionMetrics,
  MetricsRegistry,
  type MetricsRegistryOptions,
  type ReconcileOutcome,
  type ReconcileResult,
} from "./registry.ts";
