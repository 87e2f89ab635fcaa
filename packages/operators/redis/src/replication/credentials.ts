/**
 * The set's password, which every redis-server requires (`requirepass`),
 * replicas use towards the master (`masterauth`) and sentinels use both
 * ways (`requirepass`, `auth-pass`, `sentinel-pass`). Steps:
 *
 * 1. Read the Secret (`spec.auth.secretName`, else `<name>-redis-auth`;
 *    key `password`), creating it with a generated password the first time
 *    (stateful's `ensureGeneratedSecret`). A password the user put there
 *    is used as it is.
 * 2. Make the port with it for the rest of the reconcile.
 *
 * Pods read the password from the Secret themselves (`secretKeyRef`); it
 * is never in a pod spec, a ConfigMap, status or an event. A Secret
 * without `password` is reported (Degraded, naming the Secret and the key)
 * by the controller and nothing else is done: a pod started now would
 * not start at all, and the operator could not talk to the others.
 */
import { ensureGeneratedSecret, generatePassword, ownedMeta } from "@ballast/stateful";
import { identity, names, passwordKey } from "../resources.ts";
import type { ReplicationScope } from "./scope.ts";

export async function loadPassword(s: ReplicationScope): Promise<void> {
  const values = await ensureGeneratedSecret(s.ctx, {
    metadata: ownedMeta(identity, s.r, names.secret(s.r)),
    generate: { [passwordKey]: () => generatePassword() },
  });
  s.usePassword(values[passwordKey] ?? "");
}
