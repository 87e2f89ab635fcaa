/**
 * What `ballast status` shows of Kafka objects: the facts an operator on
 * call asks first (is it ready, which node is the controller, what is the
 * operator doing and what is it waiting for), from `.status` alone.
 */

import type { KubeObject, StatusView, StatusViewOptions } from "@ballast/runtime";
import { conditionLines, fields, paint, paintStatus, table } from "@ballast/runtime/text";
import { operationLines } from "@ballast/stateful";
import type { KafkaCluster, KafkaTopic } from "./api.ts";

export type RenderOptions = StatusViewOptions;

const where = (o: { metadata: { namespace?: string; name?: string } }) =>
  `${o.metadata.namespace ?? "default"}/${o.metadata.name ?? ""}`;

/** How the shared operation lines name Kafka's members and counts. */
const kafkaWords = {
  member: (id: number) => `node ${id}`,
  restarts: "nodes restarted",
  moves: "partition moves done",
};

export function renderKafkaCluster(cluster: KafkaCluster, options: RenderOptions): string {
  const { style } = options;
  const status = cluster.status ?? {};
  const nodes = status.nodes ?? [];
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const desired = cluster.spec.brokers;
  const brokersReady =
    status.readyBrokers ?? nodes.filter((n) => n.ready && n.roles.includes("broker")).length;
  const version =
    status.version === undefined
      ? `${cluster.spec.version} wanted (nodes run mixed versions)`
      : status.version === cluster.spec.version
        ? status.version
        : `${status.version} (upgrading to ${cluster.spec.version})`;
  const lines = [
    `KafkaCluster ${where(cluster)}: ${ready ? paintStatus(style, ready.status === "True" ? "Ready" : "not Ready", ready.status === "True") : "no status yet"}`,
    ...fields([
      ["Version", version],
      ["Brokers ready", paintStatus(style, `${brokersReady}/${desired}`, brokersReady >= desired)],
      ["Cluster id", status.clusterId ?? "(not assigned yet)"],
      [
        "Controller",
        status.activeController === undefined
          ? "unknown"
          : `node ${status.activeController} (active)`,
      ],
      ["Bootstrap", status.bootstrapServers],
      [
        "Generation",
        `${cluster.metadata.generation ?? "?"}${status.observedGeneration === undefined ? "" : ` (observed ${status.observedGeneration})`}`,
      ],
    ]),
    "",
  ];
  if (nodes.length === 0) lines.push("Nodes: none yet");
  else {
    lines.push(
      "Nodes:",
      ...table(
        ["ID", "ROLES", "POD", "READY", "REMOVING"],
        nodes.map((n) => [
          String(n.id) + (n.id === status.activeController ? "*" : ""),
          n.roles.join(","),
          n.pod,
          paintStatus(style, n.ready ? "yes" : "no", n.ready),
          n.removing ? paint(style, "yellow", "yes") : "-",
        ]),
      ).map((line) => `  ${line}`),
    );
    if (status.activeController !== undefined) lines.push("  (* active controller)");
  }
  lines.push("", ...conditionLines(status.conditions, style));
  lines.push(
    "",
    ...(status.operation
      ? operationLines(status.operation, options, kafkaWords)
      : ["Operation: none"]),
  );
  return lines.join("\n");
}

export function renderKafkaTopic(topic: KafkaTopic, options: RenderOptions): string {
  const { style } = options;
  const status = topic.status ?? {};
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const topicName = status.topicName ?? topic.spec.topicName ?? topic.metadata.name ?? "";
  const partitions =
    status.partitions === undefined || status.partitions === topic.spec.partitions
      ? String(topic.spec.partitions)
      : `${status.partitions} (spec asks for ${topic.spec.partitions})`;
  return [
    `KafkaTopic ${where(topic)}: ${ready ? paintStatus(style, ready.status === "True" ? "Ready" : "not Ready", ready.status === "True") : "no status yet"}`,
    ...fields([
      ["Cluster", topic.spec.cluster],
      ["Topic", status.topicId ? `${topicName} (id ${status.topicId})` : topicName],
      ["Partitions", partitions],
      ["Replicas", String(topic.spec.replicas)],
      ["Ready", ready ? paintStatus(style, ready.status, ready.status === "True") : "unknown"],
    ]),
    "",
    ...conditionLines(status.conditions, style),
  ].join("\n");
}

/** The Kafka operator's `ballast status` view (its descriptor's `status`). */
export const kafkaStatusView: StatusView = (object: KubeObject, options) => {
  if (object.apiVersion !== "ballast.dev/v1alpha1") return undefined;
  if (object.kind === "KafkaCluster") return renderKafkaCluster(object as KafkaCluster, options);
  if (object.kind === "KafkaTopic") return renderKafkaTopic(object as KafkaTopic, options);
  return undefined;
};
