/**
 * Client-side validation of a custom resource against its schema, for
 * errors before a round trip (in tests, in the CLI, before an apply).
 *
 * It mirrors what the API server does, in its order: apply the schema's
 * defaults, then check the OpenAPI constraints, and report fields the schema
 * does not declare (the server would prune them). CEL rules
 * (`x-kubernetes-validations`) are NOT evaluated here: only the API server
 * runs them.
 */
import type { TSchema } from "typebox";
import Value from "typebox/value";
import { applyDefaults, isPlainObject, type JsonObject, unknownFields } from "./_json.ts";
import type { JSONSchemaProps } from "./types.ts";

/** One problem, at a path like `spec.brokers[0].port`. */
export interface ValidationIssue {
  path: string;
  message: string;
}

export type ValidationResult<T> =
  | { ok: true; value: T; errors: [] }
  | { ok: false; errors: ValidationIssue[] };

/** The compiled checker behind `ResourceDefinition.validate()`. */
export function validator<T>(
  check: TSchema,
  structural: JSONSchemaProps,
): (value: unknown) => ValidationResult<T> {
  return (input) => {
    let value: unknown;
    try {
      value = structuredClone(input);
    } catch (error) {
      return { ok: false, errors: [{ path: "", message: `is not plain JSON data: ${error}` }] };
    }
    applyDefaults(structural, value);
    const errors = [
      ...schemaIssues(check, value),
      ...unknownFields(structural, value, "", new Set(["metadata"])).map((path) => ({
        path: path.replace(/^\./, ""),
        message: "unknown field (the API server would drop it)",
      })),
    ];
    return errors.length === 0
      ? { ok: true, value: value as T, errors: [] }
      : { ok: false, errors };
  };
}

/** `/spec/brokers/0/port` → `spec.brokers[0].port`. */
export function pointerToPath(pointer: string): string {
  if (pointer === "") return "";
  return pointer
    .slice(1)
    .split("/")
    .map((raw) => raw.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((path, key) => {
      if (/^\d+$/.test(key)) return `${path}[${key}]`;
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path ? `${path}.${key}` : key;
      return `${path}[${JSON.stringify(key)}]`;
    }, "");
}

/** The schema node a TypeBox `schemaPath` (`#/properties/spec/...`) points at. */
function schemaAt(root: unknown, schemaPath: string): JsonObject | undefined {
  let node: unknown = root;
  for (const raw of schemaPath.replace(/^#\/?/, "").split("/")) {
    if (raw === "") continue;
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    node = Array.isArray(node) ? node[Number(key)] : isPlainObject(node) ? node[key] : undefined;
  }
  return isPlainObject(node) ? node : undefined;
}

/**
 * TypeBox's errors, made readable: a union failure is one message listing the
 * allowed values instead of one error per branch, and a missing property is
 * reported at its own path.
 */
function schemaIssues(check: TSchema, value: unknown): ValidationIssue[] {
  const errors = [...Value.Errors(check, value)];
  const unions = errors
    .filter((e) => e.keyword === "anyOf" || e.keyword === "oneOf")
    .map((e) => `${e.schemaPath}/${e.keyword}/`);
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    if (unions.some((prefix) => error.schemaPath.startsWith(prefix))) continue;
    const path = pointerToPath(error.instancePath);
    if (error.keyword === "required") {
      const missing = (error.params as { requiredProperties?: string[] }).requiredProperties ?? [];
      for (const name of missing) {
        issues.push({
          path: pointerToPath(`${error.instancePath}/${name}`),
          message: "is required",
        });
      }
    } else if (error.keyword === "anyOf" || error.keyword === "oneOf") {
      issues.push({
        path,
        message: unionMessage(schemaAt(check, error.schemaPath), error.keyword),
      });
    } else {
      issues.push({ path, message: error.message });
    }
  }
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\0${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function unionMessage(union: JsonObject | undefined, keyword: "anyOf" | "oneOf"): string {
  const branches = union?.[keyword];
  if (!Array.isArray(branches)) return "matches none of the allowed types";
  const literals = branches.map((b) =>
    isPlainObject(b) && "const" in b
      ? JSON.stringify(b.const)
      : isPlainObject(b) && b.type === "null"
        ? "null"
        : undefined,
  );
  if (literals.every((l) => l !== undefined)) return `must be one of ${literals.join(", ")}`;
  const types = branches.map((b) => (isPlainObject(b) ? String(b.type ?? "?") : "?"));
  return `must be one of the types ${types.join(" | ")}`;
}
