/**
 * What the Redis end-to-end scenarios share: a private local cluster with
 * three nodes, the operator as its own process holding exactly its
 * declared RBAC (test/e2e/kit), and ways to look at the set, its pods,
 * its password and Redis itself.
 */
import { eventually, type PrivateTestCluster } from "@ballast/dev/testkit";
import {
  condition,
  OperatorEnvironment,
  type OperatorEnvironmentOptions,
  type PodView,
} from "@ballast/e2e-kit";
import { Redis } from "ioredis";
import { RedisReplication } from "../src/api.ts";
import { redis } from "../src/operator.ts";
import { labels, names } from "../src/resources.ts";

export const namespace = "redis-e2e";

const environment: OperatorEnvironmentOptions = {
  descriptor: redis,
  namespace,
  echo: Boolean(process.env.REDIS_E2E_VERBOSE),
};

export class Harness extends OperatorEnvironment {
  constructor(cluster: PrivateTestCluster) {
    super(cluster, environment);
  }

  /** A cluster of three nodes, the operator serving its CRDs; each e2e file names its own cluster. */
  static start(clusterName = "ballast-redis-e2e"): Promise<Harness> {
    return OperatorEnvironment.launch(
      { name: clusterName, nodes: 3 },
      (cluster) => new Harness(cluster),
    );
  }

  set(name: string): Promise<RedisReplication> {
    return this.read<RedisReplication>(RedisReplication, name);
  }

  /** The member pods (not the sentinels). */
  async members(name: string): Promise<PodView[]> {
    return (await this.pods(name)).filter(
      (p) => p.metadata.labels?.[labels.memberId] !== undefined,
    );
  }

  /** The pods labelled master: what `<name>-master` selects. */
  async labelledMasters(name: string): Promise<PodView[]> {
    return (await this.members(name)).filter(
      (p) => p.metadata.labels?.[labels.role] === "master" && !p.metadata.deletionTimestamp,
    );
  }

  /** podIP of the serving pod labelled master: where the test's writer goes. */
  async masterIP(name: string): Promise<string | undefined> {
    const [pod] = (await this.labelledMasters(name)).filter((p) =>
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    return pod?.status?.podIP;
  }

  async password(name: string): Promise<string> {
    return this.secretValue(`${name}-redis-auth`, "password");
  }

  /** One key of a Secret in the test namespace, decoded. */
  async secretValue(secret: string, key: string): Promise<string> {
    const res = await this.cluster.api<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${this.namespace}/secrets/${secret}`,
    );
    if (res.status !== 200) throw new Error(`get Secret ${secret}: ${res.status}`);
    return Buffer.from(res.body.data?.[key] ?? "", "base64").toString();
  }

  /** Ready, no operation, spec acted on, every member serving, every sentinel agreeing. */
  async settled(name: string, timeoutMs = 240_000): Promise<RedisReplication> {
    return eventually(
      `RedisReplication ${name} Ready with no operation in progress`,
      async () => {
        const r = await this.set(name);
        const members = r.status?.members ?? [];
        if (
          condition(r, "Ready")?.status === "True" &&
          !r.status?.operation &&
          r.status?.observedGeneration === r.metadata.generation &&
          members.length === r.spec.replicas + 1 &&
          members.every((m) => m.ready && !m.removing) &&
          r.status?.sentinelsAgreeing === r.spec.sentinels
        )
          return r;
        return undefined;
      },
      { timeoutMs, intervalMs: 1000 },
    );
  }
}

export function replicationManifest(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisReplication",
    metadata: { name, namespace },
    spec: {
      version: "7.0.15",
      replicas: 2,
      sentinels: 3,
      persistence: { mode: "aof", storage: { size: "1Gi", storageClassName: "local" } },
      sentinel: { downAfterMilliseconds: 2000, failoverTimeoutMilliseconds: 20_000 },
      ...extra,
    },
  };
}

export { names };

/**
 * Runs `work` on a short-lived connection to a pod's IP, authenticated as
 * `user` (the default user when none), quick to give up on a pod that is
 * gone: no retries, no offline queue, 0.5 s to connect, 1 s per command.
 */
export async function onPod<T>(
  ip: string,
  auth: { password: string; user?: string; port?: number },
  work: (c: Redis) => Promise<T>,
): Promise<T> {
  const c = new Redis({
    host: ip,
    port: auth.port ?? 6379,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
    commandTimeout: 1000,
  });
  c.on("error", () => {});
  try {
    await c.connect();
    await c.call("AUTH", auth.user ? [auth.user, auth.password] : [auth.password]);
    return await work(c);
  } finally {
    c.disconnect();
  }
}
