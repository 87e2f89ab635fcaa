/**
 * The JSON shapes of `apiextensions.k8s.io/v1`, as they travel on the wire
 * (field names exactly as the API server spells them, `x-kubernetes-*`
 * included), limited to what a CRD author sets and an installer reads.
 */

/** A CEL rule: `x-kubernetes-validations` on a schema node. */
export interface ValidationRule {
  /** CEL expression over `self` (and `oldSelf` for transition rules). */
  rule: string;
  /** Shown to the user when the rule fails. Must be one line. */
  message?: string;
  /**
   * CEL expression producing the message, for messages that quote values.
   * Quote strings with a maxLength (or enums); the API server estimates
   * `string(<int>)` as unbounded and refuses the CRD for its cost.
   */
  messageExpression?: string;
  /** Status cause reason reported on failure. @default "FieldValueInvalid" */
  reason?:
    | "FieldValueInvalid"
    | "FieldValueForbidden"
    | "FieldValueRequired"
    | "FieldValueDuplicate";
  /** Field the failure is reported against, relative to this node (e.g. `.replicas`). */
  fieldPath?: string;
  /** Runs the transition rule on create too, with `oldSelf` an optional. */
  optionalOldSelf?: boolean;
}

/** One node of an OpenAPI v3 structural schema, as a CRD carries it. */
export interface JSONSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  title?: string;
  description?: string;
  default?: unknown;
  example?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  // Numbers.
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  // Strings.
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  // Arrays.
  items?: JSONSchemaProps;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  // Objects.
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  minProperties?: number;
  maxProperties?: number;
  // Value validations only (structural schemas forbid types in these).
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  externalDocs?: { description?: string; url?: string };
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-embedded-resource"?: true;
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-validations"?: ValidationRule[];
}

export type Scope = "Namespaced" | "Cluster";

/** A column of `kubectl get`. */
export interface PrinterColumn {
  /** The column header (kubectl prints it upper-cased). */
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  /** A JSONPath into the object, e.g. `.status.phase`. */
  jsonPath: string;
  description?: string;
  format?: string;
  /** 0 shows it always; higher values only with `-o wide`. @default 0 */
  priority?: number;
}

export interface CustomResourceDefinitionNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema: { openAPIV3Schema: JSONSchemaProps };
  subresources?: {
    status?: Record<string, never>;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: { jsonPath: string }[];
}

export interface CustomResourceDefinitionCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** An `apiextensions.k8s.io/v1` CustomResourceDefinition. */
export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
  };
  spec: {
    group: string;
    scope: Scope;
    names: CustomResourceDefinitionNames;
    versions: CustomResourceDefinitionVersion[];
    preserveUnknownFields?: boolean;
  };
  /** Written by the API server; never sent. */
  status?: {
    conditions?: CustomResourceDefinitionCondition[];
    acceptedNames?: CustomResourceDefinitionNames;
    storedVersions?: string[];
  };
}
