/**
 * Small helpers over plain JSON values shared by the crd module, and the one
 * walk over a structural schema that finds fields the API server would prune.
 */
import type { JSONSchemaProps } from "./types.ts";

export type JsonObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The OpenAPI type a JSON value has, telling integers from other numbers. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `$.spec` + `replicas` → `$.spec.replicas`; odd keys are quoted: `$.spec["a.b"]`. */
export function childPath(path: string, key: string): string {
  return identifier.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Paths of the fields in `value` the schema does not declare: the API server
 * drops them (or, with strict field validation, rejects the request), so a
 * typo there is silently lost. `skip` names root fields handled elsewhere.
 */
export function unknownFields(
  schema: JSONSchemaProps,
  value: unknown,
  path: string,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  if (schema["x-kubernetes-preserve-unknown-fields"]) return [];
  const found: string[] = [];
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => {
      found.push(...unknownFields(schema.items as JSONSchemaProps, item, `${path}[${i}]`));
    });
  } else if (isPlainObject(value) && schema.type === "object") {
    // An embedded object keeps its own apiVersion, kind and metadata.
    const embedded = schema["x-kubernetes-embedded-resource"]
      ? new Set(["apiVersion", "kind", "metadata"])
      : skip;
    for (const [key, child] of Object.entries(value)) {
      if (embedded.has(key)) continue;
      const childSchema = schema.properties?.[key] ?? schema.additionalProperties;
      if (childSchema) found.push(...unknownFields(childSchema, child, childPath(path, key)));
      else found.push(childPath(path, key));
    }
  }
  return found;
}

/**
 * Fills in defaults the way the API server does before it validates: a
 * missing field with a default gets it, then the defaults below it apply to
 * that value too. Mutates and returns `value`.
 */
export function applyDefaults(schema: JSONSchemaProps, value: unknown): unknown {
  if (Array.isArray(value) && schema.items) {
    for (const item of value) applyDefaults(schema.items, item);
  } else if (isPlainObject(value) && schema.type === "object") {
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      if (value[key] === undefined && child.default !== undefined) {
        value[key] = structuredClone(child.default);
      }
      if (value[key] !== undefined) applyDefaults(child, value[key]);
    }
    const values = schema.additionalProperties;
    if (values) for (const child of Object.values(value)) applyDefaults(values, child);
  }
  return value;
}
