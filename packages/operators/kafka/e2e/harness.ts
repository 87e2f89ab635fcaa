/**
 * What the Kafka end-to-end scenarios share: a private local cluster with
 * three nodes in three zones, the operator running as its own process
 * (test/e2e/kit), and ways to look at the KafkaCluster, its pods and Kafka
 * itself.
 */
import { join } from "node:path";
import {
  createNamespace,
  eventually,
  type PrivateTestCluster,
  startTestCluster,
} from "@ballast/dev/testkit";
import {
  apply,
  condition,
  type DeclaredRbac,
  type DisruptionReport,
  grantDeclaredRbac,
  isServing,
  listPods,
  monitorDisruption,
  OperatorUnderTest,
  type PodView,
  waitForResources,
} from "@ballast/e2e-kit";
import { operatorRules } from "@ballast/runtime";
import { KafkaAdmin } from "../src/admin/admin.ts";
import type { KafkaCluster, KafkaTopic } from "../src/api.ts";
import { kafka } from "../src/operator.ts";

export type { PodView };

export const namespace = "kafka-e2e";
export const operatorAccount = "kafka-operator";

/** The operator's rules in their three scopes, as the chart grants them: the ServiceAccount gets these and no more. */
export const kafkaRbac: DeclaredRbac = operatorRules(kafka);

/** The pods of one KafkaCluster. */
const instance = (name: string) => `app.kubernetes.io/instance=${name}`;

export class Harness {
  readonly cluster: PrivateTestCluster;
  /** The operator process (SIGKILL it, start another) and its logs across restarts. */
  readonly operator: OperatorUnderTest;
  /** Every API request the operator processes made (BALLAST_TRACE_REQUESTS; the runtime traces them). */
  readonly traceFile: string;
  /** A kubeconfig that is the operator's ServiceAccount, with only the declared RBAC. */
  readonly operatorKubeconfig: string;

  constructor(cluster: PrivateTestCluster) {
    this.cluster = cluster;
    this.traceFile = join(cluster.dir, "operator-requests.log");
    this.operatorKubeconfig = join(cluster.dir, "operator.kubeconfig");
    this.operator = new OperatorUnderTest({
      // The bundle scripts/build.ts ships for this descriptor.
      operator: { name: `${kafka.name}-operator`, entry: kafka.entry },
      kubeconfig: this.operatorKubeconfig,
      namespace,
      traceFile: this.traceFile,
      // As in production: replicas share a Lease, so a restarted operator waits for the old one's to lapse.
      env: { LEADER_ELECTION_NAMESPACE: namespace },
      echo: Boolean(process.env.KAFKA_E2E_VERBOSE),
    });
  }

  /**
   * The cluster, the namespace, the operator's ServiceAccount holding exactly
   * the descriptor's rules (the ones the Helm chart is generated from), so
   * every scenario also tests that they suffice, and the operator running
   * with `--install-crds`.
   */
  static async start(): Promise<Harness> {
    const cluster = await startTestCluster({ name: "ballast-kafka-e2e", nodes: 3 });
    const h = new Harness(cluster);
    await createNamespace(cluster, namespace);
    await grantDeclaredRbac(cluster, {
      namespace,
      serviceAccount: operatorAccount,
      name: "kafka-operator",
      rules: kafkaRbac,
      kubeconfig: h.operatorKubeconfig,
    });
    await h.operator.start({ installCrds: true });
    await waitForResources(cluster, "ballast.dev/v1alpha1", ["kafkaclusters", "kafkatopics"]);
    return h;
  }

  async close(): Promise<void> {
    await this.operator.stop();
    await this.cluster.stop();
  }

  apply(object: unknown): Promise<void> {
    return apply(this.cluster, object);
  }

  async patchCluster(name: string, patch: unknown): Promise<void> {
    const res = await this.cluster.api(
      `/apis/ballast.dev/v1alpha1/namespaces/${namespace}/kafkaclusters/${name}`,
      { method: "PATCH", body: patch, contentType: "application/merge-patch+json" },
    );
    if (res.status !== 200)
      throw new Error(`patch ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async kafkaCluster(name: string): Promise<KafkaCluster> {
    const res = await this.cluster.api<KafkaCluster>(
      `/apis/ballast.dev/v1alpha1/namespaces/${namespace}/kafkaclusters/${name}`,
    );
    if (res.status !== 200) throw new Error(`get ${name}: ${res.status}`);
    return res.body;
  }

  async topic(name: string): Promise<KafkaTopic | undefined> {
    const res = await this.cluster.api<KafkaTopic>(
      `/apis/ballast.dev/v1alpha1/namespaces/${namespace}/kafkatopics/${name}`,
    );
    return res.status === 200 ? res.body : undefined;
  }

  pods(name: string): Promise<PodView[]> {
    return listPods(this.cluster, namespace, instance(name));
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
    return monitorDisruption(this.cluster, namespace, {
      selector: instance(name),
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
