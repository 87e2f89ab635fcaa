/**
 * operator: an operator as one value (`defineOperator()`: its kinds, RBAC,
 * lease, field manager, CLI hooks, bundle entry, and `build`), and
 * `runOperator()`, the entry point every operator process shares. Tools
 * (the CLI, the chart generator, the build) loop over descriptors instead
 * of naming a data system. The text helpers for a `ballast status` view
 * are in `@ballast/runtime/text`.
 */
export { type OperatorArgs, OperatorArgsError, operatorUsage, parseOperatorArgs } from "./args.ts";
export {
  type AssembledOperators,
  type AssembleOptions,
  assembleOperators,
  type OperatorInstance,
} from "./assemble.ts";
export {
  defineOperator,
  type OperatorContext,
  OperatorDefinitionError,
  type OperatorDescriptor,
  type OperatorParts,
  type OperatorSpec,
  type RestartAnnotation,
  type StatusView,
  type StatusViewOptions,
  watchScopes,
} from "./descriptor.ts";
export {
  crdInstallRules,
  type DeclaredOperatorRules,
  type DeclaredRule,
  eventRecorderRule,
  leaderElectionRules,
  type OperatorRules,
  operatorRules,
  type PolicyRule,
  toPolicyRule,
} from "./rbac.ts";
export { type RunOperatorOptions, runOperator, sharedLeaseName } from "./run.ts";
