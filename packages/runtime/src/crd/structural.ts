/**
 * TypeBox (JSON Schema 2020-12) → OpenAPI v3 *structural* schema, the only
 * kind an `apiextensions.k8s.io/v1` CRD accepts.
 *
 * Kubernetes needs one type per field, no references, and only value
 * validations inside allOf/anyOf/oneOf/not, because it prunes, defaults and
 * merges objects by walking the schema. TypeBox's idioms are translated where
 * the meaning is unchanged (unions of literals → `enum`, `Record` → a map,
 * `X | null` → `nullable`, integer | string → `x-kubernetes-int-or-string`,
 * intersections of objects → one object, numeric `exclusiveMinimum` → the
 * OpenAPI 3.0 boolean form); everything else is refused with the path of the
 * node and what to write instead, rather than letting the API server reject
 * the CRD at install time (or, worse, accept it and prune data).
 */
import Value from "typebox/value";
import { childPath, isPlainObject, type JsonObject, jsonTypeOf, unknownFields } from "./_json.ts";
import { CrdSchemaError } from "./errors.ts";
import type { JSONSchemaProps, ValidationRule } from "./types.ts";

type NodeType = NonNullable<JSONSchemaProps["type"]>;

const nodeTypes: ReadonlySet<string> = new Set([
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
const refused: Record<string, string> = {
  $ref: "references ($ref, made by Type.Ref, Type.Cyclic or Type.Module) are not allowed in a CRD schema; inline the schema",
  $id: "$id is not allowed in a CRD schema; remove it",
  $schema: "$schema is not allowed in a CRD schema; remove it",
  $defs: "definitions are not allowed in a CRD schema; inline them",
  definitions: "definitions are not allowed in a CRD schema; inline them",
  $anchor: "$anchor is not allowed in a CRD schema; remove it",
  $dynamicRef: "references are not allowed in a CRD schema; inline the schema",
  $dynamicAnchor: "$dynamicAnchor is not allowed in a CRD schema; remove it",
  if: "if/then/else is not supported by Kubernetes; express the condition as a CEL rule (x-kubernetes-validations)",
  then: "if/then/else is not supported by Kubernetes; express the condition as a CEL rule (x-kubernetes-validations)",
  else: "if/then/else is not supported by Kubernetes; express the condition as a CEL rule (x-kubernetes-validations)",
  dependencies:
    "dependencies are not supported by Kubernetes; use a CEL rule such as `!has(self.a) || has(self.b)`",
  dependentRequired:
    "dependentRequired is not supported by Kubernetes; use a CEL rule such as `!has(self.a) || has(self.b)`",
  dependentSchemas:
    "dependentSchemas is not supported by Kubernetes; use a CEL rule (x-kubernetes-validations)",
  prefixItems: "tuples are not supported by Kubernetes; use an object with named fields",
  additionalItems: "tuples are not supported by Kubernetes; use an object with named fields",
  contains:
    "contains is not supported by Kubernetes; use a CEL rule such as `self.exists(x, ...)`",
  minContains: "minContains is not supported by Kubernetes; use a CEL rule",
  maxContains: "maxContains is not supported by Kubernetes; use a CEL rule",
  propertyNames:
    "propertyNames is not supported by Kubernetes; use a CEL rule such as `self.all(k, k.matches('^[a-z]+$'))`",
  unevaluatedProperties:
    "unevaluatedProperties is not supported by Kubernetes; unknown fields are pruned anyway",
  unevaluatedItems: "unevaluatedItems is not supported by Kubernetes",
  examples: "examples is not supported by Kubernetes; use `example` (one value)",
  readOnly: "readOnly is not supported by Kubernetes; use a CEL transition rule `self == oldSelf`",
  writeOnly: "writeOnly is not supported by Kubernetes; remove it",
  deprecated: "deprecated is not supported on a field by Kubernetes; say so in the description",
};

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

/**
 * Converts a TypeBox schema (or plain JSON Schema) to a structural schema.
 * `path` names the node in errors, e.g. `$.spec`. Throws CrdSchemaError.
 */
export function toStructuralSchema(schema: unknown, path = "$"): JSONSchemaProps {
  if (!isPlainObject(schema)) {
    throw new CrdSchemaError(path, `expected a schema object, got ${JSON.stringify(schema)}`);
  }
  if (isTypeUnion(schema)) return convertUnion(schema, path);
  if (isObjectIntersection(schema)) return toStructuralSchema(mergeIntersection(schema, path), path);
  return convertNode(schema, path);
}

/** A union of whole types (TypeBox Union), as opposed to anyOf of value validations. */
function isTypeUnion(node: JsonObject): boolean {
  if (node.type !== undefined || node["x-kubernetes-int-or-string"] === true) return false;
  const branches = node.anyOf ?? node.oneOf;
  return (
    Array.isArray(branches) &&
    branches.length > 0 &&
    branches.every(
      (b) =>
        isPlainObject(b) &&
        (b.type !== undefined || b.const !== undefined || b.enum !== undefined || isTypeUnion(b)),
    )
  );
}

function isObjectIntersection(node: JsonObject): boolean {
  return (
    node.type === undefined &&
    Array.isArray(node.allOf) &&
    node.allOf.length > 0 &&
    node.allOf.every((b) => isPlainObject(b) && (b.type === "object" || isObjectIntersection(b)))
  );
}

/** Keys a union or intersection node may carry around its branches. */
const decoration = ["description", "title", "default", "example", "externalDocs"];

function decorationOf(node: JsonObject, path: string, own: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (own.includes(key)) continue;
    if (decoration.includes(key) || key === "x-kubernetes-validations") out[key] = value;
    else if (key in refused) throw new CrdSchemaError(path, refused[key] as string);
    else {
      throw new CrdSchemaError(
        path,
        `keyword "${key}" next to a union is not supported; put it on the union's members`,
      );
    }
  }
  return out;
}

function flattenUnion(node: JsonObject): JsonObject[] {
  const branches = (node.anyOf ?? node.oneOf) as JsonObject[];
  return branches.flatMap((b) => (isTypeUnion(b) ? flattenUnion(b) : [b]));
}

function isNullSchema(node: JsonObject): boolean {
  return node.type === "null" || (node.const === null && node.type === undefined);
}

function literalValues(node: JsonObject): unknown[] | undefined {
  if (node.const !== undefined) return [node.const];
  if (Array.isArray(node.enum)) return node.enum;
  return undefined;
}

function convertUnion(node: JsonObject, path: string): JSONSchemaProps {
  const around = decorationOf(node, path, ["anyOf", "oneOf"]);
  const branches = flattenUnion(node);
  const nullable = branches.some(isNullSchema);
  const rest = branches.filter((b) => !isNullSchema(b));
  const values = rest.map(literalValues);
  if (rest.length > 0 && values.every((v) => v !== undefined)) {
    const all = [...new Set(values.flat())];
    return convertNode({ ...around, enum: nullable ? [...all, null] : all }, path);
  }
  const types = rest.map((b) => b.type);
  const isIntOrString =
    rest.length === 2 && types.includes("integer") && types.includes("string");
  if (isIntOrString) {
    const constrained = rest.find((b) => Object.keys(b).some((k) => k !== "type"));
    if (constrained) {
      throw new CrdSchemaError(
        path,
        "an integer | string union carries constraints on its members, which a structural schema cannot hold; move them to a CEL rule (x-kubernetes-validations) on the field",
      );
    }
    return convertNode({ ...around, "x-kubernetes-int-or-string": true, nullable }, path);
  }
  const [only] = rest;
  if (rest.length === 1 && only) {
    return toStructuralSchema({ ...only, ...around, ...(nullable ? { nullable: true } : {}) }, path);
  }
  const described = rest.map((b) => (typeof b.type === "string" ? b.type : JSON.stringify(b.type)));
  throw new CrdSchemaError(
    path,
    `a union of ${described.join(" | ")} is not structural: Kubernetes gives every field one type. Use a union of literals (an enum), IntOrString(), or an object with optional fields and a CEL rule that picks one`,
  );
}

function mergeIntersection(node: JsonObject, path: string): JsonObject {
  const around = decorationOf(node, path, ["allOf"]);
  const properties: JsonObject = {};
  const required = new Set<string>();
  const rules: unknown[] = Array.isArray(around["x-kubernetes-validations"])
    ? [...around["x-kubernetes-validations"]]
    : [];
  const parts = (node.allOf as JsonObject[]).flatMap((b) =>
    isObjectIntersection(b) ? [mergeIntersection(b, path)] : [b],
  );
  for (const part of parts) {
    for (const key of Object.keys(part)) {
      if (!["type", "properties", "required", "x-kubernetes-validations", "description"].includes(key)) {
        throw new CrdSchemaError(
          path,
          `an intersection member carries "${key}", which cannot be merged; intersect plain objects only`,
        );
      }
    }
    for (const [name, schema] of Object.entries((part.properties ?? {}) as JsonObject)) {
      if (name in properties) {
        throw new CrdSchemaError(
          childPath(path, name),
          "is declared by more than one member of an intersection; declare it once",
        );
      }
      properties[name] = schema;
    }
    for (const name of (part.required ?? []) as string[]) required.add(name);
    if (Array.isArray(part["x-kubernetes-validations"])) rules.push(...part["x-kubernetes-validations"]);
  }
  return {
    ...around,
    type: "object",
    properties,
    ...(required.size > 0 ? { required: [...required] } : {}),
    ...(rules.length > 0 ? { "x-kubernetes-validations": rules } : {}),
  };
}

/** The node's one type, with `null` split off into `nullable`. */
function typeOf(node: JsonObject, path: string): { type: NodeType | undefined; nullable: boolean } {
  let nullable = node.nullable === true;
  let type = node.type;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== "null");
    nullable ||= nonNull.length < type.length;
    if (nonNull.length !== 1) {
      throw new CrdSchemaError(
        path,
        `type ${JSON.stringify(type)} is not structural: Kubernetes gives every field one type`,
      );
    }
    type = nonNull[0];
  }
  const values = literalValues(node);
  if (type === undefined && values) {
    nullable ||= values.includes(null);
    const kinds = new Set(values.filter((v) => v !== null).map(jsonTypeOf));
    if (kinds.has("integer") && kinds.has("number")) kinds.delete("integer");
    if (kinds.size !== 1) {
      throw new CrdSchemaError(
        path,
        `enum ${JSON.stringify(values)} mixes types ${[...kinds].join(", ")}; Kubernetes gives every field one type`,
      );
    }
    type = [...kinds][0];
  }
  if (type === "null") {
    throw new CrdSchemaError(path, "a field that can only be null cannot be stored; remove it");
  }
  if (type !== undefined && (typeof type !== "string" || !nodeTypes.has(type))) {
    throw new CrdSchemaError(
      path,
      `type ${JSON.stringify(type)} is not a JSON type Kubernetes can store (object, array, string, integer, number, boolean)`,
    );
  }
  return { type: type as NodeType | undefined, nullable };
}

function checkKeywords(node: JsonObject, type: NodeType | undefined, path: string): void {
  for (const key of Object.keys(node)) {
    if (key in refused) throw new CrdSchemaError(path, refused[key] as string);
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

function convertNode(node: JsonObject, path: string): JSONSchemaProps {
  const { type, nullable } = typeOf(node, path);
  const intOrString = node["x-kubernetes-int-or-string"];
  const preserve = node["x-kubernetes-preserve-unknown-fields"];
  checkKeywords(node, type, path);
  if (intOrString !== undefined && intOrString !== true) {
    throw new CrdSchemaError(path, "x-kubernetes-int-or-string must be true (or left out)");
  }
  if (preserve !== undefined && preserve !== true) {
    throw new CrdSchemaError(path, "x-kubernetes-preserve-unknown-fields must be true (or left out)");
  }
  if (intOrString && type !== undefined) {
    throw new CrdSchemaError(
      path,
      `x-kubernetes-int-or-string replaces the type; remove type "${type}" (use IntOrString())`,
    );
  }
  if (type === undefined && !intOrString && !preserve) {
    throw new CrdSchemaError(
      path,
      "has no type; Kubernetes needs a type on every field. For free-form data use PreserveUnknownFields(), for integer-or-string use IntOrString()",
    );
  }
  const out: JSONSchemaProps = {};
  if (type) out.type = type;
  for (const key of ["description", "title", "format", "example", "externalDocs"] as const) {
    if (node[key] !== undefined) (out as JsonObject)[key] = structuredClone(node[key]);
  }
  if (nullable) out.nullable = true;
  convertEnum(node, out, path);
  if (type === "integer" || type === "number") convertNumber(node, out, path);
  if (type === "string") copy(node, out, ["minLength", "maxLength", "pattern"]);
  if (type === "array") convertArray(node, out, path);
  if (type === "object") convertObject(node, out, path);
  if (intOrString) {
    out["x-kubernetes-int-or-string"] = true;
    // The one anyOf a structural schema allows with a type in it: it makes the
    // API server reject values that are neither an integer nor a string.
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (preserve) out["x-kubernetes-preserve-unknown-fields"] = true;
  convertExtensions(node, out, path);
  convertJunctors(node, out, path);
  if (node.default !== undefined) out.default = checkedDefault(node, out, path);
  return out;
}

function copy(node: JsonObject, out: JSONSchemaProps, keys: readonly string[]): void {
  for (const key of keys) {
    if (node[key] !== undefined) (out as JsonObject)[key] = node[key];
  }
}

function convertEnum(node: JsonObject, out: JSONSchemaProps, path: string): void {
  const values = literalValues(node);
  if (!values) return;
  if (node.const !== undefined && node.enum !== undefined) {
    throw new CrdSchemaError(path, "has both const and enum; keep one");
  }
  const nonNull = values.filter((v) => v !== null);
  if (nonNull.length === 0) throw new CrdSchemaError(path, "enum has no non-null value");
  for (const value of nonNull) {
    const t = jsonTypeOf(value);
    const fits = t === out.type || (t === "integer" && out.type === "number");
    if (out.type && !fits) {
      throw new CrdSchemaError(path, `enum value ${JSON.stringify(value)} is not of type ${out.type}`);
    }
  }
  // A nullable enum must list null, or the API server rejects null.
  out.enum = structuredClone(out.nullable ? [...nonNull, null] : nonNull);
}

function convertNumber(node: JsonObject, out: JSONSchemaProps, path: string): void {
  copy(node, out, ["minimum", "maximum", "multipleOf"]);
  for (const [exclusive, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    const value = node[exclusive];
    if (value === undefined || value === false) continue;
    if (typeof value === "number") {
      // JSON Schema 2020-12 puts the bound in exclusiveMinimum; OpenAPI 3.0
      // (what Kubernetes speaks) wants the bound plus a boolean.
      if (node[bound] !== undefined) {
        throw new CrdSchemaError(path, `has both ${bound} and ${exclusive}; keep one`);
      }
      out[bound] = value;
      out[exclusive] = true;
    } else if (value === true) {
      if (node[bound] === undefined) {
        throw new CrdSchemaError(path, `${exclusive}: true needs ${bound}`);
      }
      out[exclusive] = true;
    } else {
      throw new CrdSchemaError(path, `${exclusive} must be a number, got ${JSON.stringify(value)}`);
    }
  }
}

function convertArray(node: JsonObject, out: JSONSchemaProps, path: string): void {
  const items = node.items;
  if (Array.isArray(items)) {
    throw new CrdSchemaError(path, "tuples are not supported by Kubernetes; use an object with named fields");
  }
  if (items === undefined) {
    throw new CrdSchemaError(path, "an array needs an item schema (items)");
  }
  out.items = toStructuralSchema(items, `${path}[*]`);
  copy(node, out, ["minItems", "maxItems"]);
  if (node.uniqueItems === true) {
    throw new CrdSchemaError(
      path,
      'uniqueItems is not supported by Kubernetes (its cost is quadratic); use "x-kubernetes-list-type": "set" for scalars or "map" with keys for objects',
    );
  }
}

const matchAll = new Set(["^.*$", ".*", "^(.*)$", "^.*", ".*$"]);

function convertObject(node: JsonObject, out: JSONSchemaProps, path: string): void {
  const properties = node.properties;
  if (properties !== undefined) {
    if (!isPlainObject(properties)) throw new CrdSchemaError(path, "properties must be an object");
    out.properties = {};
    for (const [key, child] of Object.entries(properties)) {
      out.properties[key] = toStructuralSchema(child, childPath(path, key));
    }
  }
  const required = node.required;
  if (required !== undefined) {
    if (!Array.isArray(required)) throw new CrdSchemaError(path, "required must be a list of names");
    for (const name of required) {
      if (typeof name !== "string" || !out.properties?.[name]) {
        throw new CrdSchemaError(path, `required names ${JSON.stringify(name)}, which is not a property`);
      }
    }
    if (required.length > 0) out.required = [...(required as string[])];
  }
  let values = node.additionalProperties;
  const patterns = node.patternProperties;
  if (patterns !== undefined) {
    const keys = isPlainObject(patterns) ? Object.keys(patterns) : [];
    const [key] = keys;
    if (keys.length !== 1 || key === undefined || !matchAll.has(key) || !isPlainObject(patterns)) {
      throw new CrdSchemaError(
        path,
        `patternProperties ${JSON.stringify(keys)}: Kubernetes cannot restrict map keys by pattern; use Type.Record(Type.String(), ...) with a CEL rule such as \`self.all(k, k.matches('^[a-z]+$'))\``,
      );
    }
    if (values !== undefined && values !== false) {
      throw new CrdSchemaError(path, "has both patternProperties and additionalProperties; keep one");
    }
    values = patterns[key];
  }
  if (values === true) {
    // Open objects keep what they are given: that is preserve-unknown-fields.
    out["x-kubernetes-preserve-unknown-fields"] = true;
  } else if (values !== undefined && values !== false) {
    if (out.properties && Object.keys(out.properties).length > 0) {
      throw new CrdSchemaError(
        path,
        "has both properties and a map value schema (additionalProperties/Record); Kubernetes allows one or the other",
      );
    }
    out.additionalProperties = toStructuralSchema(values, `${path}.*`);
  }
  copy(node, out, ["minProperties", "maxProperties"]);
}

function convertExtensions(node: JsonObject, out: JSONSchemaProps, path: string): void {
  if (node["x-kubernetes-embedded-resource"] !== undefined) {
    if (node["x-kubernetes-embedded-resource"] !== true || out.type !== "object") {
      throw new CrdSchemaError(path, "x-kubernetes-embedded-resource must be true, on an object");
    }
    out["x-kubernetes-embedded-resource"] = true;
  }
  const mapType = node["x-kubernetes-map-type"];
  if (mapType !== undefined) {
    if (out.type !== "object" || (mapType !== "atomic" && mapType !== "granular")) {
      throw new CrdSchemaError(path, 'x-kubernetes-map-type must be "atomic" or "granular", on an object');
    }
    out["x-kubernetes-map-type"] = mapType;
  }
  convertListType(node, out, path);
  const rules = node["x-kubernetes-validations"];
  if (rules !== undefined) out["x-kubernetes-validations"] = checkRules(rules, path);
}

function convertListType(node: JsonObject, out: JSONSchemaProps, path: string): void {
  const listType = node["x-kubernetes-list-type"];
  const keys = node["x-kubernetes-list-map-keys"];
  if (listType === undefined) {
    if (keys !== undefined) {
      throw new CrdSchemaError(path, 'x-kubernetes-list-map-keys needs "x-kubernetes-list-type": "map"');
    }
    return;
  }
  if (out.type !== "array" || !out.items) {
    throw new CrdSchemaError(path, "x-kubernetes-list-type applies to arrays only");
  }
  const items = out.items;
  const scalar = items.type !== undefined && items.type !== "object" && items.type !== "array";
  if (listType === "atomic") {
    if (keys !== undefined) throw new CrdSchemaError(path, 'x-kubernetes-list-map-keys needs list type "map"');
  } else if (listType === "set") {
    const atomicObject = items.type === "object" && items["x-kubernetes-map-type"] === "atomic";
    if (!scalar && !atomicObject) {
      throw new CrdSchemaError(
        path,
        'list type "set" needs scalar items (or atomic objects); for objects use list type "map" with key fields',
      );
    }
  } else if (listType === "map") {
    if (items.type !== "object") throw new CrdSchemaError(path, 'list type "map" needs object items');
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new CrdSchemaError(path, 'list type "map" needs x-kubernetes-list-map-keys (the key fields)');
    }
    for (const key of keys) {
      const field = typeof key === "string" ? items.properties?.[key] : undefined;
      if (!field || field.type === "object" || field.type === "array" || field.type === undefined) {
        throw new CrdSchemaError(path, `list map key ${JSON.stringify(key)} must be a scalar field of the items`);
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

function checkRules(rules: unknown, path: string): ValidationRule[] {
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
    return structuredClone(rule) as unknown as ValidationRule;
  });
}

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

function convertJunctors(node: JsonObject, out: JSONSchemaProps, path: string): void {
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
      throw new CrdSchemaError(path, `requires ${JSON.stringify(name)}, which the object does not declare`);
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

/**
 * The API server refuses a CRD whose default does not validate (after its own
 * nested defaults are applied) or holds fields it would prune; say so here,
 * with the path, instead.
 */
function checkedDefault(node: JsonObject, out: JSONSchemaProps, path: string): unknown {
  const value = structuredClone(node.default);
  const withNested = Value.Default(node, structuredClone(value));
  if (!(out.nullable && value === null) && !Value.Check(node, withNested)) {
    const [first] = Value.Errors(node, withNested);
    const where = first?.instancePath ? ` at ${first.instancePath}` : "";
    throw new CrdSchemaError(
      path,
      `default ${JSON.stringify(value)} does not match the field's schema${where}: ${first?.message ?? "invalid"}`,
    );
  }
  const pruned = unknownFields(out, value, "default");
  if (pruned.length > 0) {
    throw new CrdSchemaError(
      path,
      `default ${JSON.stringify(value)} has fields the schema does not declare: ${pruned.join(", ")}`,
    );
  }
  return value;
}
