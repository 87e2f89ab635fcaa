/**
 * allOf/anyOf/oneOf/not on a typed node. A structural schema allows only
 * value validations in them, over fields the node itself declares.
 */
import { childPath, isPlainObject, type JsonObject } from "./_json.ts";
import { CrdSchemaError } from "./errors.ts";
import type { JSONSchemaProps } from "./types.ts";

/** Keywords allowed inside allOf/anyOf/oneOf/not: value validations only. */
const junctorValidations: ReadonlySet<string> = new Set([
  "enum",
  "required",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "format",
]);

/** Checks the node's allOf/anyOf/oneOf/not and copies them to `out`. */
export function convertJunctors(node: JsonObject, out: JSONSchemaProps, path: string): void {
  for (const keyword of ["allOf", "anyOf", "oneOf"] as const) {
    const branches = node[keyword];
    if (branches === undefined) continue;
    if (out["x-kubernetes-int-or-string"] && keyword === "anyOf" && isIntOrStringPair(branches)) {
      continue;
    }
    if (!Array.isArray(branches) || branches.length === 0) {
      throw new CrdSchemaError(path, `${keyword} must be a non-empty list of schemas`);
    }
    out[keyword] = branches.map((b, i) => valueValidation(b, out, `${path} (${keyword}[${i}])`));
  }
  if (node.not !== undefined) out.not = valueValidation(node.not, out, `${path} (not)`);
}

function isIntOrStringPair(branches: unknown): boolean {
  return (
    Array.isArray(branches) &&
    branches.length === 2 &&
    branches.every((b) => isPlainObject(b) && Object.keys(b).length === 1) &&
    branches.some((b) => b.type === "integer") &&
    branches.some((b) => b.type === "string")
  );
}

/**
 * A branch of allOf/anyOf/oneOf/not: it may only constrain fields the node
 * itself declares, never add types, defaults or descriptions — otherwise the
 * API server could not decide how to prune or default.
 */
function valueValidation(branch: unknown, outer: JSONSchemaProps, path: string): JSONSchemaProps {
  if (!isPlainObject(branch)) throw new CrdSchemaError(path, "expected a schema object");
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(branch)) {
    if (junctorValidations.has(key)) {
      out[key] = structuredClone(value);
    } else if (key === "const") {
      out.enum = [structuredClone(value)];
    } else if (key === "properties" && isPlainObject(value)) {
      const properties: JsonObject = {};
      for (const [name, child] of Object.entries(value)) {
        const declared = outer.properties?.[name];
        if (!declared) {
          throw new CrdSchemaError(path, `constrains "${name}", which the object does not declare`);
        }
        properties[name] = valueValidation(child, declared, childPath(path, name));
      }
      out.properties = properties;
    } else if (key === "items" && outer.items) {
      out.items = valueValidation(value, outer.items, `${path}[*]`);
    } else if ((key === "allOf" || key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      out[key] = value.map((b, i) => valueValidation(b, outer, `${path} (${key}[${i}])`));
    } else if (key === "not") {
      out.not = valueValidation(value, outer, `${path} (not)`);
    } else {
      throw new CrdSchemaError(
        path,
        `"${key}" is not allowed inside allOf/anyOf/oneOf/not: structural schemas allow only value validations there (required, enum, pattern, minimum, ...)`,
      );
    }
  }
  for (const name of (out.required ?? []) as unknown[]) {
    if (typeof name !== "string" || !outer.properties?.[name]) {
      throw new CrdSchemaError(
        path,
        `requires ${JSON.stringify(name)}, which the object does not declare`,
      );
    }
  }
  for (const [exclusive, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (typeof out[exclusive] === "number") {
      out[bound] = out[exclusive];
      out[exclusive] = true;
    }
  }
  return out as JSONSchemaProps;
}
