/**
 * The generated CRDs against the real API server: it rejects non-structural
 * schemas, runs the OpenAPI and CEL validation, applies defaults, and serves
 * the descriptions, printer columns and subresources the definition declares.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, type TestCluster } from "@ballast/dev/testkit";
import Type from "typebox";
import { createNamespaces, deleteNamespaces } from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import { sampleResource } from "./_sample.ts";
import { defineResource } from "./define.ts";
import { IntOrString, PreserveUnknownFields } from "./schemas.ts";
import type { CustomResourceDefinition } from "./types.ts";

const group = "crd-test.ballast.dev";
const suffix = String(process.pid);
const plural = `caches${suffix}`;
const shortName = `cc${suffix}`;
const namespace = `crd-test-${suffix}`;
const Cache = sampleResource(group, plural, shortName);

/** A second kind that exercises the converter's translations. */
const Edge = defineResource({
  group,
  version: "v1",
  kind: "EdgeCase",
  plural: `edges${suffix}`,
  scope: "Cluster",
  description: "Converter edge cases.",
  spec: Type.Intersect([
    Type.Object({
      ratio: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
      tier: Type.Optional(Type.Union([Type.Literal("gold"), Type.Literal("silver")])),
      note: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    }),
    Type.Object({
      limits: Type.Optional(
        Type.Record(Type.String(), Type.Object({ max: Type.Integer({ minimum: 0, default: 10 }) })),
      ),
      extra: Type.Optional(PreserveUnknownFields({ description: "Free-form settings." })),
      anything: Type.Optional(Type.Unknown({ "x-kubernetes-preserve-unknown-fields": true })),
      size: Type.Optional(IntOrString()),
      defaults: Type.Optional(
        Type.Object(
          { a: Type.Integer({ default: 1 }), b: Type.Optional(Type.String({ default: "x" })) },
          { default: {} },
        ),
      ),
      template: Type.Optional(
        Type.Unsafe<Record<string, unknown>>({
          type: "object",
          "x-kubernetes-embedded-resource": true,
          "x-kubernetes-preserve-unknown-fields": true,
        }),
      ),
      oneOfTwo: Type.Optional(
        Type.Object(
          { a: Type.Optional(Type.String()), b: Type.Optional(Type.String()) },
          { oneOf: [{ required: ["a"] }, { required: ["b"] }] },
        ),
      ),
    }),
  ]),
});

let cluster: TestCluster;
let client: KubeClient;

const crdsPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

async function install(crd: CustomResourceDefinition): Promise<CustomResourceDefinition> {
  const created = await cluster.api(crdsPath, { method: "POST", body: crd });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return eventually(
    `${crd.metadata.name} Established`,
    async () => {
      const { body } = await cluster.api<CustomResourceDefinition>(
        `${crdsPath}/${crd.metadata.name}`,
      );
      const established = body.status?.conditions?.some(
        (c) => c.type === "Established" && c.status === "True",
      );
      return established ? body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

const cachesPath = `/apis/${group}/v1alpha1/namespaces/${namespace}/${plural}`;

function cache(name: string, spec: Record<string, unknown>) {
  return { apiVersion: Cache.apiVersion, kind: Cache.kind, metadata: { name }, spec };
}

interface StatusBody {
  message: string;
  reason: string;
  details?: { causes?: { reason: string; message: string; field: string }[] };
}

before(async () => {
  ({ cluster, client } = await createNamespaces([namespace]));
  await Promise.all([install(Cache.crd()), install(Edge.crd())]);
});

after(async () => {
  await deleteNamespaces(client, [namespace]);
  await cluster.api(`${crdsPath}/${Cache.crdName}`, { method: "DELETE" });
  await cluster.api(`${crdsPath}/${Edge.crdName}`, { method: "DELETE" });
});

test("the API server accepts the generated CRDs as structural and establishes them", async () => {
  for (const name of [Cache.crdName, Edge.crdName]) {
    const { body } = await cluster.api<CustomResourceDefinition>(`${crdsPath}/${name}`);
    const types = (body.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`);
    assert.ok(types.includes("Established=True"), types.join(", "));
    assert.ok(types.includes("NamesAccepted=True"), types.join(", "));
    assert.ok(!types.some((t) => t.startsWith("NonStructuralSchema")), types.join(", "));
  }
});

test("a valid resource is created and the server fills in the schema's defaults", async () => {
  const { status, body } = await cluster.api<{ spec: Record<string, unknown> }>(cachesPath, {
    method: "POST",
    body: cache("defaults", { version: "7.2.4", tls: {}, users: [{ name: "alice" }] }),
  });
  assert.equal(status, 201, JSON.stringify(body));
  assert.equal(body.spec.replicas, 3);
  assert.equal(body.spec.mode, "cluster");
  assert.deepEqual(body.spec.tls, { enabled: false });
  assert.deepEqual(body.spec.users, [{ name: "alice", role: "reader" }]);
});

test("a resource breaking a CEL rule is rejected with the rule's message", async () => {
  const tls = await cluster.api<StatusBody>(cachesPath, {
    method: "POST",
    body: cache("bad-tls", { version: "7.2.4", tls: { enabled: true } }),
  });
  assert.equal(tls.status, 422, JSON.stringify(tls.body));
  assert.match(tls.body.message, /tls\.secretName is required when tls\.enabled is true/);
  const cause = tls.body.details?.causes?.find((c) => c.message.includes("tls.secretName"));
  assert.equal(cause?.field, "spec.tls.secretName");
  assert.equal(cause?.reason, "FieldValueRequired");

  const standalone = await cluster.api<StatusBody>(cachesPath, {
    method: "POST",
    body: cache("bad-mode", { version: "7.2.4", mode: "standalone", replicas: 3 }),
  });
  assert.equal(standalone.status, 422, JSON.stringify(standalone.body));
  assert.match(
    standalone.body.message,
    /mode standalone runs exactly one replica; set replicas to 1/,
  );

  // A rule on the whole object (defineResource's `validations`).
  const long = await cluster.api<StatusBody>(cachesPath, {
    method: "POST",
    body: cache("x".repeat(41), { version: "7.2.4" }),
  });
  assert.equal(long.status, 422, JSON.stringify(long.body));
  assert.match(long.body.message, /a CacheCluster name has at most 40 characters/);
});

test("OpenAPI constraints (minimum, enum, pattern, int-or-string) are enforced at admission", async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["min", { version: "7.2.4", replicas: 0 }, /spec\.replicas.*greater than or equal to 1/],
    ["enum", { version: "7.2.4", mode: "ring" }, /spec\.mode.*Unsupported value: "ring"/],
    ["pattern", { version: "seven" }, /spec\.version.*should match/],
    ["port", { version: "7.2.4", port: true }, /spec\.port/],
  ];
  for (const [name, spec, message] of cases) {
    const { status, body } = await cluster.api<StatusBody>(cachesPath, {
      method: "POST",
      body: cache(`bad-${name}`, spec),
    });
    assert.equal(status, 422, `${name}: ${JSON.stringify(body)}`);
    assert.match(body.message, message);
  }
});

test("validate() agrees with the API server on what passes the OpenAPI schema", async () => {
  const specs: Record<string, unknown>[] = [
    { version: "1.0.0" },
    { version: "1.0.0", replicas: 10 },
    { version: "1.0" },
    { version: "1.0.0", mode: "ring" },
    { version: "1.0.0", port: "http", users: [{ name: "bob", role: "admin" }] },
    { version: "1.0.0", users: [{ name: "bob", role: "root" }] },
    { version: "1.0.0", config: { maxmemory: 5 } },
  ];
  for (const [i, spec] of specs.entries()) {
    const object = cache(`agree-${i}`, spec);
    const local = Cache.validate(object);
    const { status, body } = await cluster.api(cachesPath, { method: "POST", body: object });
    assert.equal(
      local.ok,
      status === 201,
      `${JSON.stringify(spec)}: validate() ${JSON.stringify(local.errors)} vs server ${status} ${JSON.stringify(body)}`,
    );
  }
});

test("kubectl explain prints the descriptions set in the schema", async () => {
  const spec = await cluster.kubectl("explain", `${plural}.spec`);
  assert.equal(spec.code, 0, spec.stderr);
  assert.match(spec.stdout, /How many cache nodes to run\./);
  assert.match(spec.stdout, /The desired state of the CacheCluster\./);
  const root = await cluster.kubectl("explain", plural);
  assert.match(root.stdout, /A replicated in-memory cache/);
});

test("kubectl get <shortName> shows the printer columns", async () => {
  const created = await cluster.api(cachesPath, {
    method: "POST",
    body: cache("columns", { version: "7.2.4", replicas: 2 }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const get = await cluster.kubectl("get", shortName, "-n", namespace, "columns");
  assert.equal(get.code, 0, get.stderr);
  const [header, row] = get.stdout.trim().split("\n");
  assert.deepEqual(header?.split(/\s+/), ["NAME", "REPLICAS", "READY", "PHASE", "AGE"]);
  assert.match(row ?? "", /^columns\s+2\s/);
  const wide = await cluster.kubectl("get", shortName, "-n", namespace, "-o", "wide");
  assert.match(wide.stdout.split("\n")[0] ?? "", /\bMODE\b/);
});

test("the status subresource: a PUT to /status changes only the status", async () => {
  const created = await cluster.api<{ metadata: { generation: number } }>(cachesPath, {
    method: "POST",
    body: cache("status", { version: "7.2.4" }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { body: current } = await cluster.api<Record<string, unknown>>(`${cachesPath}/status`);
  const update = {
    ...current,
    spec: { version: "9.9.9", replicas: 5 },
    status: { phase: "Running", replicas: 3, readyReplicas: 3, selector: "app=status" },
  };
  const put = await cluster.api<{ spec: { replicas: number }; status: { phase: string } }>(
    `${cachesPath}/status/status`,
    { method: "PUT", body: update },
  );
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal(put.body.status.phase, "Running");
  assert.equal(put.body.spec.replicas, 3, "spec must not change through /status");

  // And the main resource ignores status.
  const main = await cluster.api<{ status: { phase: string } }>(`${cachesPath}/status`, {
    method: "PUT",
    body: { ...put.body, status: { phase: "Failed" } },
  });
  assert.equal(main.status, 200, JSON.stringify(main.body));
  assert.equal(main.body.status.phase, "Running");

  const scale = await cluster.api<{ spec: { replicas: number }; status: { replicas: number } }>(
    `${cachesPath}/status/scale`,
  );
  assert.equal(scale.status, 200, JSON.stringify(scale.body));
  assert.equal(scale.body.spec.replicas, 3);
  assert.equal(scale.body.status.replicas, 3);
});

test("selectable fields can be used in a field selector", async () => {
  for (const [name, mode, replicas] of [
    ["sel-a", "standalone", 1],
    ["sel-b", "cluster", 3],
  ] as const) {
    const r = await cluster.api(cachesPath, {
      method: "POST",
      body: cache(name, { version: "1.0.0", mode, replicas }),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const { status, body } = await cluster.api<{ items: { metadata: { name: string } }[] }>(
    `${cachesPath}?fieldSelector=spec.mode%3Dstandalone`,
  );
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(
    body.items.map((i) => i.metadata.name),
    ["sel-a"],
  );
});

test("the converter's translations behave on the server as they read", async () => {
  const edges = `/apis/${group}/v1/${Edge.plural}`;
  const post = (name: string, spec: Record<string, unknown>) =>
    cluster.api<StatusBody & { spec: Record<string, unknown> }>(edges, {
      method: "POST",
      body: { apiVersion: Edge.apiVersion, kind: Edge.kind, metadata: { name }, spec },
    });
  try {
    const ok = await post(`ok-${suffix}`, {
      ratio: 0.5,
      tier: "gold",
      note: null,
      limits: { cpu: {} },
      extra: { any: { nested: [1, "two"] } },
      anything: [1, 2],
      size: "10Gi",
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { x: 1 } },
      oneOfTwo: { a: "x" },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.spec.limits, { cpu: { max: 10 } });
    assert.deepEqual(ok.body.spec.extra, { any: { nested: [1, "two"] } });
    assert.deepEqual(ok.body.spec.defaults, { a: 1, b: "x" });
    assert.equal(ok.body.spec.note, null);

    const rejected: [string, Record<string, unknown>, RegExp][] = [
      ["exclusive", { ratio: 0 }, /spec\.ratio/],
      ["tier", { tier: "bronze" }, /spec\.tier.*Unsupported value/],
      ["size", { size: 1.5 }, /spec\.size/],
      ["oneof", { oneOfTwo: { a: "x", b: "y" } }, /spec\.oneOfTwo/],
      ["limit", { limits: { cpu: { max: -1 } } }, /spec\.limits\.cpu\.max/],
    ];
    for (const [name, spec, message] of rejected) {
      const r = await post(`${name}-${suffix}`, spec);
      assert.equal(r.status, 422, `${name}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message, message);
    }
  } finally {
    await cluster.api(`${edges}?labelSelector=`, { method: "DELETE" });
  }
});
