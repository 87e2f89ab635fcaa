/**
 * What the Kafka end-to-end scenarios share: a private local cluster with
 * three nodes in three zones, the operator running as its own process
 * (test/e2e/kit), and ways to look at the KafkaCluster, its pods and Kafka
 * itself.
 */
import { eventually, type PrivateTestCluster } from "@ballast/dev/testkit";
import {
  condition,
  type DeclaredRbac,
  type DisruptionReport,
  isServing,
  OperatorEnvironment,
  type OperatorEnvironmentOptions,
  type PodView,
} from "@ballast/e2e-kit";
import { operatorRules } from "@ballast/runtime";
import { KafkaAdmin } from "../src/admin/admin.ts";
import { KafkaCluster, KafkaTopic } from "../src/api.ts";
import { kafka } from "../src/operator.ts";

export type { PodView };

export const namespace = "kafka-e2e";
export const operatorAccount = "kafka-operator";

/** The operator's rules in their three scopes, as the chart grants them: the ServiceAccount gets these and no more. */
export const kafkaRbac: DeclaredRbac = operatorRules(kafka);

const environment: OperatorEnvironmentOptions = {
  descriptor: kafka,
  namespace,
  serviceAccount: operatorAccount,
  echo: Boolean(process.env.KAFKA_E2E_VERBOSE),
};

/**
 * The shared environment (test/e2e/kit: the private cluster, the operator
 * process holding exactly `kafkaRbac`, its kubeconfig and request trace)
 * and Kafka's views of it.
 */
export class Harness extends OperatorEnvironment {
  constructor(cluster: PrivateTestCluster) {
    super(cluster, environment);
  }

  /** A cluster of three nodes in three zones, the operator serving its CRDs. */
  static start(): Promise<Harness> {
    return OperatorEnvironment.launch(
      { name: "ballast-kafka-e2e", nodes: 3 },
      (cluster) => new Harness(cluster),
    );
  }

  patchCluster(name: string, patch: unknown): Promise<void> {
    return this.mergePatch(KafkaCluster, name, patch);
  }

  kafkaCluster(name: string): Promise<KafkaCluster> {
    return this.read<KafkaCluster>(KafkaCluster, name);
  }

  topic(name: string): Promise<KafkaTopic | undefined> {
    return this.find<KafkaTopic>(KafkaTopic, name);
  }

  /** host:port of every ready broker pod: how a client on this machine reaches the cluster. */
  async bootstrap(name: string, port = 9092): Promise<string[]> {
    return (await this.pods(name))
      .filter(
        (p) =>
          p.metadata.labels?.["kafka.ballast.dev/broker"] === "true" &&
          isServing(p) &&
          p.status?.podIP,
      )
      .map((p) => `${p.status?.podIP}:${port}`);
  }

  /**
   * Records how many of `nodeIds()` (asked at every sample: scaling changes
   * them) are down at once while `stop()` is not called.
   */
  monitorDisruption(
    name: string,
    nodeIds: () => readonly number[],
  ): {
    stop(): Promise<DisruptionReport<number>>;
  } {
    return this.monitorMembers(name, {
      memberLabel: "kafka.ballast.dev/node-id",
      members: nodeIds,
    });
  }

  async admin(name: string): Promise<KafkaAdmin> {
    const bootstrap = await this.bootstrap(name);
    if (bootstrap.length === 0) throw new Error(`no ready broker of ${name}`);
    return new KafkaAdmin({ bootstrap, clientId: "e2e" });
  }

  /** Runs `fn` with a fresh admin connection and closes it. */
  async withAdmin<T>(name: string, fn: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
    const admin = await this.admin(name);
    try {
      return await fn(admin);
    } finally {
      await admin.close();
    }
  }

  /**
   * Waits until the cluster is Ready, with no operation in progress, its
   * spec acted on (observedGeneration, Degraded False) and exactly
   * spec.brokers brokers recorded, none being removed.
   */
  async settled(name: string, timeoutMs = 300_000): Promise<KafkaCluster> {
    return eventually(
      `KafkaCluster ${name} Ready with no operation in progress`,
      async () => {
        const c = await this.kafkaCluster(name);
        const ready = condition(c, "Ready");
        const nodes = c.status?.nodes ?? [];
        if (
          ready?.status === "True" &&
          condition(c, "Degraded")?.status === "False" &&
          !c.status?.operation &&
          c.status?.observedGeneration === c.metadata.generation &&
          !nodes.some((n) => n.removing) &&
          nodes.filter((n) => n.roles.includes("broker")).length === c.spec.brokers
        )
          return c;
        return undefined;
      },
      { timeoutMs, intervalMs: 1000 },
    );
  }
}

/** A 3-broker KRaft cluster small enough for two cores. */
export function clusterManifest(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "KafkaCluster",
    metadata: { name, namespace },
    spec: {
      version: "3.9.1",
      brokers: 3,
      controllers: { replicas: 3, mode: "combined" },
      storage: { size: "1Gi", storageClassName: "local" },
      jvm: { heap: "256M" },
      rack: { topologyKey: "topology.kubernetes.io/zone" },
      config: {
        "min.insync.replicas": 2,
        // Quick leader moves back after a restart keep the test short.
        "leader.imbalance.check.interval.seconds": 10,
      },
      ...extra,
    },
  };
}

export function topicManifest(name: string, cluster: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "KafkaTopic",
    metadata: { name, namespace },
    spec: { cluster, partitions: 6, replicas: 3, config: { "min.insync.replicas": 2 }, ...extra },
  };
}
