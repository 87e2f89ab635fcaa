/**
 * The cluster's two generated passwords. Steps:
 *
 * 1. Read the Secrets `<name>-superuser` and `<name>-replication` (key
 *    `password`), creating each with a generated password the first time
 *    (stateful's `ensureGeneratedSecret`); a wrong shape is reported and
 *    never overwritten.
 * 2. Make the port with the superuser's password for the rest of the
 *    reconcile.
 *
 * The pods read both from the Secrets as files (resources.ts); neither is
 * in a pod spec, a ConfigMap, status, an event or a log line.
 */
import { ensureGeneratedSecret, generatePassword, ownedMeta } from "@ballast/stateful";
import { identity, names, passwordKey, users } from "../resources.ts";
import type { PostgresScope } from "./scope.ts";

export async function loadPasswords(s: PostgresScope): Promise<void> {
  const secret = (name: string, username: string) =>
    ensureGeneratedSecret(s.ctx, {
      metadata: ownedMeta(identity, s.r, name),
      generate: { username: () => username, [passwordKey]: () => generatePassword() },
    });
  const superuser = await secret(names.superuserSecret(s.r), users.superuser);
  await secret(names.replicationSecret(s.r), users.replication);
  s.usePassword(superuser[passwordKey] ?? "");
}
