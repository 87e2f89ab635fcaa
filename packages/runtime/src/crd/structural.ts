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
import { convertExtensions } from "./_extensions.ts";
import {
  applyDefaults,
  childPath,
  isPlainObject,
  type JsonObject,
  jsonTypeOf,
  unknownFields,
} from "./_json.ts";
import { convertJunctors } from "./_junctors.ts";
import { checkKeywords, type NodeType, nodeTypes, refused } from "./_keywords.ts";
import { CrdSchemaError } from "./errors.ts";
import type { JSONSchemaProps } from "./types.ts";

/**
 * Converts a TypeBox schema (or plain JSON Schema) to a structural schema.
 * `path` names the node in errors, e.g. `$.spec`. Throws CrdSchemaError.
 */
export function toStructuralSchema(schema: unknown, path = "$"): JSONSchemaProps {
  if (!isPlainObject(schema)) {
    throw new CrdSchemaError(path, `expected a schema object, got ${JSON.stringify(schema)}`);
  }
  if (isTypeUnion(schema)) return convertUnion(schema, path);
  if (isObjectIntersection(schema))
    return toStructuralSchema(mergeIntersection(schema, path), path);
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
    if (decoration.includes(key) || key === "x-kubernetes-validations") {
      out[key] = value;
      continue;
    }
    throw new CrdSchemaError(
      path,
      refused.get(key) ??
        `keyword "${key}" next to a union or intersection is not supported; put it on its members`,
    );
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
  const isIntOrString = rest.length === 2 && types.includes("integer") && types.includes("string");
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
  const tag = discriminatorOf(rest);
  if (tag) return toStructuralSchema(mergeTaggedUnion(rest, tag, around, nullable, path), path);
  const [only] = rest;
  if (rest.length === 1 && only) {
    return toStructuralSchema(
      { ...only, ...around, ...(nullable ? { nullable: true } : {}) },
      path,
    );
  }
  const described = rest.map((b) => (typeof b.type === "string" ? b.type : JSON.stringify(b.type)));
  throw new CrdSchemaError(
    path,
    `a union of ${described.join(" | ")} is not structural: Kubernetes gives every field one type. Use a union of literals (an enum), IntOrString(), or an object with optional fields and a CEL rule that picks one`,
  );
}

/**
 * The property every branch of a union of objects fixes to its own literal
 * (`type: "Roll"` in one, `type: "ScaleUp"` in another): a tagged union.
 */
function discriminatorOf(branches: readonly JsonObject[]): string | undefined {
  if (branches.length < 2 || !branches.every((b) => b.type === "object")) return undefined;
  const literalKeys = (b: JsonObject) =>
    Object.entries((b.properties ?? {}) as JsonObject)
      .filter(([, s]) => isPlainObject(s) && literalValues(s)?.length === 1)
      .map(([k]) => k);
  const [first, ...others] = branches;
  if (!first) return undefined;
  return literalKeys(first).find((key) => {
    const values = branches.map(
      (b) => literalValues(((b.properties ?? {}) as JsonObject)[key] as JsonObject)?.[0],
    );
    return (
      others.every(
        (b) => literalKeys(b).includes(key) && (b.required as string[] | undefined)?.includes(key),
      ) && new Set(values).size === branches.length
    );
  });
}

/**
 * A tagged union of objects as one structural object: the tag becomes an
 * enum, every branch's properties are merged (a property two branches
 * declare must be declared alike), and what each branch requires becomes a
 * CEL rule that applies when the tag names that branch. TypeScript keeps
 * the union (TypeBox's static type); the API server gets one type per field.
 */
function mergeTaggedUnion(
  branches: readonly JsonObject[],
  tag: string,
  around: JsonObject,
  nullable: boolean,
  path: string,
): JsonObject {
  const properties: JsonObject = {};
  const rules: unknown[] = Array.isArray(around["x-kubernetes-validations"])
    ? [...around["x-kubernetes-validations"]]
    : [];
  const tags: unknown[] = [];
  for (const branch of branches) {
    const own = (branch.properties ?? {}) as JsonObject;
    const value = literalValues(own[tag] as JsonObject)?.[0];
    tags.push(value);
    for (const [name, schema] of Object.entries(own)) {
      if (name === tag) continue;
      const held = properties[name];
      if (held !== undefined && JSON.stringify(held) !== JSON.stringify(schema)) {
        throw new CrdSchemaError(
          childPath(path, name),
          `is declared differently by two members of the union tagged by "${tag}"; declare it alike, or give it another name in one of them`,
        );
      }
      properties[name] = schema;
    }
    const required = ((branch.required ?? []) as string[]).filter((r) => r !== tag);
    if (required.length > 0) {
      rules.push({
        rule: `self.${tag} != ${JSON.stringify(value)} || (${required.map((r) => `has(self.${r})`).join(" && ")})`,
        message: `${tag} ${JSON.stringify(value)} requires ${required.join(", ")}`,
      });
    }
  }
  const tagDescription = ((branches[0]?.properties ?? {}) as JsonObject)[tag] as
    | JsonObject
    | undefined;
  return {
    ...around,
    type: "object",
    properties: {
      [tag]: {
        ...(typeof tagDescription?.description === "string"
          ? { description: tagDescription.description }
          : {}),
        type: jsonTypeOf(tags[0]),
        enum: tags,
      },
      ...properties,
    },
    required: [tag],
    ...(nullable ? { nullable: true } : {}),
    ...(rules.length > 0 ? { "x-kubernetes-validations": rules } : {}),
  };
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
      if (
        !["type", "properties", "required", "x-kubernetes-validations", "description"].includes(key)
      ) {
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
    if (Array.isArray(part["x-kubernetes-validations"]))
      rules.push(...part["x-kubernetes-validations"]);
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
function convertNode(node: JsonObject, path: string): JSONSchemaProps {
  const { type, nullable } = typeOf(node, path);
  const intOrString = node["x-kubernetes-int-or-string"];
  const preserve = node["x-kubernetes-preserve-unknown-fields"];
  checkKeywords(node, type, path);
  if (intOrString !== undefined && intOrString !== true) {
    throw new CrdSchemaError(path, "x-kubernetes-int-or-string must be true (or left out)");
  }
  if (preserve !== undefined && preserve !== true) {
    throw new CrdSchemaError(
      path,
      "x-kubernetes-preserve-unknown-fields must be true (or left out)",
    );
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
      throw new CrdSchemaError(
        path,
        `enum value ${JSON.stringify(value)} is not of type ${out.type}`,
      );
    }
  }
  if (out.nullable) {
    // Kubernetes checks the enum even for null (listed in it or not), so a
    // nullable enum would refuse the very null it promises to accept.
    throw new CrdSchemaError(
      path,
      "an enum that also allows null cannot be expressed in a CRD (the API server refuses the null); make the field Optional instead",
    );
  }
  out.enum = structuredClone(nonNull);
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
    throw new CrdSchemaError(
      path,
      "tuples are not supported by Kubernetes; use an object with named fields",
    );
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
    if (!Array.isArray(required))
      throw new CrdSchemaError(path, "required must be a list of names");
    for (const name of required) {
      if (typeof name !== "string" || !out.properties?.[name]) {
        throw new CrdSchemaError(
          path,
          `required names ${JSON.stringify(name)}, which is not a property`,
        );
      }
    }
    // A field with a default is filled in by the API server before it
    // validates, so clients need not write it: listing it as required would
    // make kubectl's client-side validation demand it anyway.
    const needed = (required as string[]).filter(
      (name) => out.properties?.[name]?.default === undefined,
    );
    if (needed.length > 0) out.required = needed;
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
      throw new CrdSchemaError(
        path,
        "has both patternProperties and additionalProperties; keep one",
      );
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
/**
 * The default as the API server needs it. It validates a default as written,
 * without first applying the defaults nested below it, so `{}` for an object
 * whose required fields all have defaults is refused; at runtime though it
 * fills those nested defaults in. Writing them into the default gives the
 * same objects and a CRD the server accepts. A default that is still invalid,
 * or holds fields the server would prune, is an error here, with its path.
 */
function checkedDefault(node: JsonObject, out: JSONSchemaProps, path: string): unknown {
  const value = applyDefaults(out, structuredClone(node.default));
  if (!(out.nullable && value === null) && !Value.Check(node, value)) {
    const [first] = Value.Errors(node, value);
    const where = first?.instancePath ? ` at ${first.instancePath}` : "";
    throw new CrdSchemaError(
      path,
      `default ${JSON.stringify(node.default)} does not match the field's schema${where}: ${first?.message ?? "invalid"}`,
    );
  }
  const pruned = unknownFields(out, value, "default");
  if (pruned.length > 0) {
    throw new CrdSchemaError(
      path,
      `default ${JSON.stringify(node.default)} has fields the schema does not declare: ${pruned.join(", ")}`,
    );
  }
  return value;
}
