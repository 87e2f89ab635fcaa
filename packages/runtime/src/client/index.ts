/**
 * The Kubernetes client: kubeconfig and in-cluster credentials (our own
 * loader, exec plugins included), a keep-alive HTTPS transport, discovery-based
 * addressing by `{ apiVersion, kind }`, typed CRUD, server-side apply and
 * errors that carry the API server's Status.
 */
export {
  type ApplyObject,
  type ApplyOptions,
  type DeleteOptions,
  KubeClient,
  type KubeClientOptions,
  type KubeconfigClientOptions,
  type ListOptions,
  type PatchOptions,
  type PatchType,
  type Query,
  type RawRequest,
  type ReadOptions,
  type WriteOptions,
} from "./client.ts";
export {
  type ClientConfig,
  InClusterConfigError,
  type InClusterOptions,
  inClusterConfig,
} from "./config.ts";
export {
  type AuthMaterial,
  CredentialError,
  type Credentials,
  ExecCredentials,
  TokenFileCredentials,
} from "./credentials.ts";
export { RestMapper, type RestMapping } from "./discovery.ts";
export {
  type ErrorSubject,
  ignoreNotFound,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  KubeApiError,
  KubeConnectionError,
  NoKindMatchError,
} from "./errors.ts";
export { KubeconfigError, type KubeconfigOptions, loadKubeconfig } from "./kubeconfig.ts";
export {
  ClientRateLimiter,
  type RateLimitOptions,
  resourceOfPath,
  TokenBucket,
} from "./rate-limit.ts";
export type {
  KubeList,
  KubeObject,
  ListMeta,
  ManagedFieldsEntry,
  ObjectKey,
  ObjectMeta,
  OwnerReference,
  ResourceType,
  Status,
  StatusCause,
  StatusDetails,
} from "./types.ts";
export { objectKey } from "./types.ts";
