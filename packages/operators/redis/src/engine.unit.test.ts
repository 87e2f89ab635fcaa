/**
 * What spec.engine decides, for both kinds: the default image and the
 * programs a start script runs; a set written before the field existed
 * is a Redis set with the same pods (no roll when the operator upgrades).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RedisCluster } from "./cluster/api.ts";
import {
  clusterImage,
  clusterPod,
  clusterScript,
  clusterTemplateHash,
} from "./cluster/resources.ts";
import { defaultImage, programs } from "./engine.ts";

const rc = {
  apiVersion: "ballast.dev/v1alpha1",
  kind: "RedisCluster",
  metadata: { name: "shards", namespace: "ns", uid: "u" },
  spec: {
    version: "7.0.15",
    shards: 3,
    replicasPerShard: 1,
    persistence: { mode: "none" },
    nodeTimeoutMilliseconds: 5000,
  },
} as unknown as RedisCluster;

const on = (engine: string, version: string, image?: string) =>
  ({ ...rc, spec: { ...rc.spec, engine, version, ...(image ? { image } : {}) } }) as RedisCluster;

test("the default image is the engine's official one at spec.version; spec.image wins", () => {
  assert.equal(defaultImage(undefined, "7.0.15"), "redis:7.0.15");
  assert.equal(defaultImage("redis", "7.2.4"), "redis:7.2.4");
  assert.equal(defaultImage("valkey", "8.0.1"), "valkey/valkey:8.0.1");
  assert.equal(clusterImage(on("valkey", "8.0.1")), "valkey/valkey:8.0.1");
  assert.equal(
    clusterImage(on("valkey", "8.0.1", "registry.example/vk:8")),
    "registry.example/vk:8",
  );
});

test("a cluster node on Valkey starts valkey-server; on Redis, redis-server", () => {
  assert.deepEqual(programs("valkey"), { server: "valkey-server", cli: "valkey-cli" });
  assert.match(clusterScript("valkey"), /exec valkey-server "\$conf"/);
  assert.doesNotMatch(clusterScript("valkey"), /redis-server/);
  assert.match(clusterScript(undefined), /exec redis-server "\$conf"/);
  const container = (
    clusterPod(on("valkey", "8.0.1"), 0, 0).spec as {
      containers: { image: string; command: string[] }[];
    }
  ).containers[0];
  assert.equal(container?.image, "valkey/valkey:8.0.1");
  assert.match(container?.command.join(" ") ?? "", /valkey-server/);
});

test("engine: redis written out is the spec before the field: the same template, no roll", () => {
  assert.equal(clusterTemplateHash(on("redis", "7.0.15")), clusterTemplateHash(rc));
  assert.notEqual(clusterTemplateHash(on("valkey", "7.0.15")), clusterTemplateHash(rc));
});
