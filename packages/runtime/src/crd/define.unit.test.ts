import assert from "node:assert/strict";
import { test } from "node:test";
import Type from "typebox";
import { sampleResource, sampleSpec, sampleStatus } from "./_sample.ts";
import { crdForVersions, defineResource, type ResourceOf, type SpecOf } from "./define.ts";
import { CrdSchemaError, ResourceDefinitionError } from "./errors.ts";

const Cache = sampleResource("example.ballast.dev", "cacheclusters", "cc");

test("defineResource() gives the apiVersion, kind and CRD name", () => {
  assert.equal(Cache.apiVersion, "example.ballast.dev/v1alpha1");
  assert.equal(Cache.kind, "CacheCluster");
  assert.equal(Cache.crdName, "cacheclusters.example.ballast.dev");
  assert.equal(Cache.singular, "cachecluster");
});

test("crd() carries the names, scope and one served storage version", () => {
  const crd = Cache.crd();
  assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
  assert.equal(crd.kind, "CustomResourceDefinition");
  assert.equal(crd.metadata.name, "cacheclusters.example.ballast.dev");
  assert.equal(crd.spec.group, "example.ballast.dev");
  assert.equal(crd.spec.scope, "Namespaced");
  assert.deepEqual(crd.spec.names, {
    plural: "cacheclusters",
    singular: "cachecluster",
    kind: "CacheCluster",
    listKind: "CacheClusterList",
    shortNames: ["cc"],
    categories: ["ballast-test"],
  });
  assert.equal(crd.spec.versions.length, 1);
  const [version] = crd.spec.versions;
  assert.equal(version?.name, "v1alpha1");
  assert.equal(version?.served, true);
  assert.equal(version?.storage, true);
  assert.equal(version?.deprecated, undefined);
});

test("crd() enables the status and scale subresources and selectable fields", () => {
  const [version] = Cache.crd().spec.versions;
  assert.deepEqual(version?.subresources, {
    status: {},
    scale: {
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.selector",
    },
  });
  assert.deepEqual(version?.selectableFields, [{ jsonPath: ".spec.mode" }]);
});

test("crd() lists the printer columns and appends an Age column", () => {
  const columns = Cache.crd().spec.versions[0]?.additionalPrinterColumns ?? [];
  assert.deepEqual(
    columns.map((c) => [c.name, c.type, c.jsonPath]),
    [
      ["Replicas", "integer", ".spec.replicas"],
      ["Ready", "integer", ".status.readyReplicas"],
      ["Phase", "string", ".status.phase"],
      ["Mode", "string", ".spec.mode"],
      ["Age", "date", ".metadata.creationTimestamp"],
    ],
  );
  assert.equal(columns[2]?.description, "Life phase.");
  assert.equal(columns[3]?.priority, 1);
});

test("crd()'s root schema: metadata is a bare object, spec is required and described", () => {
  const root = Cache.crd().spec.versions[0]?.schema.openAPIV3Schema;
  assert.equal(root?.type, "object");
  assert.equal(
    root?.description,
    "A replicated in-memory cache (a sample kind for the crd tests).",
  );
  assert.deepEqual(root?.required, ["spec"]);
  assert.deepEqual(root?.properties?.metadata, { type: "object" });
  assert.equal(root?.properties?.apiVersion?.type, "string");
  assert.equal(root?.properties?.kind?.type, "string");
  assert.equal(root?.properties?.spec?.description, "The desired state of the CacheCluster.");
  assert.match(root?.properties?.status?.description ?? "", /observed state/);
  assert.equal(
    root?.properties?.spec?.properties?.replicas?.description,
    "How many cache nodes to run.",
  );
  assert.deepEqual(
    root?.["x-kubernetes-validations"]?.map((v) => v.rule),
    ["self.metadata.name.size() <= 40"],
  );
  // The spec has a required field without a default, so it gets no default.
  assert.equal(root?.properties?.spec?.default, undefined);
});

test("crd() returns a fresh copy each call", () => {
  const first = Cache.crd();
  first.spec.names.plural = "changed";
  const schema = first.spec.versions[0]?.schema.openAPIV3Schema;
  if (schema?.properties) delete schema.properties.spec;
  const second = Cache.crd();
  assert.equal(second.spec.names.plural, "cacheclusters");
  assert.ok(second.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec);
});

const minimal = {
  group: "example.ballast.dev",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  scope: "Cluster",
  description: "A widget.",
} as const;

test("a spec whose required fields all have defaults defaults to those defaults", () => {
  const Widget = defineResource({
    ...minimal,
    spec: Type.Object({
      size: Type.Integer({ default: 1 }),
      color: Type.Optional(Type.String()),
    }),
  });
  const spec = Widget.openAPIV3Schema.properties?.spec;
  assert.deepEqual(spec?.default, { size: 1 });
  assert.equal(Widget.crd().spec.versions[0]?.subresources, undefined);
  assert.equal(Widget.crd().spec.versions[0]?.additionalPrinterColumns, undefined);
});

test("defineResource() refuses names Kubernetes would reject, quoting the value", () => {
  const spec = Type.Object({});
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ group: "nodots" }, /group "nodots" is invalid: .*at least one dot/],
    [{ group: "Example.dev" }, /group "Example.dev" is invalid/],
    [{ version: "V1" }, /version "V1" is invalid/],
    [{ kind: "widget" }, /kind "widget" is invalid: UpperCamelCase/],
    [{ plural: "Widgets" }, /plural "Widgets" is invalid/],
    [{ singular: "wid_get" }, /singular "wid_get" is invalid/],
    [{ shortNames: ["w", "W2"] }, /short name "W2" is invalid/],
    [{ categories: ["all stuff"] }, /category "all stuff" is invalid/],
    [{ scope: "Global" }, /scope "Global" is invalid/],
    [{ description: " " }, /Widget needs a description/],
  ];
  for (const [override, message] of cases) {
    assert.throws(
      () => defineResource({ ...minimal, spec, ...override } as never),
      (error: unknown) =>
        error instanceof ResourceDefinitionError &&
        error.name === "ResourceDefinitionError" &&
        message.test(error.message),
      JSON.stringify(override),
    );
  }
});

test("defineResource() refuses a spec or status that is not an object", () => {
  assert.throws(
    () => defineResource({ ...minimal, spec: Type.String() }),
    (error: unknown) => error instanceof CrdSchemaError && error.path === "$.spec",
  );
  assert.throws(
    () => defineResource({ ...minimal, spec: Type.Object({}), status: Type.Array(Type.String()) }),
    (error: unknown) => error instanceof CrdSchemaError && error.path === "$.status",
  );
});

test("defineResource() reports a bad schema with its path inside the object", () => {
  assert.throws(
    () => defineResource({ ...minimal, spec: Type.Object({ x: Type.Object({ y: Type.Any() }) }) }),
    (error: unknown) => error instanceof CrdSchemaError && error.path === "$.spec.x.y",
  );
});

test("printer columns must point at declared fields of a matching type", () => {
  const define = (printerColumns: never) =>
    defineResource({ ...minimal, spec: sampleSpec, status: sampleStatus, printerColumns });
  assert.throws(
    () => define([{ name: "Phase", type: "string", jsonPath: ".status.phsae" }] as never),
    /printer column "Phase" shows \.status\.phsae, which the schema does not declare/,
  );
  assert.throws(
    () => define([{ name: "Replicas", type: "string", jsonPath: ".spec.replicas" }] as never),
    /printer column "Replicas" has type string but \.spec\.replicas is integer/,
  );
  assert.throws(
    () => define([{ name: "X", type: "text", jsonPath: ".spec.mode" }] as never),
    /type "text" must be one of/,
  );
  const ok = define([
    { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: "Created", type: "date", jsonPath: ".metadata.creationTimestamp" },
    { name: "Setting", type: "string", jsonPath: ".spec.config.maxmemory" },
  ] as never);
  const names = ok.crd().spec.versions[0]?.additionalPrinterColumns?.map((c) => c.name);
  assert.deepEqual(names, ["Ready", "Created", "Setting"]);
});

test("the scale subresource needs a status and integer replica fields", () => {
  const scale = { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" };
  assert.throws(
    () => defineResource({ ...minimal, spec: sampleSpec, scale }),
    /scale subresource needs a status schema/,
  );
  assert.throws(
    () =>
      defineResource({
        ...minimal,
        spec: sampleSpec,
        status: sampleStatus,
        scale: { ...scale, specReplicasPath: ".spec.version" },
      }),
    /scale specReplicasPath ".spec.version" must name a integer field under .spec/,
  );
  assert.throws(
    () =>
      defineResource({
        ...minimal,
        spec: sampleSpec,
        status: sampleStatus,
        selectableFields: [".spec.config"],
      }),
    /selectable field ".spec.config" must name a string or integer or boolean field/,
  );
});

test("crdForVersions() serves several versions from one CRD with one storage version", () => {
  const v1 = defineResource({ ...minimal, spec: Type.Object({ size: Type.Integer() }) });
  const v1beta1 = defineResource({
    ...minimal,
    version: "v1beta1",
    spec: Type.Object({ size: Type.Integer() }),
    deprecated: "example.ballast.dev/v1beta1 Widget is deprecated; use v1",
  });
  const crd = crdForVersions([v1beta1, v1], { storage: "v1" });
  assert.deepEqual(
    crd.spec.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false]),
    [
      ["v1beta1", true, false, true],
      ["v1", true, true, false],
    ],
  );
  assert.match(crd.spec.versions[0]?.deprecationWarning ?? "", /use v1/);
  assert.throws(
    () => crdForVersions([v1], { storage: "v2" }),
    /storage version "v2" is not among v1/,
  );
  const other = defineResource({ ...minimal, kind: "Gadget", spec: Type.Object({}) });
  assert.throws(
    () => crdForVersions([v1, other], { storage: "v1" }),
    /versions of one CRD share group, kind, plural and scope/,
  );
  assert.throws(() => crdForVersions([v1, v1], { storage: "v1" }), /version v1 is given twice/);
});

test("ResourceOf gives the object type: typed spec and status, literal apiVersion and kind", () => {
  type CacheCluster = ResourceOf<typeof Cache>;
  const object: CacheCluster = {
    apiVersion: "example.ballast.dev/v1alpha1",
    kind: "CacheCluster",
    metadata: { name: "c", namespace: "n" },
    spec: { replicas: 3, version: "1.0.0", mode: "cluster" },
    status: { phase: "Running" },
  };
  // @ts-expect-error mode is a union of literals
  const badMode: SpecOf<typeof Cache> = { replicas: 1, version: "1", mode: "ring" };
  // @ts-expect-error the apiVersion is a literal type
  const badVersion: CacheCluster["apiVersion"] = "example.ballast.dev/v1";
  const Widget = defineResource({ ...minimal, spec: Type.Object({}) });
  const widget = { apiVersion: "example.ballast.dev/v1", kind: "Widget", metadata: {} } as const;
  // @ts-expect-error a kind without a status schema has no status field
  const noStatus: ResourceOf<typeof Widget> = { ...widget, spec: {}, status: {} };
  assert.ok(object && badMode && badVersion && noStatus);
});
