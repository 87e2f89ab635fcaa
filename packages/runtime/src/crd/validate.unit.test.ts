import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleResource } from "./_sample.ts";
import { pointerToPath } from "./validate.ts";

const Cache = sampleResource("example.ballast.dev", "cacheclusters", "cc");

function object(spec: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: Cache.apiVersion,
    kind: Cache.kind,
    metadata: { name: "c" },
    spec,
    ...extra,
  };
}

test("validate() accepts a valid object and returns it with the schema's defaults applied", () => {
  const input = object({ version: "7.2.4", tls: {}, users: [{ name: "alice" }] });
  const result = Cache.validate(input);
  assert.ok(result.ok, JSON.stringify(result.errors));
  assert.deepEqual(result.value.spec, {
    version: "7.2.4",
    replicas: 3,
    mode: "cluster",
    tls: { enabled: false },
    users: [{ name: "alice", role: "reader" }],
  });
  assert.deepEqual(input.spec.tls, {}, "the input is not mutated");
});

test("validate() reports each problem with a readable path and message", () => {
  const result = Cache.validate(
    object({
      version: "seven",
      replicas: 0,
      mode: "ring",
      users: [{ role: "admin" }],
      replcas: 3,
    }),
  );
  assert.equal(result.ok, false);
  assert.deepEqual(
    [...result.errors].sort((a, b) => a.path.localeCompare(b.path)),
    [
      { path: "spec.mode", message: 'must be one of "standalone", "cluster"' },
      { path: "spec.replcas", message: "unknown field (the API server would drop it)" },
      { path: "spec.replicas", message: "must be >= 1" },
      { path: "spec.users[0].name", message: "is required" },
      { path: "spec.version", message: 'must match pattern "^[0-9]+\\.[0-9]+\\.[0-9]+$"' },
    ].sort((a, b) => a.path.localeCompare(b.path)),
  );
});

test("validate() checks apiVersion, kind and the presence of spec", () => {
  const result = Cache.validate({ apiVersion: "v1", kind: "Pod", metadata: {} });
  assert.equal(result.ok, false);
  const paths = result.errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ["apiVersion", "kind", "spec"]);
  assert.equal(result.errors.find((e) => e.path === "spec")?.message, "is required");
});

test("validate() does not report metadata fields or free-form map keys as unknown", () => {
  const result = Cache.validate({
    ...object({ version: "1.0.0", config: { "maxmemory-policy": "lru" } }),
    metadata: { name: "c", uid: "1", managedFields: [] },
  });
  assert.ok(result.ok, JSON.stringify(result.errors));
});

test("validate() refuses input that is not an object", () => {
  const result = Cache.validate("cache");
  assert.equal(result.ok, false);
  assert.equal(result.errors[0]?.path, "");
});

test("pointerToPath() turns JSON pointers into dotted paths", () => {
  assert.equal(pointerToPath(""), "");
  assert.equal(pointerToPath("/spec/users/0/name"), "spec.users[0].name");
  assert.equal(pointerToPath("/spec/config/a.b~1c"), 'spec.config["a.b/c"]');
});
