/**
 * `@ballast/runtime`: an operator SDK for Kubernetes, in TypeScript.
 *
 * The pieces, in the order data flows through them:
 *
 * 1. **Manager** (`Manager`) runs an operator process: it starts the
 *    controllers, serves `/metrics`, `/healthz` and `/readyz`, optionally
 *    holds a leader lease so only one replica acts, and shuts down in order
 *    on SIGTERM (drain reconciles, then release the lease, then close).
 *    The lease is `LeaderElector`'s (coordination.k8s.io Lease).
 * 2. **Controllers** (`controller(client, Kind).owns(...).build(reconcile)`)
 *    connect sources of events to a reconciler. The builder is sugar over a
 *    `ControllerSpec`; `owns()` maps owned objects back to their controller
 *    owner, `watches()` takes any mapping, predicates such as
 *    `generationChanged` filter primary events.
 * 3. **Informers and caches** (`Informer`, `Store`; fed by a `Watcher`) list
 *    and watch each kind and keep an indexed, read-only copy in memory; a
 *    manager's controllers share one per kind and scope (`SharedInformers`).
 *    Reconcilers read from here (`ctx.object`, `ctx.owned(Kind)`), not from
 *    the API server.
 * 4. **The work queue** (`WorkQueue`) turns events into keys: deduplicated,
 *    one worker per key at a time, per-key exponential back-off, delayed
 *    requeues. A burst of events becomes one reconcile.
 * 5. **The Reconciler** (`(ref, ctx) => Promise<Action>`) is called with an
 *    object's *name*, never the event, and brings the world to the desired
 *    state. It returns `Action.done()` or `Action.requeueAfter(ms)`, or
 *    throws; a `TerminalError` is not retried. Helpers: `finalize()` for
 *    cleanup before deletion, `setCondition`/`statusEqual` for `.status`,
 *    `EventRecorder` for Events.
 * 6. **The Client** (`KubeClient`) performs the writes: server-side apply
 *    under one field manager, patches, and errors that carry the API
 *    server's Status (`isNotFound`, `isConflict`, ...).
 *
 * Around them: `Clock` and `backoffDelay`/`Backoff` (time and retry delays,
 * one of each for the whole runtime), `defineResource()` declares a custom
 * resource once (its type, CRD manifest and validator), `MetricsRegistry`
 * exports controller-runtime's metric names, and `createLogger()` writes
 * structured JSON logs with credentials redacted. `defineOperator()`
 * describes a whole operator (kinds, RBAC, lease, CLI hooks) and
 * `runOperator()` is the entry point of its process.
 *
 * The exports below are grouped by folder (alphabetically, as the formatter
 * keeps them); each folder's `index.ts` opens with what it is for. Test
 * helpers (`FakeClock`) are in `@ballast/runtime/testing`.
 */

export {
  type EventHandlers,
  type IndexFunc,
  Informer,
  type InformerOptions,
  type InformerScope,
  namespaceIndex,
  ownerIndex,
  SharedInformers,
  type SharedInformersOptions,
  SharedInformersStoppedError,
  Store,
  UnknownIndexError,
} from "./cache/index.ts";
// The client's `objectKey` (not reconcile's) is exported: it accepts object
// metadata as well as an `ObjectRef`, and writes the same "namespace/name".
export {
  type ApplyObject,
  type ApplyOptions,
  type AuthMaterial,
  type ClientConfig,
  ClientRateLimiter,
  CredentialError,
  type Credentials,
  type DeleteOptions,
  type ErrorSubject,
  ExecCredentials,
  InClusterConfigError,
  type InClusterOptions,
  ignoreNotFound,
  inClusterConfig,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  KubeApiError,
  KubeClient,
  type KubeClientOptions,
  KubeConnectionError,
  type KubeconfigClientOptions,
  KubeconfigError,
  type KubeconfigOptions,
  type KubeList,
  type KubeObject,
  type ListMeta,
  type ListOptions,
  loadKubeconfig,
  type ManagedFieldsEntry,
  NoKindMatchError,
  type ObjectKey,
  type ObjectMeta,
  type OwnerReference,
  objectKey,
  type PatchOptions,
  type PatchType,
  type Query,
  type RateLimitOptions,
  type RawRequest,
  type ReadOptions,
  type ResourceType,
  RestMapper,
  type RestMapping,
  resourceOfPath,
  type Status,
  type StatusCause,
  type StatusDetails,
  TokenBucket,
  TokenFileCredentials,
  type WriteOptions,
} from "./client/index.ts";
export {
  allOf,
  type CacheReader,
  Controller,
  ControllerBuilder,
  type ControllerContext,
  ControllerError,
  type ControllerOptions,
  type ControllerReconciler,
  type ControllerSpec,
  controller,
  generationChanged,
  type Predicate,
  type RunOptions,
  type Source,
  type WatchOptions,
} from "./controller/index.ts";
export {
  ConditionSchema,
  Conditions,
  type CrdClient,
  CrdInstallError,
  CrdSchemaError,
  type CrdSource,
  type CustomResourceDefinition,
  type CustomResourceDefinitionCondition,
  type CustomResourceDefinitionNames,
  type CustomResourceDefinitionVersion,
  crdForVersions,
  defineResource,
  type InstallCrdsClientOptions,
  type InstallCrdsOptions,
  IntOrString,
  installCrds,
  type JSONSchemaProps,
  PreserveUnknownFields,
  type PrinterColumn,
  type Resource,
  type ResourceDefinition,
  ResourceDefinitionError,
  type ResourceOf,
  type ResourceOptions,
  type ScaleSubresource,
  type Scope,
  type SpecOf,
  type StatusOf,
  toStructuralSchema,
  type ValidationIssue,
  type ValidationResult,
  type ValidationRule,
} from "./crd/index.ts";
export {
  type EventClient,
  type EventInfo,
  type EventObjectReference,
  EventRecorder,
  type EventRecorderOptions,
  maxNoteBytes,
} from "./events/index.ts";
export {
  type ExecOptions,
  ExecOutputLimitError,
  type ExecResult,
  ExecStreamError,
  type ExecTarget,
  ExecTimeoutError,
  exec,
} from "./exec/index.ts";
export {
  type FinalizerClient,
  FinalizerError,
  type FinalizerHandlers,
  type FinalizerStep,
  finalize,
} from "./finalizer/index.ts";
export {
  type ElectionClock,
  type LeaderCallbacks,
  LeaderElectionConfigError,
  type LeaderElectionOptions,
  LeaderElector,
  type LeaderGauge,
  LeadershipLostError,
  type LeaseClient,
  type LeaseObject,
  systemElectionClock,
} from "./leader/index.ts";
export {
  createLogger,
  InvalidLogLevelError,
  type JsonLoggerOptions,
  type LogLevel,
  type LogThreshold,
  logLevelEnv,
  parseLogLevel,
  REDACTED,
  type StructuredLogger,
  withFields,
} from "./log/index.ts";
export {
  type Check,
  type Elector,
  Manager,
  ManagerError,
  type ManagerLeaderElection,
  type ManagerOptions,
  type Runnable,
} from "./manager/index.ts";
export {
  type ControllerMetrics,
  type LeaderElectionMetrics,
  MetricsRegistry,
  type MetricsRegistryOptions,
  type ReconcileOutcome,
  type ReconcileResult,
} from "./metrics/index.ts";
export {
  type AssembledOperators,
  type AssembleOptions,
  assembleOperators,
  crdInstallRules,
  type DeclaredOperatorRules,
  type DeclaredRule,
  defineOperator,
  eventRecorderRule,
  leaderElectionRules,
  type OperatorArgs,
  OperatorArgsError,
  type OperatorContext,
  OperatorDefinitionError,
  type OperatorDescriptor,
  type OperatorInstance,
  type OperatorParts,
  type OperatorRules,
  type OperatorSpec,
  operatorRules,
  operatorUsage,
  type PolicyRule,
  parseOperatorArgs,
  type RestartAnnotation,
  type RunOperatorOptions,
  runOperator,
  type StatusView,
  type StatusViewOptions,
  sharedLeaseName,
  toPolicyRule,
  watchScopes,
} from "./operator/index.ts";
export {
  type ExponentialBackoffOptions,
  exponentialBackoff,
  type InFlightWork,
  noopQueueMetrics,
  type QueueMetrics,
  type RateLimiter,
  WorkQueue,
  type WorkQueueOptions,
} from "./queue/index.ts";
export {
  Action,
  defaultErrorPolicy,
  type ErrorPolicy,
  InvalidObjectKeyError,
  isTerminalError,
  type LogFields,
  type Logger,
  noopLogger,
  type ObjectRef,
  parseObjectKey,
  type ReconcileContext,
  type Reconciler,
  TerminalError,
} from "./reconcile/index.ts";
export {
  type Condition,
  ConditionStatus,
  ConditionType,
  type ConditionUpdate,
  conditionsEqual,
  findCondition,
  formatConditionTime,
  InvalidConditionError,
  isConditionTrue,
  removeCondition,
  setCondition,
  statusEqual,
  validateCondition,
} from "./status/index.ts";
export {
  Backoff,
  type BackoffCurve,
  type BackoffOptions,
  backoffDelay,
  type Clock,
  CronParseError,
  type CronSchedule,
  latestCronTime,
  nextCronTime,
  parseCron,
  systemClock,
  type TimerHandle,
} from "./time/index.ts";
export {
  Watcher,
  type WatcherEvent,
  type WatcherOptions,
  type WatcherStatus,
} from "./watch/index.ts";
