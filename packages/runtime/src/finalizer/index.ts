/**
 * finalizer: run cleanup before Kubernetes deletes an object, adding and
 * removing only this controller's finalizer, with guarded JSON patches.
 */
export {
  type FinalizerClient,
  FinalizerError,
  type FinalizerHandlers,
  type FinalizerStep,
  finalize,
} from "./finalize.ts";
