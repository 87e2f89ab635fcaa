import assert from "node:assert/strict";
import { test } from "node:test";
import type { JSONSchemaProps } from "@ballast/runtime";
import { ownedConfigKeys, RedisReplication } from "./api.ts";
import { engineRules } from "./engine.ts";

const spec = RedisReplication.openAPIV3Schema.properties?.spec as JSONSchemaProps;
const field = (name: string) => spec.properties?.[name] as JSONSchemaProps;
const rules = (schema: JSONSchemaProps | undefined) =>
  (schema?.["x-kubernetes-validations"] ?? []).map((r) => r.rule);

const minimal = {
  apiVersion: "ballast.dev/v1alpha1",
  kind: "RedisReplication",
  metadata: { name: "cache", namespace: "default" },
  spec: { version: "7.0.15", replicas: 2, persistence: { storage: { size: "1Gi" } } },
};

test("RedisReplication is a namespaced ballast.dev/v1alpha1 kind with a status subresource and printer columns", () => {
  const crd = RedisReplication.crd();
  assert.equal(crd.metadata.name, "redisreplications.ballast.dev");
  assert.equal(crd.spec.scope, "Namespaced");
  assert.deepEqual(crd.spec.names.shortNames, ["rr", "redisrepl"]);
  const [v] = crd.spec.versions;
  assert.equal(v?.name, "v1alpha1");
  assert.deepEqual(v?.subresources, { status: {} });
  assert.deepEqual(
    v?.additionalPrinterColumns?.map((c) => c.name),
    ["Ready", "Master", "Sentinels", "Engine", "Version", "Operation", "Healthy", "Age"],
  );
});

test("RedisReplication's defaults: 3 sentinels, AOF, no write minimum, Redis's 10 s lag", () => {
  const result = RedisReplication.validate(minimal);
  assert.ok(result.ok, JSON.stringify(result.errors));
  assert.equal(result.value.spec.sentinels, 3);
  assert.equal(result.value.spec.persistence.mode, "aof");
  assert.equal(result.value.spec.minReplicasToWrite, 0);
  assert.equal(result.value.spec.minReplicasMaxLag, 10);
});

test("RedisReplication's schema refuses what it can check without CEL: no replica, too many sentinels, a bad version, unknown fields", () => {
  const bad = RedisReplication.validate({
    ...minimal,
    spec: {
      ...minimal.spec,
      version: "6.2",
      replicas: 0,
      sentinels: 9,
      persistence: { mode: "fsync", storage: { size: "1Gi" } },
      colour: "red",
    },
  });
  assert.equal(bad.ok, false);
  const paths = bad.ok ? [] : bad.errors.map((e) => e.path);
  for (const p of [
    "spec.version",
    "spec.replicas",
    "spec.sentinels",
    "spec.persistence.mode",
    "spec.colour",
  ]) {
    assert.ok(paths.includes(p), `${p} in ${paths.join(", ")}`);
  }
});

test("RedisReplication's CEL rules: odd sentinels, minReplicasToWrite ≤ replicas, storage unless none, owned and malformed config keys", () => {
  assert.deepEqual(rules(field("sentinels")), ["self % 2 == 1"]);
  assert.deepEqual(rules(spec), [
    ...engineRules.map((r) => r.rule),
    "self.minReplicasToWrite <= self.replicas",
  ]);
  assert.deepEqual(rules(field("persistence")), [
    "self.mode == 'none' || has(self.storage)",
    "(self.mode == 'none') == (oldSelf.mode == 'none')",
  ]);
  const config = rules(field("config"));
  assert.equal(config.length, 3);
  for (const key of [
    "port",
    "replicaof",
    "slaveof",
    "requirepass",
    "masterauth",
    "dir",
    "replica-announce-ip",
    "replica-priority",
    "min-replicas-to-write",
    "rename-command",
  ]) {
    assert.ok((ownedConfigKeys as readonly string[]).includes(key), key);
    assert.ok(config[1]?.includes(`'${key}'`), `the owned-key rule lists ${key}`);
  }
  assert.match(config[2] ?? "", /maxmemory/);
  assert.match(
    (RedisReplication.openAPIV3Schema["x-kubernetes-validations"] ?? [])[0]?.rule ?? "",
    /size\(self\.metadata\.name\) <= 47/,
  );
});

test("RedisReplication's fields describe themselves for kubectl explain", () => {
  const undocumented: string[] = [];
  const walk = (schema: JSONSchemaProps | undefined, path: string) => {
    if (!schema) return;
    // requests/limits come from @ballast/stateful's ComputeResources, as Kubernetes names them.
    const standard = /\.resources\.(requests|limits)$/.test(path);
    if (path && !schema.description && !standard) undocumented.push(path);
    for (const [name, child] of Object.entries(schema.properties ?? {})) {
      walk(child, `${path}.${name}`);
    }
  };
  walk(spec, "");
  assert.deepEqual(undocumented, []);
});
