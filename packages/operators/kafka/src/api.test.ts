/**
 * What the API server itself refuses of a KafkaCluster or KafkaTopic, on the
 * real API server with the operator's CRDs installed. No operator is needed:
 * creates are server-side dry runs, except where a rule compares an update
 * with what is stored (then the test writes the status the operator would).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { TestCluster } from "@ballast/dev/testkit";
import { type Admission, admission } from "@ballast/e2e-kit";
import { installKafkaCrds } from "./operator.ts";

const ns = "kafka-api-admission";
let k8s: TestCluster;
let api: Admission;

before(async () => {
  api = await admission(ns, installKafkaCrds);
  k8s = api.k8s;
});

function kafkaCluster(name: string) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "KafkaCluster",
    metadata: { name, namespace: ns },
    spec: { version: "3.9.1", brokers: 3, storage: { size: "1Gi" } },
  };
}

const dryRunCreate = (object: unknown) => api.dryRun("create", object);

test("a KafkaCluster name that its Services could not carry is refused at admission, saying the limit", async () => {
  const tooLong = `k${"a".repeat(53)}`; // 54 characters: <name>-bootstrap would be 64
  const refused = await dryRunCreate(kafkaCluster(tooLong));
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /metadata\.name must be at most 53 lower-case letters/);
  for (const bad of ["1events", "events-"]) {
    const result = await dryRunCreate(kafkaCluster(bad));
    assert.notEqual(result.code, 0, bad);
    assert.match(result.stderr, /metadata\.name must be/, bad);
  }
  const longest = await dryRunCreate(kafkaCluster(`k${"a".repeat(52)}`));
  assert.equal(longest.code, 0, longest.stderr);
});

function kafkaTopic(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "KafkaTopic",
    metadata: { name, namespace: ns },
    spec: { cluster: "events", partitions: 1, replicas: 5, ...spec },
  };
}

test("a KafkaTopic's replicas can be corrected until the topic exists, then cannot change", async () => {
  const name = `wide-${Date.now().toString(36)}`;
  const made = await k8s.kubectlInput(kafkaTopic(name), "create", "-f", "-");
  assert.equal(made.code, 0, made.stderr);
  const patch = (body: unknown, ...extra: string[]) =>
    k8s.kubectl(
      "patch",
      "kafkatopic",
      name,
      "-n",
      ns,
      "--type=merge",
      ...extra,
      "-p",
      JSON.stringify(body),
    );
  const corrected = await patch({ spec: { replicas: 3 } });
  assert.equal(corrected.code, 0, corrected.stderr);
  // What the operator writes once the topic exists in Kafka.
  const exists = await patch({ status: { partitions: 1 } }, "--subresource=status");
  assert.equal(exists.code, 0, exists.stderr);
  const changed = await patch({ spec: { replicas: 2 } });
  assert.notEqual(changed.code, 0);
  assert.match(changed.stderr, /spec\.replicas cannot change once the topic exists/);
  await k8s.kubectl("delete", "kafkatopic", name, "-n", ns);
});

test("a KafkaTopic whose name is too long for a Kafka topic is refused unless spec.topicName is set", async () => {
  const long = `t${"a".repeat(249)}`;
  const refused = await dryRunCreate(kafkaTopic(long, { replicas: 3 }));
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /at most 249 characters: shorten it or set spec.topicName/);
  const named = await dryRunCreate(kafkaTopic(long, { replicas: 3, topicName: "short" }));
  assert.equal(named.code, 0, named.stderr);
});
