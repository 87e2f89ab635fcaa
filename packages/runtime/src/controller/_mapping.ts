/**
 * From a watched object to the keys of the primary objects to reconcile.
 * Pure functions, so the owner rules are tested without a cluster.
 */
import type { KubeObject, OwnerReference, ResourceType } from "../client/types.ts";
import { type ObjectRef, objectKey } from "../reconcile/object-ref.ts";

/** The API group of an apiVersion: `""` for the core group (`v1`). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/**
 * Whether `ref` names an object of `owner`'s kind. The version is ignored:
 * an owner reference written as v1beta1 still points at the same object
 * after the kind moves to v1.
 */
export function refersTo(ref: OwnerReference, owner: ResourceType): boolean {
  return ref.kind === owner.kind && groupOf(ref.apiVersion) === groupOf(owner.apiVersion);
}

/**
 * The key of the object that controls `object` (its owner reference with
 * `controller: true`), if that owner is of kind `owner`. Owner references
 * cannot cross namespaces, so a namespaced owner lives in the object's
 * namespace; a cluster-scoped owner has none.
 */
export function controllerOwnerKey(
  object: KubeObject,
  owner: ResourceType,
  ownerNamespaced: boolean,
): string | undefined {
  const ref = object.metadata.ownerReferences?.find((r) => r.controller === true);
  if (!ref || !refersTo(ref, owner)) return undefined;
  const namespace = ownerNamespaced ? object.metadata.namespace : undefined;
  return objectKey(namespace ? { namespace, name: ref.name } : { name: ref.name });
}

/** The keys of a mapping's answer, deduplicated. */
export function keysOf(refs: Iterable<ObjectRef>): Set<string> {
  const keys = new Set<string>();
  for (const ref of refs) keys.add(objectKey(ref));
  return keys;
}
