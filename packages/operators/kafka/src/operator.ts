/**
 * The Kafka operator as a descriptor (`kafka`): its CRDs, RBAC, lease and
 * field manager, restart annotation and entry point, and `build`, which
 * makes the KafkaCluster and KafkaTopic controllers sharing one pool of
 * Kafka admin connections. `runOperator(kafka)` (main.ts) runs it;
 * `kafkaOperator()` assembles it under a Manager of its own, for tests,
 * benchmarks and embedding.
 */
import { fileURLToPath } from "node:url";
import {
  defineOperator,
  installCrds,
  type KubeClient,
  type Logger,
  Manager,
  type ManagerOptions,
  type OperatorContext,
  type Runnable,
  watchScopes,
} from "@ballast/runtime";
import { KafkaAdmin } from "./admin/admin.ts";
import { KafkaCluster, KafkaTopic } from "./api.ts";
import { type AdminFactory, AdminPool } from "./cluster/admin-pool.ts";
import { kafkaClusterController } from "./cluster/controller.ts";
import { KafkaMetrics } from "./cluster/metrics.ts";
import { namespacedRules } from "./rbac.ts";
import { annotations } from "./resources.ts";
import { kafkaTopicController } from "./topic/controller.ts";

export const crds = [KafkaCluster, KafkaTopic];

/** Applies the Kafka CRDs and waits until the API server serves them. */
export async function installKafkaCrds(client: KubeClient, signal?: AbortSignal): Promise<void> {
  await installCrds(client, crds, signal ? { signal } : {});
}

/** What a caller may change of the Kafka operator besides the shared context. */
export interface KafkaBuildOptions {
  /** How Kafka is reached (tests may wrap it). @default a KafkaAdmin per cluster */
  adminFactory?: AdminFactory | undefined;
  /** How often a busy cluster is looked at again. @default 2000 */
  busyRequeueMs?: number | undefined;
}

/** One KafkaCluster and one KafkaTopic controller per watched namespace, and their admin pool. */
function buildKafka(
  client: KubeClient,
  context: OperatorContext,
  options: KafkaBuildOptions = {},
): { controllers: Runnable[]; admins: AdminPool } {
  const { adminFactory, busyRequeueMs } = options;
  const events = context.eventRecorder({ reportingController: "ballast.dev/kafka-operator" });
  const admins = new AdminPool(
    adminFactory ??
      ((bootstrap) => new KafkaAdmin({ bootstrap, clientId: "ballast-kafka-operator" })),
  );
  const metrics = new KafkaMetrics(context.metrics.registry);
  const controllers: Runnable[] = [];
  for (const { namespace, suffix } of watchScopes(context.namespaces)) {
    // Controllers are named per namespace when there are several, for metrics and logs.
    const scope = namespace ? { namespace } : {};
    controllers.push(
      kafkaClusterController(
        client,
        { admins, events, metrics, ...(busyRequeueMs ? { busyRequeueMs } : {}) },
        { ...scope, name: `kafkacluster${suffix}` },
      ),
      kafkaTopicController(client, { admins, events }, { ...scope, name: `kafkatopic${suffix}` }),
    );
  }
  return { controllers, admins };
}

export const kafka = defineOperator<KafkaBuildOptions>({
  name: "kafka",
  crds,
  rules: { namespaced: namespacedRules },
  // The names the operator has always used: a Deployment of an older
  // version and this one own the same fields and elect one leader.
  fieldManager: "ballast-kafka-operator",
  leaseName: "ballast-kafka-operator",
  entry: fileURLToPath(new URL("./main.ts", import.meta.url)),
  restart: { annotation: annotations.restartRequested, kinds: [KafkaCluster] },
  // Loaded only by `ballast status`, so running the operator does not load it.
  status: async () => (await import("./status-view.ts")).kafkaStatusView,
  build(client, context, options) {
    const { controllers, admins } = buildKafka(client, context, options);
    return { controllers, cleanup: () => admins.closeAll() };
  },
});

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
  const watched = namespaces?.length ? namespaces : namespace === undefined ? [] : [namespace];
  const { controllers, admins } = buildKafka(
    client,
    {
      namespaces: watched,
      metrics: manager.metrics,
      log: manager.log,
      eventRecorder: (o) => manager.eventRecorder(o),
    },
    { adminFactory, busyRequeueMs },
  );
  for (const controller of controllers) manager.add(controller);
  return { manager, admins };
}
