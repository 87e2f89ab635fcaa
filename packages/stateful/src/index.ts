/**
 * `@ballast/stateful`: what every Ballast data-system operator shares. A
 * data system runs as a *member set*: pods the operator owns directly (no
 * StatefulSet: the operator alone decides when a member restarts), one
 * volume per member that outlives its pods, ids recorded in status before
 * any pod exists, readiness decided by the data system, one operation at a
 * time recorded in status before each step that takes a member down.
 *
 * In the order a reconcile uses them:
 *
 * 1. **Members** (`planMembership`, `assignIds`): which ids the set has, from
 *    the desired count and the list in status.
 * 2. **Resources** (`ownedMeta`, `memberClaim`, `headlessService`,
 *    `memberDisruptionBudget`, the restricted security contexts,
 *    `memberSpread`, `templateHash`): the objects every set has; the system
 *    adds its container and configuration.
 * 3. **Sync** (`createIfMissing`, `applyDrifted`, `drifted`): create what is
 *    missing, re-apply what drifted on a field we set, nothing otherwise;
 *    an object the API server refuses raises `ObjectRejectedError`, which
 *    `memberSetController` reports as `Degraded=True, ObjectRejected` with
 *    the server's message (`rejectedCondition`) unless the system's own
 *    status does (catch it and say it there); generated credentials (`ensureGeneratedSecret`) are created once and
 *    from then on read, never regenerated.
 * 4. **Readiness gates** (`setReadinessGates`): the system's answer to "is
 *    this member serving?" on each pod.
 * 5. **Operations**, one at a time, in `.status.operation`
 *    (`OperationStatus()`, a tagged union; `operationProgress()` for status,
 *    metrics and the CLI):
 *    - membership changes (`recordMembership`, `membershipMayChange`);
 *    - the roll (`planRoll` → `actOnRoll`), with the system's `chooseNext`
 *      and `caughtUp` hooks;
 *    - scale-up (`actOnScaleUp`, the `settle` hook) and scale-down
 *      (`planScaleDown` → `actOnScaleDown`: drain → stop → forget → delete
 *      the volume).
 *
 * Plans are pure and property-tested; the `actOn*` functions are thin and
 * return a `StepResult`: an `Action` to return now, or "continue".
 */
export { ComputeResources, MemberStorage, Quantity } from "./api/schemas.ts";
export {
  type MemberSetControllerSpec,
  memberSetController,
  memberSetOwnedKinds,
} from "./controller/controller.ts";
export {
  ensureGeneratedSecret,
  type GeneratedSecret,
  generatePassword,
  InvalidSecretError,
} from "./credentials/generated-secret.ts";
export { type CredentialsScope, loadCredentials } from "./credentials/step.ts";
export { assignIds, type MemberId } from "./members/ids.ts";
export {
  activeMembers,
  type Member,
  type MembershipChange,
  type MembershipPolicy,
  planMembership,
} from "./members/membership.ts";
export { nextOperation, progressingCondition } from "./operation/conditions.ts";
export { type OperationWords, operationLines } from "./operation/lines.ts";
export {
  type Operation,
  OperationStatus,
  type OperationType,
  operationProgress,
  operationSummary,
  operationTypes,
  type Progress,
  type RollOperation,
  type ScaleDownOperation,
  type ScaleUpOperation,
  startOperation,
  withSummary,
} from "./operation/operation.ts";
export { deleteMemberPod } from "./pods/delete.ts";
export { nodeStoppedReporting } from "./pods/node.ts";
export {
  containersReady,
  type PodLike,
  podCondition,
  podReady,
  podStartProblem,
  podsByMember,
  startProblems,
} from "./pods/pods.ts";
export { type GateState, gateUpToDate, setReadinessGates } from "./pods/readiness-gate.ts";
export { maxSetNameLength, memberSetNameRule } from "./resources/names.ts";
export {
  type ClaimSpec,
  controllerReference,
  headlessService,
  memberClaim,
  memberDisruptionBudget,
  memberSpread,
  namespaceOf,
  type Owner,
  ownedMeta,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type ServicePort,
  type SetIdentity,
  selectorLabels,
  templateHash,
  wellKnownLabels,
} from "./resources/resources.ts";
export {
  planRoll,
  type RollChoice,
  type RollEvent,
  type RollHooks,
  type RollInput,
  type RollPlan,
  restartedMemberBlockers,
} from "./roll/plan.ts";
export { actOnRoll, type OperationIO, type StepResult } from "./roll/roll.ts";
export { type DataMoves, movesProgress } from "./scale/data-moves.ts";
export {
  type MemberSetIO,
  membershipMayChange,
  recordMembership,
} from "./scale/membership-change.ts";
export {
  actOnScaleDown,
  needsPod,
  planScaleDown,
  type ScaleDownHooks,
  type ScaleDownStep,
} from "./scale/scale-down.ts";
export { actOnScaleUp, type ScaleUpHooks } from "./scale/scale-up.ts";
export { MemberSetScope, type MemberSetStatus, type ScopeOptions } from "./scope/scope.ts";
export { drifted, exactMaps, holdsFields } from "./sync/drift.ts";
export { type MemberObjects, syncMembers } from "./sync/members.ts";
export {
  asRejection,
  isRefusal,
  ObjectRejectedError,
  rejectedCondition,
  rejectedRetryMs,
  syncReportingRejection,
  withRejection,
} from "./sync/rejected.ts";
export { applyDrifted, createIfMissing } from "./sync/sync.ts";
