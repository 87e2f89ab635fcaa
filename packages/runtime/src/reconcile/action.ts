/**
 * What a reconcile asks for when it returns. Only two outcomes exist because
 * "retry with back-off" is not a success: a reconciler that needs it throws,
 * and the error policy decides.
 */

export type Action =
  /** Nothing more to do until something changes (a watch event requeues the object). */
  | { readonly kind: "done" }
  /** Reconcile again after `afterMs` even if nothing changes, e.g. to poll a slow operation. */
  | { readonly kind: "requeueAfter"; readonly afterMs: number };

const DONE: Action = Object.freeze({ kind: "done" });

export const Action = Object.freeze({
  /** Wait for the next change. */
  done(): Action {
    return DONE;
  },
  /** Reconcile again after `ms` milliseconds (a finite number >= 0). */
  requeueAfter(ms: number): Action {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`Action.requeueAfter: ms must be a finite number >= 0, got ${ms}`);
    }
    return Object.freeze({ kind: "requeueAfter", afterMs: ms });
  },
});
