/**
 * Equality of status values as the API server sees them, so a reconcile can
 * skip the write when nothing changed ("steady state costs nothing").
 */

import type { Condition } from "./conditions.ts";

/**
 * Deep equality of JSON-like values. Object key order is ignored, and a
 * property set to `undefined` counts as absent: it is not serialized, so the
 * status read back from the server never has it, and treating it as a
 * difference would cause a write on every reconcile.
 */
export function statusEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => statusEqual(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const leftKeys = definedKeys(left);
  if (leftKeys.length !== definedKeys(right).length) return false;
  return leftKeys.every((key) => right[key] !== undefined && statusEqual(left[key], right[key]));
}

function definedKeys(object: Record<string, unknown>): string[] {
  return Object.keys(object).filter((key) => object[key] !== undefined);
}

/**
 * True if two condition lists hold the same conditions, in any order.
 * Kubernetes treats `conditions` as a map keyed by `type`, so order carries no
 * meaning.
 */
export function conditionsEqual(
  a: readonly Condition[] | undefined,
  b: readonly Condition[] | undefined,
): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  const unmatched = [...right];
  for (const condition of left) {
    const i = unmatched.findIndex((other) => statusEqual(condition, other));
    if (i < 0) return false;
    unmatched.splice(i, 1);
  }
  return true;
}
