/**
 * ACL users on every member, for both kinds (the replication set's members
 * and the cluster's nodes). Steps:
 *
 * 1. Each user's password from its Secret (`secretName`, else
 *    `<name>-redis-user-<user>`, generated once and kept); a Secret without
 *    `password` is refused, naming the user and the Secret.
 * 2. `planUsers`: the members whose pods do not carry the users' digest
 *    (annotation `redis.ballast.dev/users-hash`) and answer. None: done.
 * 3. The rules checked on the first of them on a throwaway user that is
 *    off (users/acl.ts): a rule Redis refuses is refused here, naming the
 *    user, before the users' file or any member changes, so a pod started
 *    later never reads a `user` line its server would not start with.
 * 4. The users' file (Secret `<name>-redis-users`, key `users.acl`,
 *    password digests only) written, for every member that starts from
 *    now on (its script appends it to redis.conf).
 * 5. On each member behind: `ACL SETUSER` of every user, `ACL DELUSER` of
 *    those the operator set on it before that the spec dropped; then its
 *    pod's annotations record the digest and the user names.
 *
 * Not disruptive: every member is brought up to date in one reconcile.
 */
import {
  Action,
  type ApplyObject,
  type ControllerContext,
  isNotFound,
  type KubeObject,
} from "@ballast/runtime";
import {
  ensureGeneratedSecret,
  generatePassword,
  InvalidSecretError,
  ownedMeta,
  type SetIdentity,
  type StepResult,
} from "@ballast/stateful";
import type { RedisAddress } from "../admin/port.ts";
import { RedisPortError } from "../admin/port.ts";
import { type AclPort, RedisAcl } from "./acl.ts";
import { type DesiredUser, planUsers, usersFile, usersHash } from "./plan.ts";

export interface UserSpec {
  name: string;
  rules: string;
  secretName?: string | undefined;
}

/** The pod annotations of what a member's server has. */
export const usersAnnotations = {
  hash: "redis.ballast.dev/users-hash",
  names: "redis.ballast.dev/users",
} as const;

export const usersFileKey = "users.acl";
export const usersMountPath = "/etc/redis-users";

type Owner = KubeObject;

export const usersSecretName = (r: Owner) => `${r.metadata.name ?? ""}-redis-users`;
export const userSecretName = (r: Owner, u: UserSpec) =>
  u.secretName ?? `${r.metadata.name ?? ""}-redis-user-${u.name}`;

export interface UsersMemberInput {
  id: number;
  pod: KubeObject | undefined;
  address: RedisAddress | undefined;
  answers: boolean;
}

export interface UsersInput {
  ctx: Pick<ControllerContext, "client" | "signal">;
  owner: Owner;
  identity: SetIdentity;
  users: readonly UserSpec[];
  /** The operator's own (default user's) password. */
  password: string;
  members: readonly UsersMemberInput[];
  /** How a message names a member: "member 2", "node 5". */
  what: (id: number) => string;
  /** @default the real port (RedisAcl) */
  acl?: (password: string, users: readonly DesiredUser[]) => AclPort;
}

export type UsersOutcome =
  | { kind: "done" }
  | { kind: "applied"; ids: number[] }
  /** Degraded: what to fix. Nothing was applied. */
  | { kind: "refused"; reason: string; message: string }
  /** A member could not be told (it stopped answering): look again soon. */
  | { kind: "retry"; message: string };

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

export async function syncUsers(input: UsersInput): Promise<UsersOutcome> {
  const { ctx, owner, users } = input;
  const members = input.members.map((m) => ({
    id: m.id,
    applied: m.pod?.metadata.annotations?.[usersAnnotations.hash],
    names: (m.pod?.metadata.annotations?.[usersAnnotations.names] ?? "")
      .split(",")
      .filter((n) => n.length > 0),
    answers: m.answers && m.address !== undefined && m.pod !== undefined,
  }));
  // A set that never had users: nothing to look at, no Secret read.
  if (users.length === 0 && members.every((m) => m.applied === undefined)) return { kind: "done" };
  // 1.
  const desired: DesiredUser[] = [];
  for (const u of users) {
    const secret = userSecretName(owner, u);
    try {
      const values = await ensureGeneratedSecret(ctx, {
        metadata: ownedMeta(input.identity, owner, secret),
        generate: { password: () => generatePassword() },
      });
      desired.push({ name: u.name, rules: u.rules, password: values.password ?? "" });
    } catch (err) {
      if (!(err instanceof InvalidSecretError)) throw err;
      return {
        kind: "refused",
        reason: "InvalidUserSecret",
        message: `spec.auth.users[${u.name}]: ${err.message}`,
      };
    }
  }
  // 2.
  const hash = usersHash(desired);
  const changes = planUsers(
    hash,
    desired.map((u) => u.name),
    members,
  );
  if (changes.length === 0) return { kind: "done" };
  const acl = (input.acl ?? ((p, u) => new RedisAcl(p, u)))(input.password, desired);
  const target = (id: number) => {
    const address = input.members.find((m) => m.id === id)?.address;
    return address ? { address, what: input.what(id) } : undefined;
  };
  try {
    // 3.
    const first = target(changes[0]?.id ?? -1);
    if (!first) return { kind: "done" };
    const refused = await acl.check(first, desired);
    if (refused)
      return {
        kind: "refused",
        reason: "UserRefused",
        message: `spec.auth.users[${refused.user}].rules: Redis refused them on ${first.what}: ${refused.message}. Fix the rules; no user was changed and no pod restarted`,
      };
    // 4.
    await ctx.client.apply(usersSecret(input, desired), { signal: ctx.signal });
    // 5.
    for (const change of changes) {
      const t = target(change.id);
      const pod = input.members.find((m) => m.id === change.id)?.pod;
      if (!t || !pod) continue;
      await acl.apply(t, desired, change.remove);
      await ctx.client
        .patch(
          Pod,
          { namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "" },
          {
            metadata: {
              annotations: {
                [usersAnnotations.hash]: hash,
                [usersAnnotations.names]: desired.map((u) => u.name).join(","),
              },
            },
          },
          { signal: ctx.signal },
        )
        .catch((err: unknown) => {
          // A pod deleted meanwhile: its replacement starts from the users' file.
          if (!isNotFound(err)) throw err;
        });
    }
  } catch (err) {
    if (!(err instanceof RedisPortError)) throw err;
    return { kind: "retry", message: err.message };
  }
  return { kind: "applied", ids: changes.map((c) => c.id) };
}

function usersSecret(input: UsersInput, users: readonly DesiredUser[]): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: ownedMeta(input.identity, input.owner, usersSecretName(input.owner)),
    type: "Opaque",
    // data, not stringData: applied objects are compared field by field.
    data: { [usersFileKey]: Buffer.from(usersFile(users)).toString("base64") },
  } as ApplyObject;
}

/** What the users step needs of a kind's scope (both kinds' scopes have it). */
export interface UsersScope {
  ctx: Pick<ControllerContext, "client" | "signal">;
  r: Owner & { spec: { auth?: { users?: readonly UserSpec[] | undefined } | undefined } };
  password: string;
  pods: ReadonlyMap<number, KubeObject>;
  address(id: number): RedisAddress | undefined;
  writeStatus(update: { degraded: { reason: string; message: string } }): Promise<unknown>;
  event(reason: string, action: string, note: string, type?: "Normal" | "Warning"): void;
  busyMs: number;
  idleMs: number;
}

/**
 * The users step of a kind's pipeline: `syncUsers` over the members that
 * stay (`answers`: whether each answered this reconcile), then what its
 * outcome means: continue, look again, or Degraded through the kind's status.
 */
export async function usersStep(
  s: UsersScope,
  identity: SetIdentity,
  members: readonly { id: number; answers: boolean }[],
  what: (id: number) => string,
): Promise<StepResult> {
  const outcome = await syncUsers({
    ctx: s.ctx,
    owner: s.r,
    identity,
    users: s.r.spec.auth?.users ?? [],
    password: s.password,
    members: members.map((m) => ({
      id: m.id,
      pod: s.pods.get(m.id),
      address: s.address(m.id),
      answers: m.answers,
    })),
    what,
  });
  switch (outcome.kind) {
    case "done":
      return "continue";
    case "applied":
      s.event(
        "UsersApplied",
        "AclSetUser",
        `ACL users applied on ${outcome.ids.length} member(s), no restart`,
      );
      return Action.requeueAfter(0);
    case "retry":
      s.event("UsersNotApplied", "AclSetUser", outcome.message, "Warning");
      return Action.requeueAfter(s.busyMs);
    case "refused":
      await s.writeStatus({ degraded: { reason: outcome.reason, message: outcome.message } });
      return Action.requeueAfter(s.idleMs);
  }
}
