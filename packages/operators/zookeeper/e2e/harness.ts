/**
 * What the ZooKeeper end-to-end scenarios share: a private local cluster
 * with three nodes, the operator as its own process holding exactly its
 * declared RBAC (test/e2e/kit), ways to look at the ensemble, its pods,
 * its claims and ZooKeeper itself, and to stop and start a node.
 */
import { eventually, type PrivateTestCluster } from "@ballast/dev/testkit";
import {
  condition,
  type DisruptionReport,
  isServing,
  OperatorEnvironment,
  type OperatorEnvironmentOptions,
  type UpCondition,
} from "@ballast/e2e-kit";
import { ZooKeeperEnsemble } from "../src/api.ts";
import { zookeeper } from "../src/operator.ts";
import { labels } from "../src/resources.ts";

export const namespace = "zookeeper-e2e";

const environment: OperatorEnvironmentOptions = {
  descriptor: zookeeper,
  namespace,
  echo: Boolean(process.env.ZOOKEEPER_E2E_VERBOSE),
};

/**
 * The shared environment (test/e2e/kit: the private cluster, the operator
 * process holding exactly its declared RBAC) and ZooKeeper's views of it.
 */
export class Harness extends OperatorEnvironment {
  constructor(cluster: PrivateTestCluster) {
    super(cluster, environment);
  }

  /** A cluster of three nodes, the operator serving its CRD. */
  static start(): Promise<Harness> {
    return OperatorEnvironment.launch(
      { name: "ballast-zookeeper-e2e", nodes: 3 },
      (cluster) => new Harness(cluster),
    );
  }

  patch(name: string, patch: unknown): Promise<void> {
    return this.mergePatch(ZooKeeperEnsemble, name, patch);
  }

  ensemble(name: string): Promise<ZooKeeperEnsemble> {
    return this.read<ZooKeeperEnsemble>(ZooKeeperEnsemble, name);
  }

  /** podIP:2181 of every serving member: how the test's client reaches the ensemble. */
  async servers(name: string): Promise<string[]> {
    return (await this.pods(name))
      .filter((p) => isServing(p) && p.status?.podIP)
      .map((p) => `${p.status?.podIP}:2181`)
      .sort();
  }

  /**
   * Voters down at once (asked at every sample: scaling changes them).
   * `ContainersReady`: the server process runs (what "never two voters
   * down" is about); `Ready`: it serves, which every follower stops doing
   * for the election a leader's restart starts.
   */
  monitorDisruption(
    name: string,
    voters: () => readonly number[],
    up: UpCondition,
  ): { stop(): Promise<DisruptionReport<number>> } {
    return this.monitorMembers(name, { memberLabel: labels.memberId, members: voters, up });
  }

  /** The uid of PersistentVolumeClaim `claim`, undefined once it is gone. */
  async claimUid(claim: string): Promise<string | undefined> {
    const res = await this.cluster.api<{ metadata: { uid: string } }>(
      `/api/v1/namespaces/${this.namespace}/persistentvolumeclaims/${claim}`,
    );
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`get claim ${claim}: ${res.status}`);
    return res.body.metadata.uid;
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
