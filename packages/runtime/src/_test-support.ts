/**
 * Setup shared by the runtime's tests against the real cluster (private; not
 * part of the package): each test file works in namespaces of its own, made
 * before its tests and removed after them, and some act as a ServiceAccount
 * holding only the permissions the test grants it.
 */
import { randomBytes } from "node:crypto";
import { serviceAccountToken, type TestCluster, useCluster } from "@ballast/dev/testkit";
import { KubeClient, type KubeClientOptions } from "./client/client.ts";
import { ignoreNotFound } from "./client/errors.ts";
import type { KubeObject, ResourceType } from "./client/types.ts";

const Namespace = { apiVersion: "v1", kind: "Namespace" } as const;

/** `<prefix>-<6 hex digits>`: test files running at once on one cluster never share a namespace. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** The test cluster, an admin client for it, and `namespaces` created. */
export async function createNamespaces(
  namespaces: readonly string[],
  clientOptions: KubeClientOptions = {},
): Promise<{ cluster: TestCluster; client: KubeClient }> {
  const cluster = await useCluster();
  const client = await KubeClient.fromKubeconfig(cluster.kubeconfig, clientOptions);
  for (const name of namespaces) await client.create({ ...Namespace, metadata: { name } });
  return { cluster, client };
}

/**
 * Deletes `namespaces` (already gone is fine) and closes `client`. Objects of
 * the `unfinalized` types first lose their finalizers: the controller that
 * would have removed them is stopped, and they would hold the namespace in
 * Terminating for ever.
 */
export async function deleteNamespaces(
  client: KubeClient,
  namespaces: readonly string[],
  { unfinalized = [] }: { unfinalized?: readonly ResourceType[] } = {},
): Promise<void> {
  for (const namespace of namespaces) {
    for (const type of unfinalized) {
      const left = await client
        .list(type, { namespace })
        .catch(() => ({ items: [] as KubeObject[] }));
      for (const object of left.items) {
        const name = object.metadata.name;
        if (!object.metadata.finalizers?.length || !name) continue;
        await client
          .patch(type, { namespace, name }, { metadata: { finalizers: null } })
          .catch(ignoreNotFound);
      }
    }
    await client.delete(Namespace, { name: namespace }).catch(ignoreNotFound);
  }
  client.close();
}

/**
 * A client acting as the ServiceAccount `namespace/name` (created if missing),
 * with a token valid for `expirationSeconds`.
 */
export async function serviceAccountClient(
  cluster: TestCluster,
  namespace: string,
  name: string,
  expirationSeconds?: number,
): Promise<KubeClient> {
  const token = await serviceAccountToken(cluster, namespace, name, expirationSeconds);
  return KubeClient.fromConfig({ server: cluster.server, ca: cluster.auth.ca, token });
}
