/**
 * reconcile: the contract between the runtime and the code that operates an
 * object. See `reconciler.ts` for the rules a reconciler must follow.
 */

export { Action } from "./action.ts";
export { InvalidObjectKeyError, type ObjectRef, objectKey, parseObjectKey } from "./object-ref.ts";
export {
  defaultErrorPolicy,
  type ErrorPolicy,
  type LogFields,
  type Logger,
  noopLogger,
  type ReconcileContext,
  type Reconciler,
} from "./reconciler.ts";
export { isTerminalError, TerminalError } from "./terminal-error.ts";
