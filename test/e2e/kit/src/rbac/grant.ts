/**
 * Runs an operator as a ServiceAccount holding exactly its declared rules
 * (the ones its Helm chart is generated from), so every scenario also tests
 * that they suffice: a missing rule is a refused request in the trace.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { serviceAccountToken, type TestCluster } from "@ballast/dev/testkit";
import { type PolicyRule, toPolicyRule } from "@ballast/runtime";
import type { DeclaredRbac } from "./rules.ts";

export interface GrantOptions {
  /** The namespace the operator watches, holds its Lease and its ServiceAccount. */
  namespace: string;
  serviceAccount: string;
  /** Names the Roles and their bindings: `<name>`, `<name>-leader`, `<name>-cluster`. */
  name: string;
  rules: DeclaredRbac;
  /** Where the ServiceAccount's kubeconfig is written (mode 0600). */
  kubeconfig: string;
  /** How long the ServiceAccount's token lasts. @default 7200 */
  tokenSeconds?: number;
}

export class GrantError extends Error {
  override name = "GrantError";
}

/** Applies the Roles, ClusterRole and bindings, then writes a kubeconfig that is the ServiceAccount. */
export async function grantDeclaredRbac(
  cluster: TestCluster,
  options: GrantOptions,
): Promise<void> {
  const { namespace, serviceAccount, name, rules } = options;
  const subject = { kind: "ServiceAccount", name: serviceAccount, namespace };
  const grant = (
    kind: "Role" | "ClusterRole",
    roleName: string,
    granted: readonly PolicyRule[],
  ) => {
    if (granted.length === 0) return [];
    const metadata = { name: roleName, ...(kind === "Role" ? { namespace } : {}) };
    return [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind,
        metadata,
        rules: granted.map(toPolicyRule),
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: kind === "Role" ? "RoleBinding" : "ClusterRoleBinding",
        metadata,
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: roleName },
        subjects: [subject],
      },
    ];
  };
  const items = [
    ...grant("Role", name, rules.namespaced),
    ...grant("Role", `${name}-leader`, rules.leaderElection),
    ...grant("ClusterRole", `${name}-cluster`, rules.cluster),
  ];
  const res = await cluster.kubectlInput(
    { apiVersion: "v1", kind: "List", items },
    "apply",
    "-f",
    "-",
  );
  if (res.code !== 0) throw new GrantError(`applying the RBAC of ${name}: ${res.stderr}`);
  const token = await serviceAccountToken(
    cluster,
    namespace,
    serviceAccount,
    options.tokenSeconds ?? 7200,
  );
  writeFileSync(options.kubeconfig, tokenKubeconfig(cluster, serviceAccount, token), {
    mode: 0o600,
  });
}

/** The admin kubeconfig's cluster, with `token` as the only user. */
function tokenKubeconfig(cluster: TestCluster, user: string, token: string): string {
  const admin = JSON.parse(readFileSync(cluster.kubeconfig, "utf8")) as {
    clusters: { name: string; cluster: Record<string, unknown> }[];
  };
  const server = admin.clusters[0];
  if (!server) throw new GrantError(`${cluster.kubeconfig} names no cluster`);
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "e2e", cluster: server.cluster }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: "e2e", user } }],
    "current-context": user,
  });
}
