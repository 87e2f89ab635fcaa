/**
 * What the PostgreSQL end-to-end scenarios share: a private local cluster
 * with three nodes, the operator as its own process holding exactly its
 * declared RBAC (test/e2e/kit), and ways to look at the cluster, its pods,
 * its passwords and PostgreSQL itself.
 */
import { execFileSync } from "node:child_process";
import type { PrivateTestCluster } from "@ballast/dev/testkit";
import {
  OperatorEnvironment,
  type OperatorEnvironmentOptions,
  type PodView,
} from "@ballast/e2e-kit";
import { PostgresCluster } from "../src/api.ts";
import { postgres } from "../src/operator.ts";
import { labels, names, servingGate } from "../src/resources.ts";
import { onInstance, type PgTarget } from "./workload.ts";

export const namespace = "postgres-e2e";

const environment: OperatorEnvironmentOptions = {
  descriptor: postgres,
  namespace,
  echo: Boolean(process.env.POSTGRES_E2E_VERBOSE),
};

/** The host's Debian postgres user, whom the local postgres image runs (initdb refuses a uid without one). */
export function debianPostgresUid(): number {
  return Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
}

export class Harness extends OperatorEnvironment {
  constructor(cluster: PrivateTestCluster) {
    super(cluster, environment);
  }

  /** A cluster of three nodes, the operator serving its CRD; each e2e file names its own cluster. */
  static start(clusterName = "ballast-postgres-e2e"): Promise<Harness> {
    // The operator process inherits it (OperatorUnderTest passes process.env).
    process.env.BALLAST_POSTGRES_UID = String(debianPostgresUid());
    return OperatorEnvironment.launch({ name: clusterName, nodes: 3 }, (c) => new Harness(c));
  }

  pgc(name: string): Promise<PostgresCluster> {
    return this.read<PostgresCluster>(PostgresCluster, name);
  }

  /** The instance pods, not being deleted. */
  async instances(name: string): Promise<PodView[]> {
    return (await this.pods(name)).filter(
      (p) => p.metadata.labels?.[labels.instanceId] !== undefined && !p.metadata.deletionTimestamp,
    );
  }

  /** The pods -rw selects: labelled primary, Ready (their serving gate True). */
  async readWriteEndpoints(name: string): Promise<PodView[]> {
    return (await this.instances(name)).filter(
      (p) =>
        p.metadata.labels?.[labels.role] === "primary" &&
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
        p.status?.conditions?.some((c) => c.type === servingGate && c.status === "True"),
    );
  }

  /** Where the writer goes: the one -rw endpoint's IP (none while there are 0 or 2). */
  async primaryTarget(name: string): Promise<PgTarget | undefined> {
    const eps = await this.readWriteEndpoints(name);
    const ip = eps.length === 1 ? eps[0]?.status?.podIP : undefined;
    return ip ? { host: ip, password: await this.superuserPassword(name) } : undefined;
  }

  #passwords = new Map<string, string>();

  async superuserPassword(name: string): Promise<string> {
    const known = this.#passwords.get(name);
    if (known) return known;
    const res = await this.cluster.api<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${this.namespace}/secrets/${name}-superuser`,
    );
    if (res.status !== 200) throw new Error(`get Secret ${name}-superuser: ${res.status}`);
    const pw = Buffer.from(res.body.data?.password ?? "", "base64").toString();
    this.#passwords.set(name, pw);
    return pw;
  }

  /** `pg_is_in_recovery()` of every instance pod by name: "primary", "standby" or "down". */
  async recoveryStates(name: string): Promise<Map<string, "primary" | "standby" | "down">> {
    const password = await this.superuserPassword(name);
    const pods = await this.instances(name);
    const out = await Promise.all(
      pods.map(async (p) => {
        const ip = p.status?.podIP;
        if (!ip) return [p.metadata.name ?? "", "down"] as const;
        try {
          const r = await onInstance(ip, password, (c) =>
            c.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r"),
          );
          return [p.metadata.name ?? "", r.rows[0]?.r ? "standby" : "primary"] as const;
        } catch {
          return [p.metadata.name ?? "", "down"] as const;
        }
      }),
    );
    return new Map(out);
  }

  podOf(name: string, id: number): string {
    return `${name}-${id}`;
  }

  claimOf(name: string, id: number): string {
    return names.claim({ metadata: { name } } as PostgresCluster, id);
  }
}

export function clusterManifest(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "PostgresCluster",
    metadata: { name, namespace },
    spec: {
      version: "15",
      instances: 3,
      storage: { size: "1Gi" },
      failoverDelaySeconds: 3,
      postgresql: { parameters: { shared_buffers: "16MB", max_connections: 50 } },
      ...spec,
    },
  };
}
