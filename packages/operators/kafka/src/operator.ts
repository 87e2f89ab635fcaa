/**
 * The Kafka operator assembled: its CRDs, the KafkaCluster and KafkaTopic
 * controllers sharing one pool of Kafka admin connections, under a
 * Manager (metrics, health, leader election, graceful shutdown).
 */
import {
  installCrds,
  type KubeClient,
  type Logger,
  Manager,
  type ManagerOptions,
} from "@ballast/runtime";
import { KafkaAdmin } from "./admin/admin.ts";
import { KafkaCluster, KafkaTopic } from "./api.ts";
import { type AdminFactory, AdminPool } from "./cluster/admin-pool.ts";
import { kafkaClusterController } from "./cluster/controller.ts";
import { KafkaMetrics } from "./cluster/metrics.ts";
import { kafkaTopicController } from "./topic/controller.ts";

export const crds = [KafkaCluster, KafkaTopic];

/** Applies the Kafka CRDs and waits until the API server serves them. */
export async function installKafkaCrds(client: KubeClient, signal?: AbortSignal): Promise<void> {
  await installCrds(client, crds, signal ? { signal } : {});
}

export interface KafkaOperatorOptions
  extends Pick<
    ManagerOptions,
    "metricsPort" | "healthPort" | "host" | "leaderElection" | "metrics"
  > {
  /** Only watch this namespace. @default all namespaces */
  namespace?: string;
  /** Only watch these namespaces (one set of controllers each). @default all namespaces */
  namespaces?: string[];
  logger?: Logger;
  /** How Kafka is reached (tests may wrap it). @default a KafkaAdmin per cluster */
  adminFactory?: AdminFactory;
  /** How often a busy cluster is looked at again. @default 2000 */
  busyRequeueMs?: number;
}

export function kafkaOperator(client: KubeClient, options: KafkaOperatorOptions = {}) {
  const { namespace, namespaces, adminFactory, busyRequeueMs, ...managerOptions } = options;
  const manager = new Manager({ client, ...managerOptions });
  const events = manager.eventRecorder({ reportingController: "ballast.dev/kafka-operator" });
  const admins = new AdminPool(
    adminFactory ??
      ((bootstrap) => new KafkaAdmin({ bootstrap, clientId: "ballast-kafka-operator" })),
  );
  const metrics = new KafkaMetrics(manager.metrics.registry);
  const scopes: (string | undefined)[] = namespaces?.length
    ? namespaces
    : [namespace].filter((ns) => ns !== undefined);
  if (scopes.length === 0) scopes.push(undefined);
  for (const ns of scopes) {
    // Controllers are named per namespace when there are several, for metrics and logs.
    const suffix = scopes.length > 1 ? `-${ns}` : "";
    const scope = ns ? { namespace: ns } : {};
    manager.add(
      kafkaClusterController(
        client,
        { admins, events, metrics, ...(busyRequeueMs ? { busyRequeueMs } : {}) },
        { ...scope, name: `kafkacluster${suffix}` },
      ),
    );
    manager.add(
      kafkaTopicController(client, { admins, events }, { ...scope, name: `kafkatopic${suffix}` }),
    );
  }
  return { manager, admins };
}
