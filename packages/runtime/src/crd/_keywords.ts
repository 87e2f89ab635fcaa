/**
 * Which JSON Schema keywords a CRD schema node may carry, by type, and the
 * ones Kubernetes never accepts, each with what to write instead.
 */
import type { JsonObject } from "./_json.ts";
import { CrdSchemaError } from "./errors.ts";
import type { JSONSchemaProps } from "./types.ts";

export type NodeType = NonNullable<JSONSchemaProps["type"]>;

export const nodeTypes: ReadonlySet<string> = new Set([
  "object",
  "array",
  "string",
  "integer",
  "number",
  "boolean",
]);

/** Keywords any typed node may carry. */
const common: ReadonlySet<string> = new Set([
  "type",
  "description",
  "title",
  "default",
  "example",
  "externalDocs",
  "nullable",
  "enum",
  "const",
  "format",
  "allOf",
  "anyOf",
  "oneOf",
  "not",
  "x-kubernetes-validations",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-int-or-string",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
]);

const numeric = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];
const byType: Record<NodeType, ReadonlySet<string>> = {
  string: new Set(["minLength", "maxLength", "pattern"]),
  integer: new Set(numeric),
  number: new Set(numeric),
  boolean: new Set(),
  array: new Set(["items", "minItems", "maxItems", "uniqueItems"]),
  object: new Set([
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "minProperties",
    "maxProperties",
  ]),
};

/** Keywords Kubernetes never accepts, with what to do instead. */
export const refused: ReadonlyMap<string, string> = new Map([
  [
    "$ref",
    "references ($ref, made by Type.Ref, Type.Cyclic or Type.Module) are not allowed in a CRD schema; inline the schema",
  ],
  ["$id", "$id is not allowed in a CRD schema; remove it"],
  ["$schema", "$schema is not allowed in a CRD schema; remove it"],
  ["$defs", "definitions are not allowed in a CRD schema; inline them"],
  ["definitions", "definitions are not allowed in a CRD schema; inline them"],
  ["$anchor", "$anchor is not allowed in a CRD schema; remove it"],
  ["$dynamicRef", "references are not allowed in a CRD schema; inline the schema"],
  ["$dynamicAnchor", "$dynamicAnchor is not allowed in a CRD schema; remove it"],
  [
    "if",
    "if/then/else is not supported by Kubernetes; express the condition as a CEL rule (x-kubernetes-validations)",
  ],
  [
    "then",
    "if/then/else is not supported by Kubernetes; express the condition as a CEL rule (x-kubernetes-validations)",
  ],
  [
    "else",
    "if/then/else is not supported by Kubernetes; express the condition as a CEL rule (x-kubernetes-validations)",
  ],
  [
    "dependencies",
    "dependencies are not supported by Kubernetes; use a CEL rule such as `!has(self.a) || has(self.b)`",
  ],
  [
    "dependentRequired",
    "dependentRequired is not supported by Kubernetes; use a CEL rule such as `!has(self.a) || has(self.b)`",
  ],
  [
    "dependentSchemas",
    "dependentSchemas is not supported by Kubernetes; use a CEL rule (x-kubernetes-validations)",
  ],
  ["prefixItems", "tuples are not supported by Kubernetes; use an object with named fields"],
  ["additionalItems", "tuples are not supported by Kubernetes; use an object with named fields"],
  [
    "contains",
    "contains is not supported by Kubernetes; use a CEL rule such as `self.exists(x, ...)`",
  ],
  ["minContains", "minContains is not supported by Kubernetes; use a CEL rule"],
  ["maxContains", "maxContains is not supported by Kubernetes; use a CEL rule"],
  [
    "propertyNames",
    "propertyNames is not supported by Kubernetes; use a CEL rule such as `self.all(k, k.matches('^[a-z]+$'))`",
  ],
  [
    "unevaluatedProperties",
    "unevaluatedProperties is not supported by Kubernetes; unknown fields are pruned anyway",
  ],
  ["unevaluatedItems", "unevaluatedItems is not supported by Kubernetes"],
  ["examples", "examples is not supported by Kubernetes; use `example` (one value)"],
  [
    "readOnly",
    "readOnly is not supported by Kubernetes; use a CEL transition rule `self == oldSelf`",
  ],
  ["writeOnly", "writeOnly is not supported by Kubernetes; remove it"],
  ["deprecated", "deprecated is not supported on a field by Kubernetes; say so in the description"],
]);

/** Throws for a keyword Kubernetes refuses, or one that does not apply to the node's type. */
export function checkKeywords(node: JsonObject, type: NodeType | undefined, path: string): void {
  for (const key of Object.keys(node)) {
    const hint = refused.get(key);
    if (hint) throw new CrdSchemaError(path, hint);
    if (common.has(key)) continue;
    if (type && byType[type].has(key)) continue;
    const owner = (Object.keys(byType) as NodeType[]).filter((t) => byType[t].has(key));
    if (owner.length > 0) {
      throw new CrdSchemaError(
        path,
        `"${key}" applies to ${owner.join(" or ")} fields, not to ${type ?? "an untyped field"}`,
      );
    }
    throw new CrdSchemaError(path, `keyword "${key}" is not supported in a Kubernetes CRD schema`);
  }
}
