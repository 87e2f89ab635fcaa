/**
 * The `x-kubernetes-*` extensions of a schema node: CEL rules (shape and
 * fieldPath), list and map merge types, embedded resources. Checked here
 * because the API server's refusals name the CRD field, not the TypeBox one.
 */
import { isPlainObject, type JsonObject } from "./_json.ts";
import { CrdSchemaError } from "./errors.ts";
import type { JSONSchemaProps, ValidationRule } from "./types.ts";

const ruleKeys: ReadonlySet<string> = new Set([
  "rule",
  "message",
  "messageExpression",
  "reason",
  "fieldPath",
  "optionalOldSelf",
]);
const ruleReasons: ReadonlySet<string> = new Set([
  "FieldValueInvalid",
  "FieldValueForbidden",
  "FieldValueRequired",
  "FieldValueDuplicate",
]);

/** Checks the node's `x-kubernetes-*` extensions and copies them to `out`. */
export function convertExtensions(node: JsonObject, out: JSONSchemaProps, path: string): void {
  if (node["x-kubernetes-embedded-resource"] !== undefined) {
    if (node["x-kubernetes-embedded-resource"] !== true || out.type !== "object") {
      throw new CrdSchemaError(path, "x-kubernetes-embedded-resource must be true, on an object");
    }
    out["x-kubernetes-embedded-resource"] = true;
  }
  const mapType = node["x-kubernetes-map-type"];
  if (mapType !== undefined) {
    if (out.type !== "object" || (mapType !== "atomic" && mapType !== "granular")) {
      throw new CrdSchemaError(
        path,
        'x-kubernetes-map-type must be "atomic" or "granular", on an object',
      );
    }
    out["x-kubernetes-map-type"] = mapType;
  }
  convertListType(node, out, path);
  const rules = node["x-kubernetes-validations"];
  if (rules !== undefined) out["x-kubernetes-validations"] = checkRules(rules, out, path);
}

function convertListType(node: JsonObject, out: JSONSchemaProps, path: string): void {
  const listType = node["x-kubernetes-list-type"];
  const keys = node["x-kubernetes-list-map-keys"];
  if (listType === undefined) {
    if (keys !== undefined) {
      throw new CrdSchemaError(
        path,
        'x-kubernetes-list-map-keys needs "x-kubernetes-list-type": "map"',
      );
    }
    return;
  }
  if (out.type !== "array" || !out.items) {
    throw new CrdSchemaError(path, "x-kubernetes-list-type applies to arrays only");
  }
  const items = out.items;
  const scalar = items.type !== undefined && items.type !== "object" && items.type !== "array";
  if (listType === "atomic") {
    if (keys !== undefined)
      throw new CrdSchemaError(path, 'x-kubernetes-list-map-keys needs list type "map"');
  } else if (listType === "set") {
    const atomicObject = items.type === "object" && items["x-kubernetes-map-type"] === "atomic";
    if (!scalar && !atomicObject) {
      throw new CrdSchemaError(
        path,
        'list type "set" needs scalar items (or atomic objects); for objects use list type "map" with key fields',
      );
    }
  } else if (listType === "map") {
    if (items.type !== "object")
      throw new CrdSchemaError(path, 'list type "map" needs object items');
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new CrdSchemaError(
        path,
        'list type "map" needs x-kubernetes-list-map-keys (the key fields)',
      );
    }
    for (const key of keys) {
      const field = typeof key === "string" ? items.properties?.[key] : undefined;
      if (!field || field.type === "object" || field.type === "array" || field.type === undefined) {
        throw new CrdSchemaError(
          path,
          `list map key ${JSON.stringify(key)} must be a scalar field of the items`,
        );
      }
      // The API server merges by these keys, so every item must have them.
      if (!items.required?.includes(key as string) && field.default === undefined) {
        throw new CrdSchemaError(
          `${path}[*]`,
          `list map key "${key}" must be required or have a default`,
        );
      }
    }
    out["x-kubernetes-list-map-keys"] = [...(keys as string[])];
  } else {
    throw new CrdSchemaError(
      path,
      `x-kubernetes-list-type ${JSON.stringify(listType)} must be "atomic", "set" or "map"`,
    );
  }
  out["x-kubernetes-list-type"] = listType;
}

function checkRules(rules: unknown, node: JSONSchemaProps, path: string): ValidationRule[] {
  if (!Array.isArray(rules)) {
    throw new CrdSchemaError(path, "x-kubernetes-validations must be a list of { rule, message }");
  }
  return rules.map((rule, i) => {
    const at = `${path} (x-kubernetes-validations[${i}])`;
    if (!isPlainObject(rule) || typeof rule.rule !== "string" || rule.rule.trim() === "") {
      throw new CrdSchemaError(at, "each validation needs a non-empty CEL `rule`");
    }
    for (const key of Object.keys(rule)) {
      if (!ruleKeys.has(key)) {
        throw new CrdSchemaError(at, `unknown key "${key}" (allowed: ${[...ruleKeys].join(", ")})`);
      }
    }
    for (const key of ["message", "messageExpression", "fieldPath"]) {
      const value = rule[key];
      if (value !== undefined && (typeof value !== "string" || value.trim() === "")) {
        throw new CrdSchemaError(at, `${key} must be a non-empty string`);
      }
    }
    if (typeof rule.message === "string" && /[\r\n]/.test(rule.message)) {
      throw new CrdSchemaError(at, "message must be one line");
    }
    if (rule.reason !== undefined && !ruleReasons.has(rule.reason as string)) {
      throw new CrdSchemaError(
        at,
        `reason ${JSON.stringify(rule.reason)} must be one of ${[...ruleReasons].join(", ")}`,
      );
    }
    if (rule.optionalOldSelf !== undefined && typeof rule.optionalOldSelf !== "boolean") {
      throw new CrdSchemaError(at, "optionalOldSelf must be a boolean");
    }
    if (typeof rule.fieldPath === "string" && !fieldPathResolves(node, rule.fieldPath)) {
      throw new CrdSchemaError(
        at,
        `fieldPath ${JSON.stringify(rule.fieldPath)} does not name a field below this node (write it like .tls.secretName or .labels['app'])`,
      );
    }
    return structuredClone(rule) as unknown as ValidationRule;
  });
}

/**
 * The API server refuses a fieldPath that does not walk down the schema
 * (`.a.b`, `['key']` into maps, `[0]` into lists); check it with the path.
 */
function fieldPathResolves(node: JSONSchemaProps, fieldPath: string): boolean {
  const segments = fieldPath.match(/\.[A-Za-z_][A-Za-z0-9_-]*|\['(?:[^'\\]|\\.)*'\]|\[\d+\]/g);
  if (!segments || segments.join("") !== fieldPath) return false;
  let current: JSONSchemaProps | undefined = node;
  for (const segment of segments) {
    if (!current) return false;
    if (segment.startsWith("[") && !segment.startsWith("['")) {
      current = current.items;
    } else {
      const key = segment.startsWith(".") ? segment.slice(1) : segment.slice(2, -2);
      current = current.properties?.[key] ?? current.additionalProperties;
    }
  }
  return current !== undefined;
}
