import assert from "node:assert/strict";
import { before, test } from "node:test";
import { createNamespace, type TestCluster, useCluster } from "@ballast/dev/testkit";
import type { KafkaCluster } from "./api.ts";
import { parseProperties } from "./plan/config.ts";
import {
  claim,
  configMap,
  initialNodes,
  pod,
  serverProperties,
  templateHash,
} from "./resources.ts";

const ns = "kafka-resources";
const cluster = {
  apiVersion: "ballast.dev/v1alpha1",
  kind: "KafkaCluster",
  metadata: { name: "k", namespace: ns, uid: "00000000-0000-0000-0000-000000000001" },
  spec: {
    version: "3.9.1",
    brokers: 4,
    controllers: { replicas: 3, mode: "combined" },
    storage: { size: "1Gi", storageClassName: "local" },
    clientPort: 9092,
    config: { "min.insync.replicas": 2, "log.retention.hours": "12" },
    rack: { topologyKey: "topology.kubernetes.io/zone" },
  },
} as KafkaCluster;

let k8s: TestCluster;
before(async () => {
  k8s = await useCluster();
  await createNamespace(k8s, ns);
  await k8s.kubectl(
    "label",
    "namespace",
    ns,
    "pod-security.kubernetes.io/enforce=restricted",
    "--overwrite",
  );
});

test("serverProperties() gives each node its id, roles, listeners and the static quorum; users' keys win over defaults", () => {
  const nodes = initialNodes(cluster);
  const combined = parseProperties(
    serverProperties(cluster, nodes[0] ?? { id: -1, roles: [] }, nodes),
  );
  assert.equal(combined["node.id"], "0");
  assert.equal(combined["process.roles"], "broker,controller");
  assert.equal(combined.listeners, "CLIENT://:9092,REPLICATION://:9091,CONTROLLER://:9093");
  assert.equal(
    combined["controller.quorum.voters"],
    [0, 1, 2].map((id) => `${id}@k-${id}.k-nodes.${ns}.svc.cluster.local:9093`).join(","),
  );
  assert.equal(combined["min.insync.replicas"], "2");
  assert.equal(combined["log.retention.hours"], "12");
  const broker = parseProperties(
    serverProperties(cluster, nodes[3] ?? { id: -1, roles: [] }, nodes),
  );
  assert.equal(broker["process.roles"], "broker");
  assert.equal(broker.listeners, "CLIENT://:9092,REPLICATION://:9091");
  const data = (configMap(cluster, nodes) as unknown as { data: Record<string, string> }).data;
  assert.deepEqual(
    Object.keys(data).sort(),
    [0, 1, 2, 3].map((id) => `node-${id}.properties`),
  );
});

test("templateHash() changes with the version and a restart request, not with broker config", () => {
  const nodes = initialNodes(cluster);
  const node = nodes[0] ?? { id: -1, roles: [] };
  const base = templateHash(cluster, node, nodes);
  assert.notEqual(
    templateHash({ ...cluster, spec: { ...cluster.spec, version: "4.1.0" } }, node, nodes),
    base,
  );
  assert.notEqual(
    templateHash(
      {
        ...cluster,
        metadata: {
          ...cluster.metadata,
          annotations: { "kafka.ballast.dev/restart-requested": "now" },
        },
      },
      node,
      nodes,
    ),
    base,
  );
  assert.equal(
    templateHash(
      { ...cluster, spec: { ...cluster.spec, config: { "log.retention.hours": "1" } } },
      node,
      nodes,
    ),
    base,
  );
});

test("a broker pod and its claim pass the API server's restricted Pod Security profile", async () => {
  const nodes = initialNodes(cluster);
  const p = pod(cluster, nodes[0] ?? { id: -1, roles: [] }, nodes, {
    clusterId: "abc",
    appliedConfig: {},
  });
  // Owner references name a KafkaCluster that does not exist here; dry-run checks admission only.
  const { ownerReferences: _o, ...metadata } = p.metadata;
  const res = await k8s.api(`/api/v1/namespaces/${ns}/pods?dryRun=All`, {
    method: "POST",
    body: { ...p, metadata },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const pvc = await k8s.api(`/api/v1/namespaces/${ns}/persistentvolumeclaims?dryRun=All`, {
    method: "POST",
    body: claim(cluster, 0),
  });
  assert.equal(pvc.status, 201, JSON.stringify(pvc.body));
});
