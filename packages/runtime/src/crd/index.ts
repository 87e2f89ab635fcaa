/**
 * Custom Resource Definitions from TypeScript schemas.
 *
 * A kind is declared once with `defineResource()` (TypeBox schemas for spec
 * and status); from it come the TypeScript type (`ResourceOf`), the CRD
 * manifest (`crd()`), and a client-side validator (`validate()`).
 * `installCrds()` applies CRDs to a cluster and waits until they are ready.
 */
export {
  crdForVersions,
  defineResource,
  type Resource,
  type ResourceDefinition,
  type ResourceOf,
  type ResourceOptions,
  type ScaleSubresource,
  type SpecOf,
  type StatusOf,
} from "./define.ts";
export { CrdInstallError, CrdSchemaError, ResourceDefinitionError } from "./errors.ts";
export {
  type CrdClient,
  type CrdSource,
  type InstallCrdsClientOptions,
  type InstallCrdsOptions,
  installCrds,
} from "./install.ts";
export { ConditionSchema, Conditions, IntOrString, PreserveUnknownFields } from "./schemas.ts";
export { toStructuralSchema } from "./structural.ts";
export type {
  CustomResourceDefinition,
  CustomResourceDefinitionCondition,
  CustomResourceDefinitionNames,
  CustomResourceDefinitionVersion,
  JSONSchemaProps,
  PrinterColumn,
  Scope,
  ValidationRule,
} from "./types.ts";
export type { ValidationIssue, ValidationResult } from "./validate.ts";
