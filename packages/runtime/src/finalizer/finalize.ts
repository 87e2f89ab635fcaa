/**
 * `finalize()`: run a reconciler behind a finalizer, so the operator gets to
 * clean up (delete a bucket, deregister a broker) before Kubernetes forgets
 * the object.
 */
import type { KubeClient } from "../client/client.ts";
import { isNotFound } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import { Action } from "../reconcile/action.ts";

/** The two halves of a finalized reconciler. */
export interface FinalizerHandlers<K extends KubeObject> {
  /** Brings a live object (not being deleted, finalizer present) towards its desired state. */
  apply(obj: K): Promise<Action>;
  /**
   * Releases what the object holds outside Kubernetes. Return `Action.done()`
   * when nothing is left, so the finalizer is removed; return
   * `Action.requeueAfter(ms)` to be called again later with the finalizer kept.
   */
  cleanup(obj: K): Promise<Action>;
}

/** Which step of `finalize()` failed. */
export type FinalizerStep = "apply" | "cleanup" | "addFinalizer" | "removeFinalizer";

/**
 * A step of `finalize()` failed; `cause` holds the original error (so
 * `isTerminalError`, which follows causes, still sees a `TerminalError`
 * thrown by `apply` or `cleanup`).
 */
export class FinalizerError extends Error {
  override name = "FinalizerError";
  readonly step: FinalizerStep;
  readonly finalizer: string;

  constructor(step: FinalizerStep, finalizer: string, object: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`finalizer ${finalizer} on ${object}: ${step} failed: ${why}`, { cause });
    this.step = step;
    this.finalizer = finalizer;
  }
}

/** The client calls `finalize()` makes; a `KubeClient` has them. */
export type FinalizerClient = Pick<KubeClient, "patch">;

type JsonPatchOp =
  | { op: "test"; path: string; value: unknown }
  | { op: "add"; path: string; value: unknown }
  | { op: "remove"; path: string };

/**
 * Reconciles `obj` behind the finalizer `finalizerName`: `handlers.apply`
 * while the object lives, `handlers.cleanup` once it is being deleted, and
 * only then lets Kubernetes delete it.
 *
 * ## Expected flow
 *
 * 1. A new object has no finalizer: `finalize()` adds `finalizerName` and
 *    returns `Action.done()` without calling `apply`. The write produces a
 *    watch event, and the next reconcile sees the finalizer.
 * 2. While the object is not being deleted and carries the finalizer, every
 *    reconcile calls `apply(obj)` and returns its action.
 * 3. Someone deletes the object. Kubernetes only sets
 *    `metadata.deletionTimestamp`, because a finalizer is present.
 * 4. The next reconcile calls `cleanup(obj)`. When it returns `Action.done()`
 *    our finalizer is removed; once no finalizer is left Kubernetes deletes
 *    the object. Any other action is returned as is, finalizer kept.
 * 5. A reconcile of an object being deleted that no longer has our finalizer
 *    (ours is done, another controller's is not) does nothing.
 *
 * ## Guarantees
 *
 * - `cleanup` runs, at least once, for every object `apply` ever saw: `apply`
 *   is never called before the finalizer is stored.
 * - Only our finalizer is ever added or removed. Both writes are JSON patches
 *   that first `test` the exact finalizer list the decision was made from, so
 *   a list changed meanwhile by another controller makes the patch fail
 *   (the reconcile is retried from fresh state) instead of clobbering it.
 * - An error or a non-`done` action from `cleanup` keeps the finalizer; the
 *   object stays until `cleanup` succeeds.
 * - Errors come back as `FinalizerError` naming the step, with the original
 *   error as `cause`.
 *
 * ## Assumptions
 *
 * - `obj` is a recent read of the object (from the cache is fine); a stale
 *   finalizer list only costs a failed patch and a retry.
 * - `finalizerName` is used by this controller alone, and is a qualified
 *   name such as `kafka.ballast.dev/cleanup`.
 * - `cleanup` is idempotent: it may run again after it succeeded if the
 *   finalizer removal failed or the process died in between.
 *
 * ## Caveats
 *
 * - An object whose `cleanup` never succeeds is never deleted; surface why
 *   in its status or an event so a human can act.
 * - Objects created while the controller was not running and deleted before
 *   it started never get a finalizer, so `cleanup` never sees them.
 * - Removing the finalizer by hand (`kubectl patch`) skips `cleanup`.
 */
export async function finalize<K extends KubeObject>(
  client: FinalizerClient,
  obj: K,
  finalizerName: string,
  handlers: FinalizerHandlers<K>,
): Promise<Action> {
  if (!finalizerName) throw new TypeError("finalize: finalizerName must not be empty");
  const { name, namespace } = obj.metadata;
  if (!name) throw new TypeError(`finalize: ${obj.kind} has no metadata.name`);
  const described = `${obj.kind} ${namespace ? `${namespace}/` : ""}${name}`;
  const finalizers = obj.metadata.finalizers ?? [];
  const ours = finalizers.includes(finalizerName);
  const deleting = Boolean(obj.metadata.deletionTimestamp);

  const step = async <T>(which: FinalizerStep, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw new FinalizerError(which, finalizerName, described, error);
    }
  };
  const patch = (ops: JsonPatchOp[]) =>
    client.patch({ apiVersion: obj.apiVersion, kind: obj.kind }, { name, namespace }, ops, {
      type: "json",
    });

  if (!deleting) {
    if (ours) return step("apply", () => handlers.apply(obj));
    await step("addFinalizer", () => patch(addOps(finalizers, finalizerName)));
    return Action.done();
  }
  if (!ours) return Action.done();

  const action = await step("cleanup", () => handlers.cleanup(obj));
  if (action.kind !== "done") return action;
  await step("removeFinalizer", async () => {
    try {
      await patch(removeOps(finalizers, finalizerName));
    } catch (error) {
      // Gone already: the last finalizer was ours and a previous removal went through.
      if (!isNotFound(error)) throw error;
    }
  });
  return Action.done();
}

/** Adds ours if, and only if, the list is still exactly `current`. */
export function addOps(current: readonly string[], finalizerName: string): JsonPatchOp[] {
  if (current.length === 0) {
    // The API server omits an empty list, so "still empty" is tested as "absent" (null).
    return [
      { op: "test", path: "/metadata/finalizers", value: null },
      { op: "add", path: "/metadata/finalizers", value: [finalizerName] },
    ];
  }
  return [
    { op: "test", path: "/metadata/finalizers", value: [...current] },
    { op: "add", path: "/metadata/finalizers/-", value: finalizerName },
  ];
}

/**
 * Removes every copy of ours (the API server does not deduplicate
 * finalizers) if, and only if, the list is still exactly `current`; indices
 * go from last to first so each stays valid after the removals before it.
 */
export function removeOps(current: readonly string[], finalizerName: string): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [{ op: "test", path: "/metadata/finalizers", value: [...current] }];
  for (let i = current.length - 1; i >= 0; i--) {
    if (current[i] === finalizerName) ops.push({ op: "remove", path: `/metadata/finalizers/${i}` });
  }
  return ops;
}
