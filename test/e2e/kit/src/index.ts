/**
 * What every Ballast operator's end-to-end scenarios share, in the order a
 * scenario uses it:
 *
 * 1. `OperatorEnvironment`: a private cluster, a namespace, the declared RBAC
 *    granted and the operator started (2 and 3 below), for a system's harness
 *    to extend.
 * 2. `grantDeclaredRbac`: the operator's ServiceAccount holding exactly its
 *    declared rules, as a kubeconfig.
 * 3. `OperatorUnderTest`: the shipped bundle as its own process, SIGKILLed
 *    and restarted at will, its logs kept across restarts.
 * 4. `startAckedWrites` with a driver per data system, and
 *    `monitorDisruption`: every operation runs under both, and asserts
 *    nothing acknowledged was lost and at most one member was down.
 * 5. `readTrace` + `refused` + `unexercised`: after the scenarios, the
 *    declared RBAC was enough and every rule of it was needed.
 *
 * Knows nothing of any data system: the driver and the member label carry that.
 * Beside them, `admission`: a CRD's schema and CEL rules tried on the real
 * API server by server-side dry runs.
 */

export {
  type AckedWriteDriver,
  type AckedWrites,
  AckedWritesError,
  type AckedWritesOptions,
  type AckedWritesProgress,
  startAckedWrites,
} from "./acked-writes/checker.ts";
export {
  type AckedWritesReport,
  ackedWritesReport,
  type WriteLedger,
} from "./acked-writes/report.ts";
export { type Admission, admission } from "./admission.ts";
export {
  type DisruptionOptions,
  type DisruptionReport,
  type MemberId,
  membersDown,
  monitorDisruption,
  type UpCondition,
} from "./disruption.ts";
export {
  type ClusterShape,
  instanceSelector,
  OperatorEnvironment,
  type OperatorEnvironmentOptions,
} from "./environment.ts";
export {
  apply,
  type Condition,
  condition,
  isServing,
  isUp,
  listPods,
  type PodView,
  waitForResources,
} from "./objects.ts";
export {
  type OperatorBundle,
  type OperatorOptions,
  type OperatorProcess,
  OperatorUnderTest,
} from "./operator.ts";
export { GrantError, type GrantOptions, grantDeclaredRbac } from "./rbac/grant.ts";
export {
  allows,
  type Check,
  checksOf,
  type DeclaredRbac,
  type PermissionKey,
  type PolicyRule,
  permissions,
  refused,
  unexercised,
} from "./rbac/rules.ts";
export { type Access, parseTraceLine, readTrace } from "./rbac/trace.ts";
