import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import Type from "typebox";
import { CrdSchemaError } from "./errors.ts";
import { IntOrString, PreserveUnknownFields } from "./schemas.ts";
import { toStructuralSchema } from "./structural.ts";
import type { JSONSchemaProps } from "./types.ts";

/** Asserts the conversion throws a CrdSchemaError at `path` whose message matches. */
function rejects(schema: unknown, path: string, message: RegExp): void {
  assert.throws(
    () => toStructuralSchema(schema, "$.spec"),
    (error: unknown) => {
      assert.ok(error instanceof CrdSchemaError, String(error));
      assert.equal(error.name, "CrdSchemaError");
      assert.equal(error.path, path);
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      return true;
    },
  );
}

test("toStructuralSchema() keeps descriptions and leaves Optional fields out of required", () => {
  const out = toStructuralSchema(
    Type.Object(
      {
        name: Type.String({ description: "The name.", minLength: 1 }),
        size: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      { description: "A thing." },
    ),
  );
  assert.deepEqual(out, {
    type: "object",
    description: "A thing.",
    properties: {
      name: { type: "string", description: "The name.", minLength: 1 },
      size: { type: "integer", minimum: 0 },
    },
    required: ["name"],
  });
});

test("toStructuralSchema() turns unions of literals and Type.Enum into a typed enum", () => {
  assert.deepEqual(
    toStructuralSchema(Type.Union([Type.Literal("a"), Type.Literal("b")], { default: "a" })),
    { type: "string", enum: ["a", "b"], default: "a" },
  );
  assert.deepEqual(toStructuralSchema(Type.Union([Type.Literal(1), Type.Literal(3)])), {
    type: "integer",
    enum: [1, 3],
  });
  assert.deepEqual(toStructuralSchema(Type.Union([Type.Literal(1), Type.Literal(1.5)])), {
    type: "number",
    enum: [1, 1.5],
  });
  assert.deepEqual(toStructuralSchema(Type.Enum(["x", "y"])), { type: "string", enum: ["x", "y"] });
  assert.deepEqual(toStructuralSchema(Type.Literal(true)), { type: "boolean", enum: [true] });
  rejects(Type.Enum(["x", 1]), "$.spec", /mixes types string, integer/);
});

test("toStructuralSchema() turns Record into a map (additionalProperties)", () => {
  assert.deepEqual(toStructuralSchema(Type.Record(Type.String(), Type.Integer())), {
    type: "object",
    additionalProperties: { type: "integer" },
  });
  rejects(
    Type.Object({ ports: Type.Record(Type.Integer(), Type.String()) }),
    "$.spec.ports",
    /cannot restrict map keys by pattern.*CEL rule/,
  );
  rejects(
    {
      type: "object",
      properties: { a: { type: "string" } },
      additionalProperties: { type: "string" },
    },
    "$.spec",
    /both properties and a map value schema/,
  );
});

test("toStructuralSchema() maps additionalProperties true to preserve-unknown-fields and drops false", () => {
  assert.deepEqual(toStructuralSchema(Type.Object({}, { additionalProperties: true })), {
    type: "object",
    properties: {},
    "x-kubernetes-preserve-unknown-fields": true,
  });
  assert.deepEqual(
    toStructuralSchema(Type.Object({ a: Type.String() }, { additionalProperties: false })),
    { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
  );
});

test("toStructuralSchema() turns X | null into nullable, and refuses a nullable enum", () => {
  assert.deepEqual(toStructuralSchema(Type.Union([Type.String({ maxLength: 3 }), Type.Null()])), {
    type: "string",
    maxLength: 3,
    nullable: true,
  });
  assert.deepEqual(toStructuralSchema({ type: ["integer", "null"] }), {
    type: "integer",
    nullable: true,
  });
  rejects(
    Type.Union([Type.Literal("a"), Type.Literal("b"), Type.Null()]),
    "$.spec",
    /enum that also allows null.*Optional/,
  );
  rejects(Type.Null(), "$.spec", /can only be null/);
});

test("toStructuralSchema() turns integer | string into x-kubernetes-int-or-string", () => {
  const expected = {
    description: "A port.",
    "x-kubernetes-int-or-string": true,
    anyOf: [{ type: "integer" }, { type: "string" }],
  };
  assert.deepEqual(toStructuralSchema(IntOrString({ description: "A port." })), expected);
  assert.deepEqual(
    toStructuralSchema(Type.Union([Type.String(), Type.Integer()], { description: "A port." })),
    expected,
  );
  assert.deepEqual(
    toStructuralSchema(Type.Unsafe({ "x-kubernetes-int-or-string": true, description: "A port." })),
    expected,
  );
  rejects(
    Type.Union([Type.Integer({ minimum: 1 }), Type.String()]),
    "$.spec",
    /constraints on its members.*CEL rule/,
  );
  rejects({ type: "string", "x-kubernetes-int-or-string": true }, "$.spec", /replaces the type/);
});

test("toStructuralSchema() refuses unions of different types, naming them", () => {
  rejects(
    Type.Object({ value: Type.Union([Type.String(), Type.Number()]) }),
    "$.spec.value",
    /a union of string \| number is not structural/,
  );
  rejects(
    Type.Union([Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })]),
    "$.spec",
    /a union of object \| object/,
  );
});

test("toStructuralSchema() turns a tagged union of objects into one object with an enum tag and a rule per member", () => {
  const out = toStructuralSchema(
    Type.Union([
      Type.Object({
        type: Type.Literal("Roll", { description: "What runs." }),
        pending: Type.Array(Type.Integer()),
        note: Type.Optional(Type.String()),
      }),
      Type.Object({ type: Type.Literal("ScaleUp"), adding: Type.Array(Type.Integer()) }),
      Type.Object({ type: Type.Literal("Idle"), note: Type.Optional(Type.String()) }),
    ]),
  );
  assert.deepEqual(out, {
    type: "object",
    properties: {
      type: { type: "string", description: "What runs.", enum: ["Roll", "ScaleUp", "Idle"] },
      pending: { type: "array", items: { type: "integer" } },
      note: { type: "string" },
      adding: { type: "array", items: { type: "integer" } },
    },
    required: ["type"],
    "x-kubernetes-validations": [
      {
        rule: 'self.type != "Roll" || (has(self.pending))',
        message: 'type "Roll" requires pending',
      },
      {
        rule: 'self.type != "ScaleUp" || (has(self.adding))',
        message: 'type "ScaleUp" requires adding',
      },
    ],
  });
});

test("toStructuralSchema() refuses a tagged union whose members declare one property differently", () => {
  rejects(
    Type.Union([
      Type.Object({ type: Type.Literal("A"), n: Type.Integer() }),
      Type.Object({ type: Type.Literal("B"), n: Type.String() }),
    ]),
    "$.spec.n",
    /declared differently by two members of the union tagged by "type"/,
  );
});

test("toStructuralSchema() merges an intersection of objects into one object", () => {
  const out = toStructuralSchema(
    Type.Intersect([
      Type.Object({ a: Type.String() }),
      Type.Object(
        { b: Type.Optional(Type.Integer()) },
        { "x-kubernetes-validations": [{ rule: "true" }] },
      ),
    ]),
  );
  assert.deepEqual(out, {
    type: "object",
    properties: { a: { type: "string" }, b: { type: "integer" } },
    required: ["a"],
    "x-kubernetes-validations": [{ rule: "true" }],
  });
  rejects(
    Type.Intersect([Type.Object({ a: Type.String() }), Type.Object({ a: Type.Integer() })]),
    "$.spec.a",
    /more than one member of an intersection/,
  );
});

test("toStructuralSchema() refuses untyped fields unless they preserve unknown fields", () => {
  rejects(Type.Object({ any: Type.Unknown() }), "$.spec.any", /has no type.*PreserveUnknownFields/);
  rejects(Type.Object({ any: Type.Any() }), "$.spec.any", /has no type/);
  assert.deepEqual(
    toStructuralSchema(Type.Unknown({ "x-kubernetes-preserve-unknown-fields": true })),
    {
      "x-kubernetes-preserve-unknown-fields": true,
    },
  );
  assert.deepEqual(toStructuralSchema(PreserveUnknownFields({ description: "Config." })), {
    type: "object",
    description: "Config.",
    "x-kubernetes-preserve-unknown-fields": true,
  });
  rejects(
    { type: "object", "x-kubernetes-preserve-unknown-fields": false },
    "$.spec",
    /must be true/,
  );
});

test("toStructuralSchema() refuses $ref, $id, tuples and uniqueItems with what to do instead", () => {
  rejects(Type.Object({ next: Type.Ref("Node") }), "$.spec.next", /\$ref.*inline the schema/);
  rejects(Type.String({ $id: "Name" }), "$.spec", /\$id is not allowed/);
  rejects(
    Type.Object({ pair: Type.Tuple([Type.String(), Type.Integer()]) }),
    "$.spec.pair",
    /tuples are not supported.*named fields/,
  );
  rejects(
    Type.Array(Type.String(), { uniqueItems: true }),
    "$.spec",
    /uniqueItems.*x-kubernetes-list-type.*set/,
  );
  rejects({ type: "array" }, "$.spec", /needs an item schema/);
  rejects({ type: "string", if: { minLength: 1 } }, "$.spec", /if\/then\/else.*CEL/);
  rejects({ type: "string", examples: ["a"] }, "$.spec", /use `example`/);
  rejects({ type: "string", foo: 1 }, "$.spec", /keyword "foo" is not supported/);
  rejects(
    { type: "integer", minLength: 1 },
    "$.spec",
    /"minLength" applies to string fields, not to integer/,
  );
  rejects({ type: "bigint" }, "$.spec", /not a JSON type Kubernetes can store/);
});

test("toStructuralSchema() names nested paths: fields, list items, map values, odd keys", () => {
  const schema = Type.Object({
    brokers: Type.Array(Type.Object({ port: Type.Unknown() })),
    labels: Type.Record(Type.String(), Type.Object({ x: Type.Unknown() })),
    "a.b": Type.Unknown(),
  });
  rejects(schema, "$.spec.brokers[*].port", /has no type/);
  rejects(
    Type.Object({ labels: Type.Record(Type.String(), Type.Object({ x: Type.Unknown() })) }),
    "$.spec.labels.*.x",
    /has no type/,
  );
  rejects(Type.Object({ "a.b": Type.Unknown() }), '$.spec["a.b"]', /has no type/);
});

test("toStructuralSchema() writes exclusive bounds in the OpenAPI 3.0 boolean form", () => {
  assert.deepEqual(toStructuralSchema(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })), {
    type: "number",
    minimum: 0,
    exclusiveMinimum: true,
    maximum: 1,
    exclusiveMaximum: true,
  });
  rejects(
    Type.Number({ minimum: 1, exclusiveMinimum: 0 }),
    "$.spec",
    /both minimum and exclusiveMinimum/,
  );
});

test("toStructuralSchema() passes CEL rules through and checks their shape", () => {
  const rule = {
    rule: "self.a <= self.b",
    message: "a must not exceed b",
    messageExpression: "'a is ' + self.name",
    reason: "FieldValueInvalid",
    fieldPath: ".a",
  };
  const out = toStructuralSchema(
    Type.Object({ a: Type.Integer(), b: Type.Integer() }, { "x-kubernetes-validations": [rule] }),
  );
  assert.deepEqual(out["x-kubernetes-validations"], [rule]);
  const at = "$.spec (x-kubernetes-validations[0])";
  const withRule = (r: unknown) => ({ type: "object", "x-kubernetes-validations": [r] });
  rejects(withRule({ message: "x" }), at, /non-empty CEL `rule`/);
  rejects(withRule({ rule: "true", msg: "x" }), at, /unknown key "msg"/);
  rejects(withRule({ rule: "true", message: "two\nlines" }), at, /one line/);
  rejects(withRule({ rule: "true", reason: "Bad" }), at, /reason "Bad" must be one of/);
  rejects(
    { type: "object", "x-kubernetes-validations": { rule: "true" } },
    "$.spec",
    /must be a list/,
  );
  const fields = Type.Object({
    tls: Type.Object({ secretName: Type.String() }),
    labels: Type.Record(Type.String(), Type.String()),
    hosts: Type.Array(Type.Object({ name: Type.String() })),
  });
  const withPath = (fieldPath: string) => ({
    ...fields,
    "x-kubernetes-validations": [{ rule: "true", fieldPath }],
  });
  for (const ok of [".tls.secretName", ".labels['app.kubernetes.io/name']", ".hosts[0].name"]) {
    assert.doesNotThrow(() => toStructuralSchema(withPath(ok)), ok);
  }
  rejects(withPath(".metadata.name"), at, /fieldPath ".metadata.name" does not name a field/);
  rejects(withPath("tls"), at, /fieldPath "tls" does not name a field/);
});

test("toStructuralSchema() checks list types: set needs scalars, map needs required keys", () => {
  const users = (item: Parameters<typeof Type.Array>[0], options: Record<string, unknown>) =>
    Type.Array(item, options);
  assert.deepEqual(toStructuralSchema(users(Type.String(), { "x-kubernetes-list-type": "set" })), {
    type: "array",
    items: { type: "string" },
    "x-kubernetes-list-type": "set",
  });
  const user = Type.Object({ name: Type.String(), role: Type.Optional(Type.String()) });
  const map = toStructuralSchema(
    users(user, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] }),
  );
  assert.equal(map["x-kubernetes-list-type"], "map");
  assert.deepEqual(map["x-kubernetes-list-map-keys"], ["name"]);
  rejects(users(user, { "x-kubernetes-list-type": "set" }), "$.spec", /needs scalar items/);
  rejects(
    users(user, { "x-kubernetes-list-type": "map" }),
    "$.spec",
    /needs x-kubernetes-list-map-keys/,
  );
  rejects(
    users(user, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["role"] }),
    "$.spec[*]",
    /key "role" must be required or have a default/,
  );
  rejects(
    users(user, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uid"] }),
    "$.spec",
    /key "uid" must be a scalar field/,
  );
  rejects(Type.String({ "x-kubernetes-list-type": "set" }), "$.spec", /applies to arrays only/);
  rejects(
    users(Type.String(), { "x-kubernetes-list-type": "bag" }),
    "$.spec",
    /"atomic", "set" or "map"/,
  );
});

test("toStructuralSchema() checks defaults and writes nested defaults into them", () => {
  const out = toStructuralSchema(
    Type.Object({
      tls: Type.Object(
        {
          enabled: Type.Boolean({ default: false }),
          port: Type.Optional(Type.Integer({ default: 443 })),
        },
        { default: {} },
      ),
    }),
  );
  // The API server validates a default as written, so {} would miss `enabled`.
  assert.deepEqual(out.properties?.tls?.default, { enabled: false, port: 443 });
  rejects(
    Type.Integer({ minimum: 1, default: 0 }),
    "$.spec",
    /default 0 does not match the field's schema/,
  );
  rejects(
    Type.Object({ mode: Type.Union([Type.Literal("a"), Type.Literal("b")], { default: "c" }) }),
    "$.spec.mode",
    /default "c" does not match/,
  );
  rejects(
    Type.Object({ a: Type.Optional(Type.String()) }, { default: { b: "x" } }),
    "$.spec",
    /has fields the schema does not declare: default.b/,
  );
});

test("toStructuralSchema() allows value validations in anyOf/oneOf/not, and nothing else there", () => {
  const both = Type.Object(
    { a: Type.Optional(Type.String()), b: Type.Optional(Type.String()) },
    {
      oneOf: [{ required: ["a"] }, { required: ["b"] }],
      not: { properties: { a: { const: "x" } } },
    },
  );
  const out = toStructuralSchema(both);
  assert.deepEqual(out.oneOf, [{ required: ["a"] }, { required: ["b"] }]);
  assert.deepEqual(out.not, { properties: { a: { enum: ["x"] } } });
  rejects(
    { ...both, anyOf: [{ required: ["c"] }] },
    "$.spec (anyOf[0])",
    /requires "c", which the object does not declare/,
  );
  rejects(
    { ...both, anyOf: [{ properties: { a: { type: "string", description: "x" } } }] },
    "$.spec (anyOf[0]).a",
    /"type" is not allowed inside allOf\/anyOf\/oneOf\/not/,
  );
});

test("toStructuralSchema() checks the other x-kubernetes extensions", () => {
  rejects({ type: "string", "x-kubernetes-embedded-resource": true }, "$.spec", /on an object/);
  rejects({ type: "object", "x-kubernetes-map-type": "loose" }, "$.spec", /"atomic" or "granular"/);
  assert.deepEqual(
    toStructuralSchema({
      type: "object",
      "x-kubernetes-embedded-resource": true,
      "x-kubernetes-preserve-unknown-fields": true,
      "x-kubernetes-map-type": "atomic",
    }),
    {
      type: "object",
      "x-kubernetes-embedded-resource": true,
      "x-kubernetes-preserve-unknown-fields": true,
      "x-kubernetes-map-type": "atomic",
    },
  );
});

test("toStructuralSchema() neither mutates its input nor leaks TypeBox's own keys", () => {
  const schema = Type.Object({ a: Type.Optional(Type.Integer({ exclusiveMinimum: 0 })) });
  const before = JSON.stringify(schema);
  const out = toStructuralSchema(schema);
  assert.equal(JSON.stringify(schema), before);
  assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
  assert.ok(!JSON.stringify(out).includes("~"));
});

/** Structural-schema rules, checked node by node (the API server's own list). */
function assertStructural(node: JSONSchemaProps, path = "$"): void {
  const typed =
    node.type !== undefined ||
    node["x-kubernetes-int-or-string"] === true ||
    node["x-kubernetes-preserve-unknown-fields"] === true;
  assert.ok(typed, `${path} has no type`);
  assert.ok(!("$ref" in node) && !("patternProperties" in node) && !("const" in node), path);
  for (const keyword of ["allOf", "oneOf", "anyOf"] as const) {
    for (const branch of node[keyword] ?? []) {
      const intOrString = node["x-kubernetes-int-or-string"] && keyword === "anyOf";
      if (!intOrString) assert.ok(!("type" in branch), `${path} ${keyword} has a type`);
    }
  }
  assert.ok(!(node.properties && node.additionalProperties), `${path} has both`);
  for (const [key, child] of Object.entries(node.properties ?? {}))
    assertStructural(child, `${path}.${key}`);
  if (node.additionalProperties) assertStructural(node.additionalProperties, `${path}.*`);
  if (node.items) assertStructural(node.items, `${path}[*]`);
}

test("toStructuralSchema() output is structural for any schema built from TypeBox's supported types", () => {
  const leaf = fc.oneof(
    fc.constant(Type.String()),
    fc.constant(Type.Integer({ minimum: 0 })),
    fc.constant(Type.Number({ exclusiveMaximum: 10 })),
    fc.constant(Type.Boolean()),
    fc.constant(IntOrString()),
    fc.constant(PreserveUnknownFields()),
    fc.constant(Type.Union([Type.Literal("a"), Type.Literal("b")])),
    fc.constant(Type.Union([Type.String(), Type.Null()])),
  );
  const { node } = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      tie("node").map((n) => Type.Array(n as never)),
      tie("node").map((n) => Type.Record(Type.String(), n as never)),
      fc
        .dictionary(
          fc.stringMatching(/^[a-z][a-zA-Z]{0,6}$/),
          fc.tuple(tie("node"), fc.boolean()),
          {
            maxKeys: 4,
          },
        )
        .map((fields) =>
          Type.Object(
            Object.fromEntries(
              Object.entries(fields).map(([k, [n, optional]]) => [
                k,
                optional ? Type.Optional(n as never) : (n as never),
              ]),
            ),
          ),
        ),
    ),
  }));
  fc.assert(
    fc.property(node, (schema) => {
      assertStructural(toStructuralSchema(schema));
    }),
    { numRuns: 200 },
  );
});

test("toStructuralSchema() leaves fields with a default out of required: the API server fills them in", () => {
  const schema = toStructuralSchema(
    Type.Object({
      brokers: Type.Integer(),
      port: Type.Integer({ default: 9092 }),
      mode: Type.Union([Type.Literal("a"), Type.Literal("b")], { default: "a" }),
    }),
    "$.spec",
  );
  assert.deepEqual(schema.required, ["brokers"]);
  assert.equal(schema.properties?.port?.default, 9092);
});
