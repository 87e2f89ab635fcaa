/**
 * The roles plan: from spec.roles and spec.databases and what the primary
 * holds (`RolesReport`), the changes that make the primary match, in an
 * order PostgreSQL accepts. Pure; property-tested in roles.unit.test.ts.
 *
 * 1. Declared roles: created (with the operator's mark), or altered to the
 *    declared LOGIN and SUPERUSER; then their password set where the
 *    operator holds one (its Secret) and the primary's is another.
 * 2. Declared databases: created owned by their owner (after the roles,
 *    so the owner exists), or marked and given to the declared owner. The
 *    owner must be postgres or a declared role: otherwise the database is
 *    left as it is and a problem names spec.databases[i].owner.
 * 3. Their grants, where spec.databases[i].grants is given: exactly as
 *    declared for PUBLIC and every role the spec manages; a role the
 *    operator does not manage keeps what someone else granted it.
 * 4. Memberships, once both roles exist: each declared role is a member
 *    of exactly its inRoles.
 * 5. Last, roles the operator created (its mark) that the spec no longer
 *    declares are dropped — unless something depends on them (they own
 *    objects, hold privileges, or a declared role is still their member):
 *    then they are kept and `kept` says why. A role the operator did not
 *    create, postgres, streaming_replica and pg_* are never dropped.
 *
 * No change drops a database: one removed from spec.databases (a typo
 * would lose its data) is only reported (`unmanaged`).
 */
import {
  type DatabaseGrant,
  type DatabasePrivilege,
  databasePrivileges,
  defaultDatabaseGrants,
  isReservedRole,
  type RoleChange,
  type RoleState,
  type RolesReport,
} from "../admin/port.ts";
import { users } from "../resources.ts";

/** A role as the spec declares it, defaults applied. */
export interface DeclaredRole {
  name: string;
  login: boolean;
  superuser: boolean;
  inRoles: readonly string[];
}

export interface DeclaredDatabase {
  name: string;
  owner: string;
  /** Absent: the database's grants are not managed. */
  grants?: readonly { role: string; privileges: readonly (DatabasePrivilege | "ALL")[] }[];
}

export interface RolesInput {
  roles: readonly DeclaredRole[];
  databases: readonly DeclaredDatabase[];
  /** The declared roles whose password the operator holds (their Secret was read). */
  passwords: ReadonlySet<string>;
  report: RolesReport;
}

/** Something in the spec the plan cannot do; the rest is still planned. */
export type RolesProblem =
  | { kind: "ReservedRole"; index: number; role: string }
  | { kind: "TemplateDatabase"; index: number; database: string }
  | { kind: "UnknownOwner"; index: number; database: string; owner: string }
  | { kind: "UnknownGrantee"; index: number; grant: number; database: string; role: string }
  | { kind: "UnknownInRole"; index: number; role: string; of: string }
  | { kind: "InRoleItself"; index: number; role: string };

/** Why a role removed from the spec is not dropped. */
export type KeptBecause =
  | { kind: "NamedInRoles"; index: number; by: string }
  | { kind: "OwnsObjects" }
  | { kind: "OwnsDatabase"; database: string }
  | { kind: "HoldsPrivileges" }
  | { kind: "PrivilegesOnDatabase"; database: string };

export interface RolesPlan {
  changes: RoleChange[];
  problems: RolesProblem[];
  /** Roles the operator created that the spec no longer declares, not dropped. */
  kept: { role: string; why: KeptBecause }[];
  /** Databases the operator marked that the spec no longer declares: kept, no longer managed. */
  unmanaged: string[];
}

const templates = ["template0", "template1"];

export function planRoles(input: RolesInput): RolesPlan {
  const { report } = input;
  const problems: RolesProblem[] = [];
  const existing = new Map(report.roles.map((r) => [r.name, r]));
  const roles = input.roles
    .map((r, index) => ({ ...r, index }))
    .filter((r) => {
      if (!isReservedRole(r.name)) return true;
      problems.push({ kind: "ReservedRole", index: r.index, role: r.name });
      return false;
    });
  const declared = new Set(roles.map((r) => r.name));
  const removed = report.roles
    .filter((r) => r.managed && !isReservedRole(r.name) && !declared.has(r.name))
    .map((r) => r.name)
    .sort();

  const roleChanges = planRoleAttributes(roles, existing, input.passwords);
  const databases = planDatabases(input.databases, report, declared, removed, problems);
  const memberships = planMemberships(roles, existing, problems);

  const kept: RolesPlan["kept"] = [];
  const drops: RoleChange[] = [];
  for (const role of removed) {
    const why = keptBecause(role, roles, existing.get(role), databases.after);
    if (why) kept.push({ role, why });
    else drops.push({ kind: "dropRole", role });
  }
  const names = new Set(input.databases.map((d) => d.name));
  return {
    changes: [...roleChanges, ...databases.changes, ...memberships, ...drops],
    problems,
    kept,
    unmanaged: report.databases
      .filter((d) => d.managed && !names.has(d.name))
      .map((d) => d.name)
      .sort(),
  };
}

/** Step 1: create or alter, then the passwords. */
function planRoleAttributes(
  roles: readonly DeclaredRole[],
  existing: ReadonlyMap<string, RoleState>,
  passwords: ReadonlySet<string>,
): RoleChange[] {
  const changes: RoleChange[] = [];
  const setPasswords: RoleChange[] = [];
  for (const r of roles) {
    const had = existing.get(r.name);
    const attributes = { role: r.name, login: r.login, superuser: r.superuser };
    if (!had) changes.push({ kind: "createRole", ...attributes });
    else if (had.login !== r.login || had.superuser !== r.superuser)
      changes.push({ kind: "alterRole", ...attributes });
    if (passwords.has(r.name) && had?.passwordMatches !== true)
      setPasswords.push({ kind: "setPassword", role: r.name });
  }
  return [...changes, ...setPasswords];
}

/** What each database holds once the plan ran: its owner and its grants. */
type DatabasesAfter = ReadonlyMap<string, { owner: string; grants: readonly DatabaseGrant[] }>;

/** Steps 2 and 3. */
function planDatabases(
  list: readonly DeclaredDatabase[],
  report: RolesReport,
  declared: ReadonlySet<string>,
  removed: readonly string[],
  problems: RolesProblem[],
): { changes: RoleChange[]; after: DatabasesAfter } {
  const have = new Map(report.databases.map((d) => [d.name, d]));
  const after = new Map(
    report.databases.map((d) => [d.name, { owner: d.owner, grants: d.grants }]),
  );
  // Whose grants the spec decides: PUBLIC, the declared roles, and the
  // removed ones (revoked, so that they can be dropped).
  const managed = new Set(["public", ...declared, ...removed]);
  const changes: RoleChange[] = [];
  const grants: RoleChange[] = [];
  list.forEach((d, index) => {
    if (templates.includes(d.name)) {
      problems.push({ kind: "TemplateDatabase", index, database: d.name });
      return;
    }
    if (d.owner !== users.superuser && !declared.has(d.owner)) {
      problems.push({ kind: "UnknownOwner", index, database: d.name, owner: d.owner });
      return;
    }
    const had = have.get(d.name);
    if (!had) changes.push({ kind: "createDatabase", database: d.name, owner: d.owner });
    else {
      if (!had.managed) changes.push({ kind: "markDatabase", database: d.name });
      if (had.owner !== d.owner)
        changes.push({ kind: "alterOwner", database: d.name, owner: d.owner });
    }
    // The owner holds every privilege whatever its ACL says (and an owner
    // change hands the old owner's entries to the new one).
    const current = (had?.grants ?? defaultDatabaseGrants).filter((g) => g.role !== d.owner);
    if (!d.grants) {
      after.set(d.name, { owner: d.owner, grants: current });
      return;
    }
    const wanted = new Map<string, readonly DatabasePrivilege[]>();
    d.grants.forEach((g, grant) => {
      if (g.role === d.owner) return;
      if (g.role !== "public" && !declared.has(g.role)) {
        problems.push({ kind: "UnknownGrantee", index, grant, database: d.name, role: g.role });
        return;
      }
      wanted.set(g.role, expand(g.privileges));
    });
    const holds = new Map(current.map((g) => [g.role, g.privileges]));
    const grantees = [...new Set([...holds.keys(), ...wanted.keys()])].sort();
    const next: DatabaseGrant[] = [];
    for (const role of grantees) {
      const had = holds.get(role) ?? [];
      const want = managed.has(role) ? (wanted.get(role) ?? []) : had;
      const add = want.filter((p) => !had.includes(p));
      const drop = had.filter((p) => !want.includes(p));
      const on = { database: d.name, role };
      if (add.length > 0) grants.push({ kind: "grantDatabase", ...on, privileges: add });
      if (drop.length > 0) grants.push({ kind: "revokeDatabase", ...on, privileges: drop });
      if (want.length > 0) next.push({ role, privileges: want });
    }
    after.set(d.name, { owner: d.owner, grants: next });
  });
  return { changes: [...changes, ...grants], after };
}

/** Step 4: exactly the declared memberships, to roles that exist by then. */
function planMemberships(
  roles: readonly (DeclaredRole & { index: number })[],
  existing: ReadonlyMap<string, RoleState>,
  problems: RolesProblem[],
): RoleChange[] {
  const declared = new Set(roles.map((r) => r.name));
  const changes: RoleChange[] = [];
  for (const r of roles) {
    const want = [...new Set(r.inRoles)].sort();
    const had = existing.get(r.name)?.memberOf ?? [];
    for (const of of want) {
      if (had.includes(of)) continue;
      if (of === r.name) problems.push({ kind: "InRoleItself", index: r.index, role: r.name });
      // A removed role still named here is kept (keptBecause): it exists.
      else if (!declared.has(of) && !existing.has(of))
        problems.push({ kind: "UnknownInRole", index: r.index, role: r.name, of });
      else changes.push({ kind: "grantMembership", role: r.name, of });
    }
    for (const of of had) {
      if (!want.includes(of)) changes.push({ kind: "revokeMembership", role: r.name, of });
    }
  }
  return changes;
}

/** Step 5: why removed role `role` cannot be dropped once the rest of the plan ran, if it cannot. */
function keptBecause(
  role: string,
  roles: readonly (DeclaredRole & { index: number })[],
  state: RoleState | undefined,
  databases: DatabasesAfter,
): KeptBecause | undefined {
  const by = roles.find((r) => r.inRoles.includes(role));
  if (by) return { kind: "NamedInRoles", index: by.index, by: by.name };
  if (state?.ownsObjects) return { kind: "OwnsObjects" };
  const sorted = [...databases].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const owned = sorted.find(([, d]) => d.owner === role);
  if (owned) return { kind: "OwnsDatabase", database: owned[0] };
  if (state?.holdsPrivileges) return { kind: "HoldsPrivileges" };
  const granted = sorted.find(([, d]) => d.grants.some((g) => g.role === role));
  if (granted) return { kind: "PrivilegesOnDatabase", database: granted[0] };
  return undefined;
}

function expand(privileges: readonly (DatabasePrivilege | "ALL")[]): DatabasePrivilege[] {
  return databasePrivileges.filter((p) => privileges.includes(p) || privileges.includes("ALL"));
}

// --- sentences ---------------------------------------------------------------

export function describeRolesProblem(p: RolesProblem): string {
  switch (p.kind) {
    case "ReservedRole":
      return `spec.roles[${p.index}].name ${p.role} is reserved (postgres, streaming_replica and pg_* are the operator's or PostgreSQL's): rename the role`;
    case "TemplateDatabase":
      return `spec.databases[${p.index}].name ${p.database} is a template database: choose another name`;
    case "UnknownOwner":
      return `spec.databases[${p.index}].owner ${p.owner} is neither postgres nor one of spec.roles: add a role ${p.owner} to spec.roles or name another owner (database ${p.database} is left as it is until then)`;
    case "UnknownGrantee":
      return `spec.databases[${p.index}].grants[${p.grant}].role ${p.role} is neither public nor one of spec.roles: add it to spec.roles or remove the grant (the other grants on ${p.database} are applied)`;
    case "UnknownInRole":
      return `spec.roles[${p.index}].inRoles names ${p.of}, which is neither one of spec.roles nor an existing role: add it to spec.roles or remove it (role ${p.role} is not made a member of it)`;
    case "InRoleItself":
      return `spec.roles[${p.index}].inRoles names the role itself (${p.role}): remove it`;
  }
}

export function describeKept(role: string, why: KeptBecause): string {
  const kept = `role ${role}, removed from spec.roles, is not dropped`;
  switch (why.kind) {
    case "NamedInRoles":
      return `${kept}: spec.roles[${why.index}].inRoles (${why.by}) still names it: remove it there`;
    case "OwnsObjects":
      return `${kept}: it owns objects in a database (REASSIGN OWNED BY ${role} TO <role> in each, or drop them, and it is dropped)`;
    case "OwnsDatabase":
      return `${kept}: it owns database ${why.database} (give it another owner, ALTER DATABASE ${why.database} OWNER TO <role>, and it is dropped)`;
    case "HoldsPrivileges":
      return `${kept}: it holds privileges on objects in a database or a policy names it (revoke them, and it is dropped)`;
    case "PrivilegesOnDatabase":
      return `${kept}: it holds privileges on database ${why.database}, whose grants spec.databases does not manage (REVOKE ALL ON DATABASE ${why.database} FROM ${role}, and it is dropped)`;
  }
}

export function describeUnmanaged(database: string): string {
  return `database ${database} is no longer in spec.databases and is kept (removing a database from the list never drops it): drop it by hand if it is not needed, declare it again, or end this message with COMMENT ON DATABASE ${database} IS NULL`;
}

/** What a change did, for events and logs (no change carries a password). */
export function describeRoleChange(c: RoleChange): string {
  switch (c.kind) {
    case "createRole":
    case "alterRole":
      return `${c.kind === "createRole" ? "created" : "altered"} role ${c.role} (${c.login ? "LOGIN" : "NOLOGIN"}, ${c.superuser ? "SUPERUSER" : "NOSUPERUSER"})`;
    case "setPassword":
      return `set the password of role ${c.role} from its Secret`;
    case "createDatabase":
      return `created database ${c.database} owned by ${c.owner}`;
    case "markDatabase":
      return `took database ${c.database}, declared in spec.databases, under management`;
    case "alterOwner":
      return `gave database ${c.database} to ${c.owner}`;
    case "grantDatabase":
      return `granted ${c.privileges.join(", ")} on database ${c.database} to ${c.role}`;
    case "revokeDatabase":
      return `revoked ${c.privileges.join(", ")} on database ${c.database} from ${c.role}`;
    case "grantMembership":
      return `made role ${c.role} a member of ${c.of}`;
    case "revokeMembership":
      return `removed role ${c.role} from ${c.of}`;
    case "dropRole":
      return `dropped role ${c.role}, removed from spec.roles`;
  }
}
