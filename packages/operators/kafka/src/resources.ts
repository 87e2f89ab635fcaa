/**
 * The Kubernetes objects a KafkaCluster should have, as pure functions of
 * the cluster and its node list, so they are tested without a cluster.
 *
 * The operator owns each node's Pod directly (no StatefulSet): it alone
 * decides when a broker restarts, node ids need not be contiguous, and each
 * pod carries its own configuration. Data lives in one PVC per node id that
 * outlives its pods (and, like Strimzi's default, the cluster itself).
 */
import { createHash } from "node:crypto";
import type { ApplyObject, KubeObject, OwnerReference } from "@ballast/runtime";
import { KafkaCluster } from "./api.ts";
import { configHash, renderProperties } from "./plan/config.ts";
import type { ClusterNode, NodeId, Role } from "./plan/state.ts";

export const managedBy = "ballast-kafka-operator";
export const labels = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  managedBy: "app.kubernetes.io/managed-by",
  nodeId: "kafka.ballast.dev/node-id",
  broker: "kafka.ballast.dev/broker",
  controller: "kafka.ballast.dev/controller",
} as const;
export const annotations = {
  /** Hash of everything but the broker configuration that a change of needs a restart. */
  templateHash: "kafka.ballast.dev/template-hash",
  /** The user configuration (JSON) this node runs with, dynamic updates included. */
  appliedConfig: "kafka.ballast.dev/applied-config",
  /** Set by users (or `ballast roll`) on the KafkaCluster: a new value rolls every node. */
  restartRequested: "kafka.ballast.dev/restart-requested",
} as const;

export const ports = { replication: 9091, controller: 9093 } as const;

/**
 * A broker pod's readiness gate: the operator sets it True once Kafka lists
 * the broker as registered and unfenced (RUNNING), so "Ready" means serving,
 * not merely "the port is open".
 */
export const brokerRunningGate = "kafka.ballast.dev/broker-running";
export const dataPath = "/var/lib/kafka/data";
const configPath = "/etc/kafka-operator";

type Cluster = KafkaCluster;

export const names = {
  pod: (c: Cluster, id: NodeId) => `${c.metadata.name}-${id}`,
  claim: (c: Cluster, id: NodeId) => `data-${c.metadata.name}-${id}`,
  headless: (c: Cluster) => `${c.metadata.name}-nodes`,
  bootstrap: (c: Cluster) => `${c.metadata.name}-bootstrap`,
  config: (c: Cluster) => `${c.metadata.name}-config`,
  budget: (c: Cluster) => `${c.metadata.name}-kafka`,
};

export function namespaceOf(c: Cluster): string {
  return c.metadata.namespace ?? "default";
}

/** The DNS name other pods reach a node by (hostname + subdomain under the headless Service). */
export function nodeHost(c: Cluster, id: NodeId): string {
  return `${names.pod(c, id)}.${names.headless(c)}.${namespaceOf(c)}.svc.cluster.local`;
}

export function selectorLabels(c: Cluster): Record<string, string> {
  return { [labels.name]: "kafka", [labels.instance]: c.metadata.name ?? "" };
}

function ownerReference(c: Cluster): OwnerReference {
  return {
    apiVersion: KafkaCluster.apiVersion,
    kind: KafkaCluster.kind,
    name: c.metadata.name ?? "",
    uid: c.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

function meta(c: Cluster, name: string, extraLabels: Record<string, string> = {}) {
  return {
    name,
    namespace: namespaceOf(c),
    labels: { ...selectorLabels(c), [labels.managedBy]: managedBy, ...extraLabels },
    ownerReferences: [ownerReference(c)],
  };
}

/** The user's cluster-wide configuration as Kafka reads it: every value text. */
export function userConfig(c: Cluster): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.spec.config ?? {})) out[k] = String(v);
  return out;
}

/**
 * Defaults that make a small cluster safe out of the box; the user's
 * configuration overrides them. From `spec.brokers`, not the nodes running
 * now, so they do not change in the middle of a scale operation.
 */
export function defaultConfig(brokerCount: number): Record<string, string> {
  const brokers = Math.max(1, brokerCount);
  const rf = String(Math.min(3, brokers));
  return {
    "offsets.topic.replication.factor": rf,
    "transaction.state.log.replication.factor": rf,
    "transaction.state.log.min.isr": String(Math.min(2, brokers)),
    "default.replication.factor": rf,
    "min.insync.replicas": String(Math.min(2, brokers)),
    "auto.create.topics.enable": "false",
    // Controlled shutdown moves leadership away before a broker stops.
    "controlled.shutdown.enable": "true",
  };
}

export function quorumVoters(c: Cluster, nodes: readonly ClusterNode[]): string {
  return nodes
    .filter((n) => n.roles.includes("controller"))
    .map((n) => `${n.id}@${nodeHost(c, n.id)}:${ports.controller}`)
    .join(",");
}

/**
 * The per-node part of server.properties the operator owns. The advertised
 * client address (the pod IP) and broker.rack are only known once the pod
 * runs; the start script appends them.
 */
export function nodeConfig(
  c: Cluster,
  node: ClusterNode,
  nodes: readonly ClusterNode[],
): Record<string, string> {
  const broker = node.roles.includes("broker");
  const controller = node.roles.includes("controller");
  const listeners: string[] = [];
  if (broker)
    listeners.push(`CLIENT://:${c.spec.clientPort}`, `REPLICATION://:${ports.replication}`);
  if (controller) listeners.push(`CONTROLLER://:${ports.controller}`);
  return {
    "node.id": String(node.id),
    "process.roles": node.roles.join(","),
    listeners: listeners.join(","),
    "listener.security.protocol.map": "CLIENT:PLAINTEXT,REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name": "REPLICATION",
    "controller.listener.names": "CONTROLLER",
    "controller.quorum.voters": quorumVoters(c, nodes),
    "log.dirs": `${dataPath}/logs`,
  };
}

/** server.properties of one node, without the two lines its start script adds. */
export function serverProperties(
  c: Cluster,
  node: ClusterNode,
  nodes: readonly ClusterNode[],
): string {
  return renderProperties({
    ...defaultConfig(c.spec.brokers),
    ...userConfig(c),
    ...nodeConfig(c, node, nodes),
  });
}

export function configMap(c: Cluster, nodes: readonly ClusterNode[]): ApplyObject {
  const data: Record<string, string> = {};
  for (const node of nodes) data[`node-${node.id}.properties`] = serverProperties(c, node, nodes);
  return { apiVersion: "v1", kind: "ConfigMap", metadata: meta(c, names.config(c)), data };
}

export function image(c: Cluster): string {
  return c.spec.image ?? `apache/kafka:${c.spec.version}`;
}

/**
 * Formats the data volume on first start (with the cluster id from
 * status), completes the configuration, then becomes the broker.
 */
function startScript(c: Cluster, node: ClusterNode): string {
  const broker = node.roles.includes("broker");
  const lines = [
    "set -e",
    "cfg=/tmp/server.properties",
    `cp ${configPath}/server.properties "$cfg"`,
  ];
  if (broker) {
    lines.push(
      `echo "advertised.listeners=CLIENT://$POD_IP:${c.spec.clientPort},REPLICATION://${nodeHost(c, node.id)}:${ports.replication}" >> "$cfg"`,
      'if [ -n "$KAFKA_RACK" ]; then echo "broker.rack=$KAFKA_RACK" >> "$cfg"; fi',
    );
  }
  lines.push(
    `if [ ! -f ${dataPath}/logs/meta.properties ]; then /opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "$CLUSTER_ID" -c "$cfg"; fi`,
    'exec /opt/kafka/bin/kafka-server-start.sh "$cfg"',
  );
  return lines.join("\n");
}

export interface PodInputs {
  clusterId: string;
  /** The configuration this pod starts with (recorded on it for later diffs). */
  appliedConfig: Record<string, string>;
}

/** The fields of a node's pod whose change requires a restart, hashed. */
export function templateHash(c: Cluster, node: ClusterNode, nodes: readonly ClusterNode[]): string {
  const relevant = {
    image: image(c),
    version: c.spec.version,
    jvm: c.spec.jvm ?? null,
    resources: c.spec.resources ?? null,
    clientPort: c.spec.clientPort,
    rack: c.spec.rack ?? null,
    node: nodeConfig(c, node, nodes),
    restart: c.metadata.annotations?.[annotations.restartRequested] ?? null,
  };
  return createHash("sha256").update(JSON.stringify(relevant)).digest("hex").slice(0, 16);
}

export function pod(
  c: Cluster,
  node: ClusterNode,
  nodes: readonly ClusterNode[],
  inputs: PodInputs,
): KubeObject & { spec: unknown } {
  const broker = node.roles.includes("broker");
  const heap = c.spec.jvm?.heap ?? "512M";
  const env = [
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    { name: "CLUSTER_ID", value: inputs.clusterId },
    { name: "KAFKA_HEAP_OPTS", value: `-Xms${heap} -Xmx${heap}` },
    ...(c.spec.jvm?.options?.length
      ? [{ name: "KAFKA_OPTS", value: c.spec.jvm.options.join(" ") }]
      : []),
    ...(c.spec.rack
      ? [
          {
            name: "KAFKA_RACK",
            valueFrom: {
              fieldRef: { fieldPath: `metadata.labels['${c.spec.rack.topologyKey}']` },
            },
          },
        ]
      : []),
  ];
  const probePort = broker ? c.spec.clientPort : ports.controller;
  const roleLabels: Record<string, string> = {
    [labels.nodeId]: String(node.id),
    [labels.broker]: String(broker),
    [labels.controller]: String(node.roles.includes("controller")),
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...meta(c, names.pod(c, node.id), roleLabels),
      annotations: {
        [annotations.templateHash]: templateHash(c, node, nodes),
        [annotations.appliedConfig]: JSON.stringify(sortKeys(inputs.appliedConfig)),
        "kafka.ballast.dev/config-hash": configHash({ ...inputs.appliedConfig }),
      },
    },
    spec: {
      hostname: names.pod(c, node.id),
      subdomain: names.headless(c),
      ...(broker ? { readinessGates: [{ conditionType: brokerRunningGate }] } : {}),
      // Controlled shutdown (leadership moved away, logs flushed) can take a while.
      terminationGracePeriodSeconds: 120,
      restartPolicy: "Always",
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: "RuntimeDefault" },
      },
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: { matchLabels: selectorLabels(c) },
              },
            },
          ],
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: c.spec.rack?.topologyKey ?? "topology.kubernetes.io/zone",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: selectorLabels(c) },
        },
      ],
      containers: [
        {
          name: "kafka",
          image: image(c),
          command: ["/bin/sh", "-c", startScript(c, node)],
          env,
          ports: [
            ...(broker
              ? [
                  { name: "client", containerPort: c.spec.clientPort },
                  { name: "replication", containerPort: ports.replication },
                ]
              : []),
            ...(node.roles.includes("controller")
              ? [{ name: "controller", containerPort: ports.controller }]
              : []),
          ],
          // The listener opens once the node has caught up with the cluster metadata.
          readinessProbe: {
            tcpSocket: { port: probePort },
            periodSeconds: 2,
            failureThreshold: 2,
          },
          ...(c.spec.resources ? { resources: c.spec.resources } : {}),
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
          },
          volumeMounts: [
            { name: "data", mountPath: dataPath },
            { name: "config", mountPath: configPath, readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: names.claim(c, node.id) } },
        {
          name: "config",
          configMap: {
            name: names.config(c),
            items: [{ key: `node-${node.id}.properties`, path: "server.properties" }],
          },
        },
      ],
    },
  };
}

export function claim(c: Cluster, id: NodeId): KubeObject & { spec: unknown } {
  const m = meta(c, names.claim(c, id), { [labels.nodeId]: String(id) });
  // No owner reference: data outlives the KafkaCluster unless someone deletes it on purpose.
  const { ownerReferences: _kept, ...metadata } = m;
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata,
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: c.spec.storage.size } },
      ...(c.spec.storage.storageClassName
        ? { storageClassName: c.spec.storage.storageClassName }
        : {}),
    },
  };
}

export function headlessService(c: Cluster): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(c, names.headless(c)),
    spec: {
      clusterIP: "None",
      // Controllers must find each other before any of them is ready.
      publishNotReadyAddresses: true,
      selector: selectorLabels(c),
      ports: [
        { name: "client", port: c.spec.clientPort },
        { name: "replication", port: ports.replication },
        { name: "controller", port: ports.controller },
      ],
    },
  };
}

export function bootstrapService(c: Cluster): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(c, names.bootstrap(c)),
    spec: {
      selector: { ...selectorLabels(c), [labels.broker]: "true" },
      ports: [{ name: "client", port: c.spec.clientPort }],
    },
  };
}

/**
 * Keeps voluntary disruptions by others (node drains) to one node at a
 * time; the operator's own restarts are deletions, which a budget does not
 * gate, and follow the stricter rules in plan/restart.ts.
 */
export function disruptionBudget(c: Cluster, nodes: readonly ClusterNode[]): ApplyObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(c, names.budget(c)),
    // minAvailable, not maxUnavailable: the latter needs the owner's scale,
    // and pods outnumber spec.brokers when controllers are dedicated.
    spec: {
      minAvailable: Math.max(0, nodes.length - 1),
      selector: { matchLabels: selectorLabels(c) },
    },
  };
}

/** Which roles each node of a fresh cluster gets, in id order. */
export function initialNodes(c: Cluster): ClusterNode[] {
  const { replicas, mode } = c.spec.controllers;
  const out: ClusterNode[] = [];
  if (mode === "dedicated") {
    for (let id = 0; id < replicas; id++) out.push({ id, roles: ["controller"] });
    for (let i = 0; i < c.spec.brokers; i++) out.push({ id: replicas + i, roles: ["broker"] });
  } else {
    for (let id = 0; id < c.spec.brokers; id++) {
      const roles: Role[] = id < replicas ? ["broker", "controller"] : ["broker"];
      out.push({ id, roles });
    }
  }
  return out;
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
