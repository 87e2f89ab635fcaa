/**
 * Roles and databases (spec.roles, spec.databases) on the primary: the
 * roles plan (plan/roles.ts) applied. Steps, only while a primary is
 * recorded and serving and no failover or switchover is under way (a
 * handover's steps come first, and a role made on a server about to be
 * fenced would be made again on the next one anyway):
 *
 * 1. The password of each declared role: from spec.roles[i].passwordSecret
 *    (key `password`) when it names one, else — for a login role — from
 *    `<name>-role-<role>`, generated once (keys username, password, uri)
 *    and owned by the cluster (kept while the cluster exists, so a role
 *    declared again gets its old password back). A Secret missing or
 *    without the key is a problem naming the field; the role is still
 *    created and altered, its password left as it is.
 * 2. Read the primary's roles and databases; the port checks each
 *    password against the role's stored SCRAM verifier. That is how a
 *    changed Secret is noticed, rather than a hash kept in memory (lost by
 *    a restarted operator) or an annotation on the Secret (a write to a
 *    user's object, and blind to a password changed with ALTER ROLE): the
 *    primary's own verifier is the truth, level-driven like every other
 *    input.
 * 3. Plan, then apply each change in the plan's order, with an event for
 *    each (describeRoleChange: never a password). A change PostgreSQL
 *    refuses is a Warning event and a problem; the others still run, and
 *    the next reconcile plans afresh from what the primary then holds.
 * spec.bootstrap.initdb's database and owner count as declared
 * (`withInitdb`).
 *
 * 4. Problems, roles kept and databases no longer managed make one
 *    message, which the pipeline reports as Degraded (reason
 *    RolesNotReconciled).
 */
import { isNotFound, type KubeObject } from "@ballast/runtime";
import {
  ensureGeneratedSecret,
  generatePassword,
  InvalidSecretError,
  ownedMeta,
} from "@ballast/stateful";
import type { RoleChange } from "../admin/port.ts";
import type { PostgresClusterSpec } from "../api.ts";
import {
  type DeclaredDatabase,
  type DeclaredRole,
  describeKept,
  describeRoleChange,
  describeRolesProblem,
  describeUnmanaged,
  planRoles,
} from "../plan/roles.ts";
import { identity, names, passwordKey, port, users } from "../resources.ts";
import { serving } from "./observe.ts";
import type { PostgresScope } from "./scope.ts";

type SpecRole = NonNullable<PostgresClusterSpec["roles"]>[number];

/** Secret names are DNS subdomains: a role's `_` becomes `-` (role names have no `-`, so no two collide). */
export function roleSecretName(cluster: string, role: string): string {
  return `${cluster}-role-${role.replaceAll("_", "-")}`;
}

const secretName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** Conditions carry messages up to 32 KiB; a long list of problems is cut well before. */
const maxMessage = 4096;

/** What status must say (Degraded), or undefined when the primary matches the spec or was not asked. */
export async function syncRoles(
  s: PostgresScope,
): Promise<{ reason: "RolesNotReconciled"; message: string } | undefined> {
  const pg = s.pg;
  const id = pg.primary?.id;
  if (id === undefined || pg.election || pg.switchover) return undefined;
  const address = s.address(id);
  if (!address || !serving(s.observation, id).serving) return undefined;

  // 1.
  const spec = withInitdb(s.r.spec);
  const problems: string[] = [];
  const passwords = new Map<string, string>();
  for (const [index, role] of (spec.roles ?? []).entries()) {
    const loaded = await loadPassword(s, role, index);
    if (loaded === undefined) continue;
    if ("problem" in loaded) problems.push(loaded.problem);
    else passwords.set(role.name, loaded.password);
  }
  // 2.
  let report: Awaited<ReturnType<typeof s.postgres.readRoles>>;
  try {
    report = await s.postgres.readRoles(address, passwords);
  } catch (err) {
    return degraded([...problems, `cannot read roles on the primary: ${(err as Error).message}`]);
  }
  // 3.
  const plan = planRoles({
    roles: (spec.roles ?? []).map(declaredRole),
    databases: (spec.databases ?? []).map(declaredDatabase),
    passwords: new Set(passwords.keys()),
    report,
  });
  for (const change of plan.changes) {
    const note = describeRoleChange(change);
    try {
      if (change.kind === "setPassword")
        await s.postgres.setRolePassword(address, change.role, passwords.get(change.role) ?? "");
      else await s.postgres.applyRoleChange(address, change);
      s.event(reasons[change.kind], "ApplyRoles", note);
    } catch (err) {
      // The port's message names the change, the instance and PostgreSQL's reason.
      const failed = (err as Error).message;
      s.event("RoleChangeFailed", "ApplyRoles", failed, "Warning");
      problems.push(failed);
    }
  }
  // 4.
  return degraded([
    ...plan.problems.map(describeRolesProblem),
    ...problems,
    ...plan.kept.map((k) => describeKept(k.role, k.why)),
    ...plan.unmanaged.map(describeUnmanaged),
  ]);
}

function degraded(
  messages: readonly string[],
): { reason: "RolesNotReconciled"; message: string } | undefined {
  if (messages.length === 0) return undefined;
  const message = messages.join("; ");
  return {
    reason: "RolesNotReconciled",
    message: message.length > maxMessage ? `${message.slice(0, maxMessage - 1)}…` : message,
  };
}

/**
 * spec.bootstrap.initdb's application database and its owner, as if they
 * were declared in spec.databases and spec.roles (a LOGIN role with a
 * generated Secret), unless the spec declares them itself. Appended, so
 * every index a message names in the user's lists stays theirs.
 */
export function withInitdb(spec: PostgresClusterSpec): PostgresClusterSpec {
  const initdb = spec.bootstrap?.initdb;
  if (!initdb) return spec;
  const database = initdb.database ?? "app";
  const owner = initdb.owner ?? database;
  const roles = spec.roles ?? [];
  const databases = spec.databases ?? [];
  return {
    ...spec,
    roles: roles.some((r) => r.name === owner) ? roles : [...roles, { name: owner, login: true }],
    databases: databases.some((d) => d.name === database)
      ? databases
      : [...databases, { name: database, owner }],
  };
}

function declaredRole(r: SpecRole): DeclaredRole {
  return {
    name: r.name,
    login: r.login ?? true,
    superuser: r.superuser ?? false,
    inRoles: r.inRoles ?? [],
  };
}

function declaredDatabase(
  d: NonNullable<PostgresClusterSpec["databases"]>[number],
): DeclaredDatabase {
  return { name: d.name, owner: d.owner, ...(d.grants ? { grants: d.grants } : {}) };
}

/** Step 1 for one role: its password, a problem naming the field, or undefined when it has none to manage. */
async function loadPassword(
  s: PostgresScope,
  role: SpecRole,
  index: number,
): Promise<{ password: string } | { problem: string } | undefined> {
  if (role.passwordSecret) return readNamedSecret(s, role.passwordSecret, index);
  if (role.login === false) return undefined;
  const cluster = s.r.metadata.name ?? "";
  const name = roleSecretName(cluster, role.name);
  if (!secretName.test(name)) {
    return {
      problem: `spec.roles[${index}].name ${role.name} makes no valid Secret name (${name}): name one with spec.roles[${index}].passwordSecret`,
    };
  }
  let generated: string | undefined;
  const password = () => {
    generated ??= generatePassword();
    return generated;
  };
  const owned = (s.r.spec.databases ?? []).find((d) => d.owner === role.name)?.name;
  const database = owned ?? users.superuser;
  const host = `${names.readWrite(s.r)}.${s.namespace}.svc`;
  try {
    const values = await ensureGeneratedSecret(s.ctx, {
      metadata: ownedMeta(identity, s.r, name),
      generate: {
        username: () => role.name,
        [passwordKey]: password,
        uri: () =>
          `postgresql://${encodeURIComponent(role.name)}:${encodeURIComponent(password())}@${host}:${port}/${database}`,
      },
    });
    return { password: values[passwordKey] ?? "" };
  } catch (err) {
    // InvalidSecretError names the key, never a value; any other (the API
    // server's) is reported too, so that the other roles are still applied.
    const why =
      err instanceof InvalidSecretError ? err.message : `Secret ${name}: ${(err as Error).message}`;
    return { problem: `spec.roles[${index}] (${role.name}): ${why}` };
  }
}

async function readNamedSecret(
  s: PostgresScope,
  name: string,
  index: number,
): Promise<{ password: string } | { problem: string }> {
  const field = `spec.roles[${index}].passwordSecret`;
  let secret: KubeObject & { data?: Record<string, string> };
  try {
    secret = await s.ctx.client.get(
      { apiVersion: "v1", kind: "Secret" },
      { namespace: s.namespace, name },
      { signal: s.ctx.signal },
    );
  } catch (err) {
    if (!isNotFound(err)) return { problem: `${field}: Secret ${name}: ${(err as Error).message}` };
    return {
      problem: `${field} names Secret ${name}, which does not exist in namespace ${s.namespace}: create it with the key ${passwordKey}, or remove ${field} to have a password generated`,
    };
  }
  const value = secret.data?.[passwordKey];
  const password = value ? Buffer.from(value, "base64").toString() : "";
  if (!password) {
    return {
      problem: `${field}: Secret ${name} has no key ${passwordKey} (or it is empty): add it`,
    };
  }
  return { password };
}

const reasons: Record<RoleChange["kind"], string> = {
  createRole: "RoleCreated",
  alterRole: "RoleAltered",
  setPassword: "RolePasswordSet",
  createDatabase: "DatabaseCreated",
  markDatabase: "DatabaseManaged",
  alterOwner: "DatabaseOwnerChanged",
  grantDatabase: "DatabasePrivilegesGranted",
  revokeDatabase: "DatabasePrivilegesRevoked",
  grantMembership: "RoleMembershipGranted",
  revokeMembership: "RoleMembershipRevoked",
  dropRole: "RoleDropped",
};
