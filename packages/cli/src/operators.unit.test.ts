import assert from "node:assert/strict";
import { test } from "node:test";
import { loadOperators, operatorNames, UnknownOperatorError } from "./operators.ts";

test("loadOperators() loads every registered descriptor, each under its own name", async () => {
  const operators = await loadOperators();
  assert.deepEqual(
    operators.map((o) => o.name),
    operatorNames,
  );
  for (const operator of operators) {
    assert.ok(operator.crds.length > 0, operator.name);
    assert.equal(typeof operator.status, "function", `${operator.name} has a status view`);
  }
});

test("loadOperators(names) loads only those, and refuses a name it does not know", async () => {
  assert.deepEqual(
    (await loadOperators(["kafka"])).map((o) => o.name),
    ["kafka"],
  );
  await assert.rejects(
    loadOperators(["kafak"]),
    (e: unknown) =>
      e instanceof UnknownOperatorError &&
      /unknown operator "kafak": expected one of kafka, zookeeper, redis/.test(e.message),
  );
});

test("the Kafka status view shows Kafka kinds and leaves others to the generic view", async () => {
  const [kafka] = await loadOperators(["kafka"]);
  const view = await kafka?.status?.();
  assert.ok(view);
  const options = { style: { color: false }, now: new Date() };
  const topic = {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "KafkaTopic",
    metadata: { name: "orders", namespace: "data" },
    spec: { cluster: "events", partitions: 3, replicas: 3 },
  };
  assert.match(view(topic, options) ?? "", /^KafkaTopic data\/orders: no status yet/);
  assert.equal(view({ ...topic, kind: "RedisCluster" }, options), undefined);
});
