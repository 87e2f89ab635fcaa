/**
 * controller: informers → work queue → workers → your reconciler. Build one
 * with `controller(client, Kind).owns(...).build(reconcile)` and run it alone
 * (`run(signal)`) or under a `Manager`.
 */
export { ControllerBuilder, controller, type WatchOptions } from "./builder.ts";
export {
  type CacheReader,
  Controller,
  type ControllerContext,
  ControllerError,
  type ControllerOptions,
  type ControllerReconciler,
  type ControllerSpec,
  type RunOptions,
  type Source,
} from "./controller.ts";
export { allOf, generationChanged, type Predicate } from "./predicate.ts";
