/**
 * What the Kafka end-to-end scenarios share: a private local cluster with
 * three nodes in three zones, the operator running as its own process, and
 * ways to look at the KafkaCluster, its pods and Kafka itself.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createNamespace,
  eventually,
  type PrivateTestCluster,
  serviceAccountToken,
  startTestCluster,
} from "@ballast/dev/testkit";
import { KafkaAdmin } from "../src/admin/admin.ts";
import type { KafkaCluster, KafkaTopic } from "../src/api.ts";
import {
  clusterRules,
  leaderElectionRules,
  namespacedRules,
  type PolicyRule,
  toPolicyRule,
} from "../src/rbac.ts";
import { type OperatorProcess, startOperator } from "../test-support/operator-process.ts";

export const namespace = "kafka-e2e";

export interface PodView {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { nodeName?: string; containers: { image: string }[] };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

export const operatorAccount = "kafka-operator";

export class Harness {
  readonly cluster: PrivateTestCluster;
  operator: OperatorProcess | undefined;
  readonly logs: string[] = [];
  /** Every API request the operator processes made (see src/request-trace.ts). */
  readonly traceFile: string;
  /** A kubeconfig that is the operator's ServiceAccount, with only the declared RBAC. */
  readonly operatorKubeconfig: string;

  constructor(cluster: PrivateTestCluster) {
    this.cluster = cluster;
    this.traceFile = join(cluster.dir, "operator-requests.log");
    this.operatorKubeconfig = join(cluster.dir, "operator.kubeconfig");
  }

  static async start(): Promise<Harness> {
    const cluster = await startTestCluster({ name: "ballast-kafka-e2e", nodes: 3 });
    const h = new Harness(cluster);
    await createNamespace(cluster, namespace);
    await h.grantDeclaredRbac();
    await h.startOperator(true);
    // The operator installs its CRDs on start (--install-crds).
    await eventually(
      "the operator to install the Kafka CRDs",
      async () => {
        const res = await cluster.api<{ resources?: { name: string }[] }>(
          "/apis/ballast.dev/v1alpha1",
        );
        const served = res.body.resources?.map((r) => r.name) ?? [];
        return served.includes("kafkaclusters") && served.includes("kafkatopics")
          ? true
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    return h;
  }

  /**
   * The operator runs as a ServiceAccount holding exactly the rules of
   * src/rbac.ts (the ones the Helm chart is generated from), so every
   * scenario also tests that they suffice.
   */
  async grantDeclaredRbac(): Promise<void> {
    const role = (kind: string, name: string, rules: PolicyRule[], ns?: string) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind,
      metadata: { name, ...(ns ? { namespace: ns } : {}) },
      rules: rules.map(toPolicyRule),
    });
    const binding = (kind: string, roleKind: string, name: string, ns?: string) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind,
      metadata: { name, ...(ns ? { namespace: ns } : {}) },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name },
      subjects: [{ kind: "ServiceAccount", name: operatorAccount, namespace }],
    });
    const objects = [
      role("Role", "kafka-operator", namespacedRules, namespace),
      binding("RoleBinding", "Role", "kafka-operator", namespace),
      role("Role", "kafka-operator-leader", leaderElectionRules, namespace),
      binding("RoleBinding", "Role", "kafka-operator-leader", namespace),
      role("ClusterRole", "kafka-operator-crds", clusterRules),
      binding("ClusterRoleBinding", "ClusterRole", "kafka-operator-crds"),
    ];
    const list = { apiVersion: "v1", kind: "List", items: objects };
    const res = await this.cluster.kubectlInput(list, "apply", "-f", "-");
    if (res.code !== 0) throw new Error(`RBAC: ${res.stderr}`);
    const token = await serviceAccountToken(this.cluster, namespace, operatorAccount, 7200);
    const admin = JSON.parse(readFileSync(this.cluster.kubeconfig, "utf8")) as {
      clusters: { name: string; cluster: Record<string, unknown> }[];
    };
    const cluster = admin.clusters[0];
    if (!cluster) throw new Error("the test cluster's kubeconfig names no cluster");
    writeFileSync(
      this.operatorKubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "e2e", cluster: cluster.cluster }],
        users: [{ name: operatorAccount, user: { token } }],
        contexts: [{ name: "operator", context: { cluster: "e2e", user: operatorAccount } }],
        "current-context": "operator",
      }),
      { mode: 0o600 },
    );
  }

  async startOperator(installCrds = false): Promise<void> {
    this.operator = await startOperator(this.operatorKubeconfig, {
      namespace,
      installCrds,
      // As in production: replicas share a Lease, so a restarted operator waits for the old one's to lapse.
      env: { LEADER_ELECTION_NAMESPACE: namespace, BALLAST_TRACE_REQUESTS: this.traceFile },
      logTo: (line) => {
        this.logs.push(line);
        if (this.logs.length > 5000) this.logs.splice(0, 1000);
        if (process.env.KAFKA_E2E_VERBOSE) process.stderr.write(`[operator] ${line}\n`);
      },
    });
  }

  async close(): Promise<void> {
    await this.operator?.stop();
    await this.cluster.stop();
  }

  async apply(object: unknown): Promise<void> {
    const res = await this.cluster.kubectlInput(
      object,
      "apply",
      "--server-side",
      "--field-manager=e2e",
      "-f",
      "-",
    );
    if (res.code !== 0) throw new Error(`kubectl apply failed: ${res.stderr}`);
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

  async pods(name: string): Promise<PodView[]> {
    const res = await this.cluster.api<{ items: PodView[] }>(
      `/api/v1/namespaces/${namespace}/pods?labelSelector=app.kubernetes.io/instance%3D${name}`,
    );
    return res.body.items;
  }

  /** host:port of every ready broker pod: how a client on this machine reaches the cluster. */
  async bootstrap(name: string, port = 9092): Promise<string[]> {
    return (await this.pods(name))
      .filter(
        (p) =>
          p.metadata.labels?.["kafka.ballast.dev/broker"] === "true" &&
          !p.metadata.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
          p.status.podIP,
      )
      .map((p) => `${p.status?.podIP}:${port}`);
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

  condition(
    object: {
      status?: {
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
      };
    },
    type: string,
  ) {
    return object.status?.conditions?.find((c) => c.type === type);
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
        const ready = this.condition(c, "Ready");
        const nodes = c.status?.nodes ?? [];
        if (
          ready?.status === "True" &&
          this.condition(c, "Degraded")?.status === "False" &&
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

  /** The port the (latest) operator process serves /metrics on, from its "serving" log line. */
  metricsPort(): number {
    for (let i = this.logs.length - 1; i >= 0; i--) {
      const line = this.logs[i] ?? "";
      if (!line.includes('"serving"')) continue;
      const port = (JSON.parse(line) as { metricsPort?: number }).metricsPort;
      if (port) return port;
    }
    throw new Error("the operator has not said which port it serves metrics on");
  }

  operatorLogTail(lines = 40): string {
    return this.logs.slice(-lines).join("\n");
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
