/**
 * What a member pod needs for ACL users, the same for both kinds: the
 * users' file (Secret `<name>-redis-users`) mounted, and a script line
 * appending it to redis.conf before the server starts. Only while
 * spec.auth.users has users: a set without them keeps exactly the pods it
 * had (no roll when the operator upgrades), and the first user added (or
 * the last removed) rolls the set once.
 */
import type { KubeObject } from "@ballast/runtime";
import { usersFileKey, usersMountPath, usersSecretName } from "./sync.ts";

type WithUsers = KubeObject & {
  spec: { auth?: { users?: readonly unknown[] | undefined } | undefined };
};

export function hasUsers(r: WithUsers): boolean {
  return (r.spec.auth?.users?.length ?? 0) > 0;
}

/** Script lines (none without users). The file may be missing: a pod made before the operator first wrote it. */
export function usersScriptLines(withUsers: boolean): string[] {
  const file = `${usersMountPath}/${usersFileKey}`;
  return withUsers ? [`if [ -f ${file} ]; then cat ${file} >> "$conf"; fi`] : [];
}

export function usersVolumes(r: WithUsers) {
  if (!hasUsers(r)) return { volumeMounts: [], volumes: [] };
  return {
    volumeMounts: [{ name: "users", mountPath: usersMountPath, readOnly: true }],
    volumes: [
      {
        name: "users",
        secret: { secretName: usersSecretName(r), optional: true, defaultMode: 0o400 },
      },
    ],
  };
}
