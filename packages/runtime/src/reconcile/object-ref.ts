/**
 * The name of an object to reconcile, and the string form the work queue
 * holds. Two events for one object produce the same key, which is what lets
 * the queue merge them.
 */

/** Which object to reconcile; `namespace` is absent for cluster-scoped objects. */
export interface ObjectRef {
  readonly namespace?: string;
  readonly name: string;
}

/** Thrown when a string is not a valid object key. */
export class InvalidObjectKeyError extends Error {
  override name = "InvalidObjectKeyError";
  readonly key: string;

  constructor(key: string) {
    super(`invalid object key ${JSON.stringify(key)}: expected "namespace/name" or "name"`);
    this.key = key;
  }
}

/** "namespace/name" for namespaced objects, "name" for cluster-scoped ones (as client-go does). */
export function objectKey(ref: ObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

/** The reverse of `objectKey`. Throws `InvalidObjectKeyError` for "", "/x", "x/", "a/b/c". */
export function parseObjectKey(key: string): ObjectRef {
  const parts = key.split("/");
  if (parts.length === 1 && key !== "") return { name: key };
  const [namespace, name] = parts;
  if (parts.length === 2 && namespace && name) return { namespace, name };
  throw new InvalidObjectKeyError(key);
}
