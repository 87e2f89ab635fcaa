/**
 * The reconcile contract.
 *
 * A reconciler is called with the *name* of an object, never with the event
 * that caused the call. Events are only hints that something may have changed;
 * several are merged into one call, and some are never seen at all (a missed
 * watch, a restart). So a reconciler is level-driven: it reads the current
 * state (the object, what it owns, the data system), compares it with the
 * desired state, and acts on the difference. Given the same observations it
 * reaches the same decision, however it got there.
 *
 * A reconciler may be killed at any line (a crash, a lost leader lease, a
 * rollout of the operator). Every write must therefore be idempotent, and the
 * progress of a multi-step operation must be recorded in the object's
 * `.status`, never only in memory, so the next call can resume it.
 *
 * For one object, calls never overlap: the work queue hands a key to one
 * worker at a time. Calls for different objects run concurrently.
 *
 * Outcomes:
 * - return `Action.done()`: the object is in its desired state (or waiting on
 *   something that will produce a watch event);
 * - return `Action.requeueAfter(ms)`: check again later even without an event;
 * - throw: the `ErrorPolicy` decides; by default a `TerminalError` is not
 *   retried and anything else is retried with per-object exponential back-off.
 */

import { Action } from "./action.ts";
import type { ObjectRef } from "./object-ref.ts";
import { isTerminalError } from "./terminal-error.ts";

/** Structured fields attached to a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** The smallest logger a reconciler needs; adapt any logging library to it. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A logger that drops everything. */
export const noopLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

export interface ReconcileContext {
  /**
   * Aborted when the reconcile should stop early (shutdown, lost leadership).
   * Pass it to every call that can wait.
   */
  readonly signal: AbortSignal;
  /** A logger already carrying the controller name and object key. */
  readonly log: Logger;
}

/**
 * Brings the object named by `ref` towards its desired state.
 *
 * The type parameter only documents which resource the reconciler is written
 * for (`Reconciler<KafkaCluster>`); it is unused because the call carries the
 * object's name, not the object (see the contract above).
 */
export type Reconciler<_Resource = unknown> = (
  ref: ObjectRef,
  ctx: ReconcileContext,
) => Promise<Action>;

/**
 * Decides what happens after a reconcile throws: an `Action` (including
 * `Action.done()` to stop retrying), or `"backoff"` to retry after the object's
 * next exponential back-off delay. `retries` counts earlier consecutive failures.
 */
export type ErrorPolicy = (error: unknown, ref: ObjectRef, retries: number) => Action | "backoff";

/** Gives up on `TerminalError`s (anywhere in the `cause` chain); backs off on everything else. */
export const defaultErrorPolicy: ErrorPolicy = (error) =>
  isTerminalError(error) ? Action.done() : "backoff";
