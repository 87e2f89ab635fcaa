/**
 * What the ZooKeeper end-to-end scenarios share: a private local cluster
 * with three nodes, the operator as its own process holding exactly its
 * declared RBAC (test/e2e/kit), and ways to look at the ensemble, its pods
 * and ZooKeeper itself.
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
  type DisruptionReport,
  grantDeclaredRbac,
  isServing,
  listPods,
  monitorDisruption,
  OperatorUnderTest,
  type PodView,
  type UpCondition,
  waitForResources,
} from "@ballast/e2e-kit";
import { operatorRules } from "@ballast/runtime";
import type { ZooKeeperEnsemble } from "../src/api.ts";
import { zookeeper } from "../src/operator.ts";
import { labels } from "../src/resources.ts";

export const namespace = "zookeeper-e2e";
const instance = (name: string) => `app.kubernetes.io/instance=${name}`;

export class Harness {
  readonly cluster: PrivateTestCluster;
  readonly operator: OperatorUnderTest;
  readonly operatorKubeconfig: string;

  constructor(cluster: PrivateTestCluster) {
    this.cluster = cluster;
    this.operatorKubeconfig = join(cluster.dir, "operator.kubeconfig");
    this.operator = new OperatorUnderTest({
      operator: { name: `${zookeeper.name}-operator`, entry: zookeeper.entry },
      kubeconfig: this.operatorKubeconfig,
      namespace,
      traceFile: join(cluster.dir, "operator-requests.log"),
      env: { LEADER_ELECTION_NAMESPACE: namespace },
      echo: Boolean(process.env.ZOOKEEPER_E2E_VERBOSE),
    });
  }

  static async start(): Promise<Harness> {
    const cluster = await startTestCluster({ name: "ballast-zookeeper-e2e", nodes: 3 });
    const h = new Harness(cluster);
    await createNamespace(cluster, namespace);
    await grantDeclaredRbac(cluster, {
      namespace,
      serviceAccount: "zookeeper-operator",
      name: "zookeeper-operator",
      rules: operatorRules(zookeeper),
      kubeconfig: h.operatorKubeconfig,
    });
    await h.operator.start({ installCrds: true });
    await waitForResources(cluster, "ballast.dev/v1alpha1", ["zookeeperensembles"]);
    return h;
  }

  async close(): Promise<void> {
    await this.operator.stop();
    await this.cluster.stop();
  }

  apply(object: unknown): Promise<void> {
    return apply(this.cluster, object);
  }

  async patch(name: string, patch: unknown): Promise<void> {
    const res = await this.cluster.api(
      `/apis/ballast.dev/v1alpha1/namespaces/${namespace}/zookeeperensembles/${name}`,
      {
        method: "PATCH",
        body: patch,
        contentType: "application/merge-patch+json",
      },
    );
    if (res.status !== 200)
      throw new Error(`patch ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async ensemble(name: string): Promise<ZooKeeperEnsemble> {
    const res = await this.cluster.api<ZooKeeperEnsemble>(
      `/apis/ballast.dev/v1alpha1/namespaces/${namespace}/zookeeperensembles/${name}`,
    );
    if (res.status !== 200) throw new Error(`get ${name}: ${res.status}`);
    return res.body;
  }

  pods(name: string): Promise<PodView[]> {
    return listPods(this.cluster, namespace, instance(name));
  }

  /** podIP:2181 of every serving member: how the test's client reaches the ensemble. */
  async servers(name: string): Promise<string[]> {
    return (await this.pods(name))
      .filter((p) => isServing(p) && p.status?.podIP)
      .map((p) => `${p.status?.podIP}:2181`)
      .sort();
  }

  /** Counts voters down at once (asked at every sample: scaling changes them). */
  /**
   * Voters down at once. `ContainersReady`: the server process runs (what
   * "never two voters down" is about); `Ready`: it serves, which every
   * follower stops doing for the election a leader's restart starts.
   */
  monitorDisruption(
    name: string,
    voters: () => readonly number[],
    up: UpCondition,
  ): { stop(): Promise<DisruptionReport<number>> } {
    return monitorDisruption(this.cluster, namespace, {
      selector: instance(name),
      memberLabel: labels.memberId,
      members: voters,
      up,
    });
  }

  /** Ready, no operation, spec acted on, exactly spec.replicas members, all voters. */
  async settled(name: string, timeoutMs = 240_000): Promise<ZooKeeperEnsemble> {
    return eventually(
      `ZooKeeperEnsemble ${name} Ready with no operation in progress`,
      async () => {
        const e = await this.ensemble(name);
        const members = e.status?.members ?? [];
        if (
          condition(e, "Ready")?.status === "True" &&
          !e.status?.operation &&
          e.status?.observedGeneration === e.metadata.generation &&
          members.length === e.spec.replicas &&
          members.every((m) => m.voter && m.ready && !m.removing)
        )
          return e;
        return undefined;
      },
      { timeoutMs, intervalMs: 1000 },
    );
  }
}

export function ensembleManifest(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "ZooKeeperEnsemble",
    metadata: { name, namespace },
    spec: {
      version: "3.9.5",
      replicas: 3,
      storage: { size: "1Gi", storageClassName: "local" },
      // Small heaps: five JVMs share two cores with the control plane.
      jvm: { heap: "128m" },
      config: { tickTime: 1000, initLimit: 10, syncLimit: 5 },
      ...extra,
    },
  };
}
