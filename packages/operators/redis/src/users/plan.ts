/**
 * ACL users, decided without looking at anything but what is given: the
 * line Redis stores for a user, the digest a member pod carries of what its
 * server has, and which members to bring up to date with which deletions.
 *
 * A user's line names its password only by its SHA-256 (`#<hex>`), which
 * Redis accepts in place of the password: the users' file in a pod and the
 * commands the operator sends never hold a password.
 */
import { createHash } from "node:crypto";

export interface DesiredUser {
  name: string;
  rules: string;
  password: string;
}

/** The rule tokens of a user, in order (whitespace separated, as in redis.conf). */
export function ruleTokens(rules: string): string[] {
  return rules.split(/\s+/).filter((t) => t.length > 0);
}

export function passwordDigest(password: string): string {
  return createHash("sha256").update(password).digest("hex");
}

/**
 * The arguments of `ACL SETUSER` (and, joined, the redis.conf `user`
 * line): `reset` first, so what the spec no longer grants is taken away,
 * then on, the password's digest, the rules.
 */
export function setUserArgs(user: DesiredUser): string[] {
  return [user.name, "reset", "on", `#${passwordDigest(user.password)}`, ...ruleTokens(user.rules)];
}

/** The users' file: one `user` directive per user, appended to redis.conf at start. */
export function usersFile(users: readonly DesiredUser[]): string {
  return users.map((u) => `user ${setUserArgs(u).join(" ")}\n`).join("");
}

/** What a member pod's annotation says its server has: a digest of the users' file. */
export function usersHash(users: readonly DesiredUser[]): string {
  return createHash("sha256").update(usersFile(users)).digest("hex").slice(0, 16);
}

export interface UsersMember {
  id: number;
  /** The users' digest its pod's annotation records (undefined: none applied to this pod). */
  applied: string | undefined;
  /** The user names ever set on it by the operator, from the same pod's annotation. */
  names: readonly string[];
  answers: boolean;
}

export interface UsersChange {
  id: number;
  /** Users the operator set on this member earlier that the spec no longer has. */
  remove: string[];
}

/**
 * Which members to bring up to date: every one that answers and whose pod
 * does not carry the desired digest (a pod started since, or one behind
 * a change), with the users to delete on it. A member that does not
 * answer waits; its pod's annotation stays behind, so it is done when it
 * answers. Never the `default` user, never a user the operator did not set.
 */
export function planUsers(
  hash: string,
  desired: readonly string[],
  members: readonly UsersMember[],
): UsersChange[] {
  const keep = new Set(desired);
  return members
    .filter((m) => m.answers && m.applied !== hash)
    .map((m) => ({
      id: m.id,
      remove: m.names.filter((n) => n !== "default" && !keep.has(n)),
    }));
}
