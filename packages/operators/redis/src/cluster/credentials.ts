/**
 * The cluster's password, which every node requires (`requirepass`) and
 * replicas use towards their master (`masterauth`): the Secret
 * `spec.auth.secretName`, else `<name>-redis-auth` (key `password`),
 * created with a generated password the first time (stateful's
 * `ensureGeneratedSecret`), read every reconcile after. Pods read it from
 * the Secret; it is never in a pod spec, a ConfigMap, status or an event.
 */
import { ensureGeneratedSecret, generatePassword, ownedMeta } from "@ballast/stateful";
import { passwordKey } from "../resources.ts";
import { clusterIdentity, clusterNames } from "./resources.ts";
import type { ClusterScope } from "./scope.ts";

export async function loadClusterPassword(s: ClusterScope): Promise<void> {
  const values = await ensureGeneratedSecret(s.ctx, {
    metadata: ownedMeta(clusterIdentity, s.r, clusterNames.secret(s.r)),
    generate: { [passwordKey]: () => generatePassword() },
  });
  s.usePassword(values[passwordKey] ?? "");
}
