/**
 * What the API server itself refuses of a KafkaCluster, on the real API
 * server with the operator's CRDs installed (server-side dry run: nothing
 * is stored, no operator is needed).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { createNamespace, type TestCluster, useCluster } from "@ballast/dev/testkit";
import { KubeClient } from "@ballast/runtime";
import { installKafkaCrds } from "./operator.ts";

const ns = "kafka-api-admission";
let k8s: TestCluster;

before(async () => {
  k8s = await useCluster();
  await createNamespace(k8s, ns);
  const client = await KubeClient.fromKubeconfig(k8s.kubeconfig);
  try {
    await installKafkaCrds(client);
  } finally {
    client.close();
  }
});

function kafkaCluster(name: string) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "KafkaCluster",
    metadata: { name, namespace: ns },
    spec: { version: "3.9.1", brokers: 3, storage: { size: "1Gi" } },
  };
}

const dryRunCreate = (object: unknown) =>
  k8s.kubectlInput(object, "create", "--dry-run=server", "-f", "-");

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
