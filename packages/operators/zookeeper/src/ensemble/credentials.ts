/**
 * The ensemble's superuser, the one client allowed to reconfig. Steps:
 *
 * 1. Read the Secret `<name>-zookeeper-super` (key `password`), creating it
 *    with a generated password the first time (stateful's
 *    `ensureGeneratedSecret`). A password the user put there is used as it
 *    is; changing it rolls every member (the digest is in the template
 *    hash), after which reconfig authenticates with the new one.
 * 2. Keep the password on the scope for reconfig, and its digest for the
 *    pods and the template hash.
 *
 * A Secret without `password` is reported (Degraded, naming the Secret
 * and the key) and nothing else is done this reconcile: pods created
 * without the right digest could never be reconfigured.
 */
import { ensureGeneratedSecret, generatePassword, ownedMeta } from "@ballast/stateful";
import { superDigest } from "../admin/digest.ts";
import { identity, names } from "../resources.ts";
import type { EnsembleScope } from "./scope.ts";

export async function loadSuperUser(s: EnsembleScope): Promise<void> {
  const values = await ensureGeneratedSecret(s.ctx, {
    metadata: ownedMeta(identity, s.e, names.superUser(s.e)),
    generate: { password: () => generatePassword() },
  });
  const password = values.password ?? "";
  s.superUser = { password, digest: superDigest(password) };
}
