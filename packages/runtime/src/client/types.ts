/**
 * The shapes every Kubernetes object shares. Kept deliberately loose: the
 * runtime only relies on `metadata`; typed resources come from the CRD schemas
 * and from whatever the caller declares.
 */

/** Names a resource type the way manifests do. */
export interface ResourceType {
  apiVersion: string;
  kind: string;
}

/** Names one object of a type. Omit `namespace` for cluster-scoped objects. */
export interface ObjectKey {
  name: string;
  namespace?: string | undefined;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface ListMeta {
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

/** The `Status` object the API server answers errors (and some deletes) with. */
export interface Status {
  apiVersion?: string;
  kind?: "Status";
  status?: "Success" | "Failure";
  message?: string;
  reason?: string;
  code?: number;
  details?: StatusDetails;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusCause {
  /** A machine-readable reason, e.g. `FieldValueRequired`. */
  reason?: string;
  message?: string;
  /** The path of the field at fault, e.g. `spec.replicas` or `metadata.name`. */
  field?: string;
}

/** `ns/name` for namespaced objects, `name` for cluster-scoped ones: the cache key. */
export function objectKey(meta: {
  name?: string | undefined;
  namespace?: string | undefined;
}): string {
  return meta.namespace ? `${meta.namespace}/${meta.name ?? ""}` : (meta.name ?? "");
}
