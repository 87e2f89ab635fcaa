/**
 * The Kubernetes objects a KafkaCluster should have, as pure functions of
 * the cluster and its node list, so they are tested without a cluster.
 *
 * The operator owns each node's Pod directly (no StatefulSet): it alone
 * decides when a broker restarts, node ids need not be contiguous, and each
 * pod carries its own configuration. Data lives in one PVC per node id that
 * outlives its pods (and, like Strimzi's default, the cluster itself).
 */
import type { ApplyObject, KubeObject } from "@ballast/runtime";
import {
  templateHash as hashOf,
  memberClaim,
  memberDisruptionBudget,
  headlessService as memberService,
  memberSpread,
  namespaceOf,
  ownedMeta,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type SetIdentity,
  selectorLabels as setSelector,
  wellKnownLabels,
} from "@ballast/stateful";
import type { KafkaCluster } from "./api.ts";
import { configHash, renderProperties } from "./plan/config.ts";
import type { ClusterNode, NodeId, Role } from "./plan/state.ts";

export const managedBy = "ballast-kafka-operator";
const identity: SetIdentity = { system: "kafka", managedBy };
export const labels = {
  ...wellKnownLabels,
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

export { namespaceOf };

/** The DNS name other pods reach a node by (hostname + subdomain under the headless Service). */
export function nodeHost(c: Cluster, id: NodeId): string {
  return `${names.pod(c, id)}.${names.headless(c)}.${namespaceOf(c)}.svc.cluster.local`;
}

export function selectorLabels(c: Cluster): Record<string, string> {
  return setSelector(identity.system, c);
}

function meta(c: Cluster, name: string, extraLabels: Record<string, string> = {}) {
  return ownedMeta(identity, c, name, extraLabels);
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
  return hashOf(relevant);
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
      securityContext: restrictedPodSecurityContext(1000),
      ...memberSpread(selectorLabels(c), c.spec.rack?.topologyKey),
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
          // A broker that exits at startup (a value Kafka refuses) leaves its log's tail here,
          // where a halted roll's status reads the reason (plan/halt.ts).
          terminationMessagePolicy: "FallbackToLogsOnError",
          securityContext: restrictedContainerSecurityContext(),
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
  return memberClaim(
    identity,
    c,
    names.claim(c, id),
    { [labels.nodeId]: String(id) },
    c.spec.storage,
  );
}

/** Controllers must find each other before any of them is ready: not-ready addresses are published. */
export function headlessService(c: Cluster): ApplyObject {
  return memberService(identity, c, names.headless(c), [
    { name: "client", port: c.spec.clientPort },
    { name: "replication", port: ports.replication },
    { name: "controller", port: ports.controller },
  ]);
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
 * One node down at a time for voluntary disruptions by others (node
 * drains); the operator's own restarts follow the stricter rules in
 * plan/restart.ts.
 */
export function disruptionBudget(c: Cluster, nodes: readonly ClusterNode[]): ApplyObject {
  return memberDisruptionBudget(identity, c, names.budget(c), nodes.length);
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
