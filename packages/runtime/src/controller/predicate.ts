/**
 * Predicates filter the events of the primary kind before they reach the
 * queue. They only save work: a reconcile skipped by a predicate must be
 * one that would have changed nothing, because the reconciler never learns
 * which events were dropped.
 */
import type { KubeObject } from "../client/types.ts";

/** Answers whether an event should enqueue its object; an absent method lets the event through. */
export interface Predicate<T extends KubeObject = KubeObject> {
  create?(object: T): boolean;
  update?(previous: T, current: T): boolean;
  delete?(object: T): boolean;
}

/**
 * Passes updates only when `metadata.generation` changed, i.e. the spec did,
 * so a controller's own status writes do not wake it up again. Opt-in, as in
 * controller-runtime: it also hides label, annotation and finalizer changes,
 * and kinds without a status subresource bump the generation on every write.
 * Objects without a generation (most built-in kinds before they are
 * persisted) always pass.
 */
export const generationChanged: Predicate = Object.freeze({
  update(previous: KubeObject, current: KubeObject): boolean {
    const before = previous.metadata.generation;
    const after = current.metadata.generation;
    if (before === undefined || after === undefined) return true;
    return before !== after;
  },
});

/** Passes an event only if every predicate passes it. */
export function allOf<T extends KubeObject>(
  predicates: readonly Predicate<T>[],
): Required<Predicate<T>> {
  return {
    create: (object) => predicates.every((p) => p.create?.(object) ?? true),
    update: (previous, current) => predicates.every((p) => p.update?.(previous, current) ?? true),
    delete: (object) => predicates.every((p) => p.delete?.(object) ?? true),
  };
}
