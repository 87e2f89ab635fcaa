/**
 * What the API server itself refuses of a RedisReplication, on the real
 * API server with the operator's CRD installed: server-side dry runs of a
 * create (nothing is stored, no operator runs), and for the rule that
 * compares with the stored object, a real create then a dry-run update.
 * Each refusal names the field and what to do. The schema unit test
 * (api.unit.test.ts) reads the rules' text; this is what they do.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { TestCluster } from "@ballast/dev/testkit";
import { type Admission, admission } from "@ballast/e2e-kit";
import { crds } from "./operator.ts";

const ns = "redis-api-admission";
let k8s: TestCluster;
let api: Admission;

before(async () => {
  api = await admission(ns, crds);
  k8s = api.k8s;
});

function replication(spec: Record<string, unknown> = {}, name = "cache") {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisReplication",
    metadata: { name, namespace: ns },
    spec: {
      version: "7.0.15",
      replicas: 2,
      persistence: { mode: "aof", storage: { size: "1Gi" } },
      ...spec,
    },
  };
}

const dryRun = (verb: "create" | "apply", object: unknown) => api.dryRun(verb, object);

const refused = (spec: Record<string, unknown>, message: RegExp, name?: string) =>
  api.refused(replication(spec, name), message);

test("a valid set is accepted (the refusals below are about their field)", async () => {
  const result = await dryRun(
    "create",
    replication({
      sentinels: 3,
      minReplicasToWrite: 2,
      config: { maxmemory: "1gb", "maxmemory-policy": "allkeys-lru", databases: 32 },
    }),
  );
  assert.equal(result.code, 0, result.stderr);
});

test("an even number of sentinels is refused, saying why", async () => {
  for (const sentinels of [2, 4, 6])
    await refused({ sentinels }, /spec\.sentinels must be odd \(1, 3, 5 or 7\)/);
  await refused({ sentinels: 9 }, /spec\.sentinels/);
});

test("minReplicasToWrite above the replicas is refused: the master would refuse every write", async () => {
  await refused(
    { replicas: 1, minReplicasToWrite: 2 },
    /spec\.minReplicasToWrite cannot exceed spec\.replicas/,
  );
});

test("a persistent set without a volume size is refused; none needs none", async () => {
  await refused(
    { persistence: { mode: "aof" } },
    /spec\.persistence\.storage \(a size\) is required/,
  );
  const none = await dryRun("create", replication({ persistence: { mode: "none" } }));
  assert.equal(none.code, 0, none.stderr);
});

test("a redis.conf key the operator owns (or its slave-* alias) is refused, naming the owned keys", async () => {
  for (const key of ["requirepass", "slaveof", "replica-priority", "slave-priority", "dir", "port"])
    await refused(
      { config: { [key]: "x" } },
      /spec\.config sets a key the operator owns; remove it \(owned: port, bind/,
    );
});

test("a config key not in lower case, or a malformed maxmemory, is refused", async () => {
  await refused(
    { config: { MaxMemory: "1gb" } },
    /spec\.config keys are redis\.conf directives written in lower case/,
  );
  for (const maxmemory of ["1 GB", "lots", "-1", "1tb"])
    await refused({ config: { maxmemory } }, /spec\.config\.maxmemory must be a byte count/);
});

test("a version before 7.0 or not a release number is refused; no replica at all is refused", async () => {
  for (const version of ["latest", "7.0"])
    await refused({ version }, /spec\.version in body should match/);
  for (const version of ["6.2.14", "9.0.0"])
    await refused({ version }, /spec\.version must be a Redis 7 or 8 release/);
  await refused({ replicas: 0 }, /spec\.replicas in body should be greater than or equal to 1/);
});

test("engine valkey takes Valkey's releases (7.2 on), not Redis 7.0's; an unknown engine is refused", async () => {
  const valkey = await dryRun("create", replication({ engine: "valkey", version: "8.0.1" }));
  assert.equal(valkey.code, 0, valkey.stderr);
  for (const version of ["7.0.15", "6.2.0"])
    await refused(
      { engine: "valkey", version },
      /spec\.version must be a Valkey 7\.2, 8 or 9 release/,
    );
  await refused({ engine: "keydb" }, /spec\.engine/);
});

test("redis → valkey on an existing set is accepted (a roll); valkey → redis is refused, saying why", async () => {
  const name = "engine";
  const created = await k8s.kubectlInput(replication({}, name), "create", "-f", "-");
  assert.equal(created.code, 0, created.stderr);
  const toValkey = await dryRun("apply", replication({ engine: "valkey", version: "8.0.1" }, name));
  assert.equal(toValkey.code, 0, toValkey.stderr);
  const onValkey = await k8s.kubectlInput(
    replication({ engine: "valkey", version: "8.0.1" }, "engine-vk"),
    "create",
    "-f",
    "-",
  );
  assert.equal(onValkey.code, 0, onValkey.stderr);
  const back = await dryRun("apply", replication({ engine: "redis" }, "engine-vk"));
  assert.notEqual(back.code, 0, "valkey → redis accepted");
  assert.match(back.stderr, /spec\.engine cannot change from valkey back to redis/);
  // The same rules, shared, on the sharded kind.
  const cluster = await dryRun("create", {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisCluster",
    metadata: { name: "shards", namespace: ns },
    spec: { engine: "valkey", version: "7.0.15", shards: 3, persistence: { mode: "none" } },
  });
  assert.notEqual(cluster.code, 0, "a RedisCluster on Valkey 7.0 accepted");
  assert.match(cluster.stderr, /spec\.version must be a Valkey 7\.2, 8 or 9 release/);
});

test("ACL users: rules with a password or on/off/reset, the name default, a name twice are refused; permissions alone are accepted", async () => {
  const users = (list: unknown[]) => ({ auth: { users: list } });
  const ok = await dryRun(
    "create",
    replication(users([{ name: "app", rules: "~app:* &app:* +@read +@write -@dangerous" }])),
  );
  assert.equal(ok.code, 0, ok.stderr);
  for (const rules of [">secret ~*", "~* #abcd", "on ~* +@all", "~* nopass", "reset +@read"])
    await refused(
      users([{ name: "app", rules }]),
      /spec\.auth\.users\[\]\.rules holds permissions only/,
    );
  await refused(users([{ name: "default", rules: "+@read" }]), /cannot be default/);
  await refused(
    users([
      { name: "app", rules: "+@read" },
      { name: "app", rules: "+@write" },
    ]),
    /Duplicate value/,
  );
  await refused(users([{ name: "App", rules: "+@read" }]), /spec\.auth\.users\[0\]\.name/);
});

test("a name too long for the objects derived from it is refused", async () => {
  await refused({}, /metadata\.name/, "a".repeat(60));
});

test("switching persistence between none and aof/rdb on an existing set is refused; aof ↔ rdb is not", async () => {
  const name = "switch";
  const created = await k8s.kubectlInput(replication({}, name), "create", "-f", "-");
  assert.equal(created.code, 0, created.stderr);
  const toNone = await dryRun("apply", replication({ persistence: { mode: "none" } }, name));
  assert.notEqual(toNone.code, 0, "switched to none");
  assert.match(toNone.stderr, /spec\.persistence\.mode cannot switch between none and aof\/rdb/);
  const toRdb = await dryRun(
    "apply",
    replication({ persistence: { mode: "rdb", storage: { size: "1Gi" } } }, name),
  );
  assert.equal(toRdb.code, 0, toRdb.stderr);
});
