import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type DatabasePrivilege,
  databasePrivileges,
  defaultDatabaseGrants,
  isReservedRole,
  type RoleChange,
  type RoleState,
  type RolesReport,
} from "../admin/port.ts";
import {
  type DeclaredDatabase,
  type DeclaredRole,
  describeKept,
  describeRoleChange,
  describeRolesProblem,
  planRoles,
  type RolesInput,
} from "./roles.ts";

// --- a model of the primary's catalog ------------------------------------------

/**
 * What each change does to the report, as PostgreSQL does it; throws where
 * PostgreSQL would refuse (a role that exists, a grantee that does not, a
 * DROP ROLE something depends on), so a plan that applies here applies
 * there in the same order.
 */
function apply(report: RolesReport, change: RoleChange): RolesReport {
  const roles = new Map(report.roles.map((r) => [r.name, structuredClone(r)]));
  const databases = new Map(report.databases.map((d) => [d.name, structuredClone(d)]));
  const role = (name: string): RoleState => {
    const r = roles.get(name);
    if (!r) throw new Error(`${describeRoleChange(change)}: role ${name} does not exist`);
    return r;
  };
  const database = (name: string) => {
    const d = databases.get(name);
    if (!d) throw new Error(`${describeRoleChange(change)}: database ${name} does not exist`);
    return d;
  };
  const grantee = (name: string) => name === "public" || role(name);
  switch (change.kind) {
    case "createRole":
      if (roles.has(change.role)) throw new Error(`role ${change.role} exists`);
      roles.set(change.role, {
        name: change.role,
        login: change.login,
        superuser: change.superuser,
        memberOf: [],
        managed: true,
        ownsObjects: false,
        holdsPrivileges: false,
        passwordMatches: false,
      });
      break;
    case "alterRole":
      Object.assign(role(change.role), { login: change.login, superuser: change.superuser });
      break;
    case "setPassword":
      role(change.role).passwordMatches = true;
      break;
    case "createDatabase":
      if (databases.has(change.database)) throw new Error(`database ${change.database} exists`);
      role(change.owner);
      databases.set(change.database, {
        name: change.database,
        owner: change.owner,
        managed: true,
        grants: structuredClone(defaultDatabaseGrants),
      });
      break;
    case "markDatabase":
      database(change.database).managed = true;
      break;
    case "alterOwner": {
      role(change.owner);
      const d = database(change.database);
      d.owner = change.owner;
      d.grants = d.grants.filter((g) => g.role !== change.owner);
      break;
    }
    case "grantDatabase":
    case "revokeDatabase": {
      grantee(change.role);
      const d = database(change.database);
      const had = d.grants.find((g) => g.role === change.role)?.privileges ?? [];
      const next = databasePrivileges.filter((p) =>
        change.kind === "grantDatabase"
          ? had.includes(p) || change.privileges.includes(p)
          : had.includes(p) && !change.privileges.includes(p),
      );
      const others = d.grants.filter((g) => g.role !== change.role);
      d.grants = next.length > 0 ? [...others, { role: change.role, privileges: next }] : others;
      break;
    }
    case "grantMembership":
      role(change.of);
      role(change.role).memberOf = [...role(change.role).memberOf, change.of].sort();
      break;
    case "revokeMembership":
      role(change.role).memberOf = role(change.role).memberOf.filter((m) => m !== change.of);
      break;
    case "dropRole": {
      const r = role(change.role);
      const owned = [...databases.values()].find((d) => d.owner === r.name);
      const granted = [...databases.values()].find((d) => d.grants.some((g) => g.role === r.name));
      if (r.ownsObjects || r.holdsPrivileges || owned || granted)
        throw new Error(`role ${r.name} cannot be dropped: objects depend on it`);
      roles.delete(r.name);
      for (const other of roles.values())
        other.memberOf = other.memberOf.filter((m) => m !== r.name);
      break;
    }
  }
  return { roles: [...roles.values()], databases: [...databases.values()] };
}

function applyAll(report: RolesReport, changes: readonly RoleChange[]): RolesReport {
  return changes.reduce(apply, report);
}

// --- builders ------------------------------------------------------------------

const existing = (name: string, o: Partial<RoleState> = {}): RoleState => ({
  name,
  login: true,
  superuser: false,
  memberOf: [],
  managed: false,
  ownsObjects: false,
  holdsPrivileges: false,
  ...o,
});

const base: RolesReport = {
  roles: [
    existing("postgres", { superuser: true }),
    existing("streaming_replica"),
    existing("pg_monitor", { login: false }),
  ],
  databases: [
    { name: "postgres", owner: "postgres", managed: false, grants: defaultDatabaseGrants },
  ],
};

const declare = (name: string, o: Partial<DeclaredRole> = {}): DeclaredRole => ({
  name,
  login: true,
  superuser: false,
  inRoles: [],
  ...o,
});

function input(o: Partial<RolesInput> = {}): RolesInput {
  return { roles: [], databases: [], passwords: new Set(), report: base, ...o };
}

const kinds = (list: readonly { kind: string }[]) => list.map((c) => c.kind);

// --- examples ------------------------------------------------------------------

test("planRoles() creates a login role with its password, then its database owned by it", () => {
  const plan = planRoles(
    input({
      roles: [declare("app")],
      databases: [{ name: "app", owner: "app" }],
      passwords: new Set(["app"]),
    }),
  );
  assert.deepEqual(plan.changes, [
    { kind: "createRole", role: "app", login: true, superuser: false },
    { kind: "setPassword", role: "app" },
    { kind: "createDatabase", database: "app", owner: "app" },
  ]);
  assert.deepEqual([plan.problems, plan.kept, plan.unmanaged], [[], [], []]);
});

test("planRoles() alters attributes and sets a password only where the primary's differs", () => {
  const report = {
    ...base,
    roles: [
      ...base.roles,
      existing("a", { passwordMatches: true }),
      existing("b", { passwordMatches: false }),
    ],
  };
  const plan = planRoles(
    input({
      roles: [declare("a", { superuser: true }), declare("b")],
      passwords: new Set(["a", "b"]),
      report,
    }),
  );
  assert.deepEqual(plan.changes, [
    { kind: "alterRole", role: "a", login: true, superuser: true },
    { kind: "setPassword", role: "b" },
  ]);
});

test("planRoles() refuses an owner that is neither postgres nor declared, naming the field and the fix", () => {
  const plan = planRoles(
    input({ roles: [declare("app")], databases: [{ name: "x", owner: "nobody" }] }),
  );
  assert.deepEqual(kinds(plan.changes), ["createRole"]);
  assert.deepEqual(plan.problems, [
    { kind: "UnknownOwner", index: 0, database: "x", owner: "nobody" },
  ]);
  const [problem] = plan.problems;
  assert.ok(problem);
  assert.match(
    describeRolesProblem(problem),
    /^spec\.databases\[0\]\.owner nobody .*add a role nobody to spec\.roles/,
  );
});

test("planRoles() keeps grants as declared: PUBLIC's default revoked, ALL expanded, the owner left alone", () => {
  const plan = planRoles(
    input({
      roles: [declare("app"), declare("reader")],
      databases: [
        {
          name: "app",
          owner: "app",
          grants: [
            { role: "reader", privileges: ["CONNECT"] },
            { role: "app", privileges: ["CONNECT"] },
            { role: "stranger", privileges: ["ALL"] },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(plan.changes.slice(3), [
    {
      kind: "revokeDatabase",
      database: "app",
      role: "public",
      privileges: ["CONNECT", "TEMPORARY"],
    },
    { kind: "grantDatabase", database: "app", role: "reader", privileges: ["CONNECT"] },
  ]);
  assert.deepEqual(kinds(plan.problems), ["UnknownGrantee"]);
});

test("planRoles() drops a role it created once the spec no longer declares it; never one it did not create", () => {
  const report = {
    ...base,
    roles: [...base.roles, existing("ours", { managed: true }), existing("theirs")],
  };
  const plan = planRoles(input({ report }));
  assert.deepEqual(plan.changes, [{ kind: "dropRole", role: "ours" }]);
});

test("planRoles() keeps a removed role that owns something, and says what to do", () => {
  const report: RolesReport = {
    roles: [
      ...base.roles,
      existing("owner", { managed: true, ownsObjects: true }),
      existing("dbowner", { managed: true }),
      existing("granted", { managed: true }),
    ],
    databases: [
      ...base.databases,
      { name: "kept", owner: "dbowner", managed: false, grants: [] },
      {
        name: "other",
        owner: "postgres",
        managed: false,
        grants: [{ role: "granted", privileges: ["CONNECT"] }],
      },
    ],
  };
  const plan = planRoles(input({ report }));
  assert.deepEqual(plan.changes, []);
  assert.deepEqual(plan.kept, [
    { role: "dbowner", why: { kind: "OwnsDatabase", database: "kept" } },
    { role: "granted", why: { kind: "PrivilegesOnDatabase", database: "other" } },
    { role: "owner", why: { kind: "OwnsObjects" } },
  ]);
  assert.match(describeKept("owner", { kind: "OwnsObjects" }), /REASSIGN OWNED BY owner/);
});

test("planRoles() gives a database to its declared owner before dropping the role that owned it", () => {
  const report: RolesReport = {
    roles: [...base.roles, existing("old", { managed: true })],
    databases: [...base.databases, { name: "app", owner: "old", managed: true, grants: [] }],
  };
  const plan = planRoles(
    input({ roles: [declare("new")], databases: [{ name: "app", owner: "new" }], report }),
  );
  assert.deepEqual(kinds(plan.changes), ["createRole", "alterOwner", "dropRole"]);
});

test("planRoles() reports a database removed from the spec and never drops it", () => {
  const report: RolesReport = {
    ...base,
    databases: [...base.databases, { name: "gone", owner: "postgres", managed: true, grants: [] }],
  };
  const plan = planRoles(input({ report }));
  assert.deepEqual(plan.changes, []);
  assert.deepEqual(plan.unmanaged, ["gone"]);
});

test("planRoles() grants memberships after both roles exist and revokes undeclared ones", () => {
  const report = { ...base, roles: [...base.roles, existing("b", { memberOf: ["pg_monitor"] })] };
  const plan = planRoles(
    input({
      roles: [declare("b", { inRoles: ["a"] }), declare("a", { inRoles: ["missing", "a"] })],
      report,
    }),
  );
  assert.deepEqual(plan.changes, [
    { kind: "createRole", role: "a", login: true, superuser: false },
    { kind: "grantMembership", role: "b", of: "a" },
    { kind: "revokeMembership", role: "b", of: "pg_monitor" },
  ]);
  assert.deepEqual(kinds(plan.problems), ["InRoleItself", "UnknownInRole"]);
});

// --- properties ----------------------------------------------------------------

const pool = ["a", "b", "c", "d"];
const reservedPool = ["postgres", "streaming_replica", "pg_monitor"];
const databasePool = ["x", "y", "z", "postgres"];
const privilegeArb = fc.subarray<DatabasePrivilege | "ALL">([...databasePrivileges, "ALL"], {
  minLength: 1,
});
const actualPrivilegesArb = fc.subarray<DatabasePrivilege>([...databasePrivileges], {
  minLength: 1,
});

/** A catalog PostgreSQL could hold: owners and members exist, reserved roles are there (some even marked). */
const reportArb: fc.Arbitrary<RolesReport> = fc
  .tuple(
    fc.subarray(pool),
    fc.subarray(reservedPool.slice(1)),
    fc.array(
      fc.record({
        login: fc.boolean(),
        superuser: fc.boolean(),
        managed: fc.boolean(),
        ownsObjects: fc.boolean(),
        holdsPrivileges: fc.boolean(),
        passwordMatches: fc.option(fc.boolean(), { nil: undefined }),
        memberOf: fc.subarray([...pool, ...reservedPool]),
      }),
      {
        minLength: 1 + reservedPool.length + pool.length,
        maxLength: 1 + reservedPool.length + pool.length,
      },
    ),
    fc.uniqueArray(
      fc.record({
        name: fc.constantFrom(...databasePool),
        owner: fc.constantFrom(...pool, "postgres"),
        managed: fc.boolean(),
        grants: fc.uniqueArray(
          fc.record({
            role: fc.constantFrom(...pool, "public", "postgres"),
            privileges: actualPrivilegesArb,
          }),
          { selector: (g) => g.role, maxLength: 4 },
        ),
      }),
      { selector: (d) => d.name, maxLength: 4 },
    ),
  )
  .map(([names, reserved, attrs, dbs]) => {
    const all = ["postgres", ...reserved, ...names];
    const roles = all.map((name, n): RoleState => {
      const a = attrs[n];
      assert.ok(a);
      const { passwordMatches, ...rest } = a;
      return {
        name,
        ...rest,
        memberOf: a.memberOf.filter((m) => m !== name && all.includes(m)).sort(),
        ...(passwordMatches === undefined ? {} : { passwordMatches }),
      };
    });
    const databases = dbs.map((d) => {
      const owner = all.includes(d.owner) ? d.owner : "postgres";
      return {
        ...d,
        owner,
        grants: d.grants.filter(
          (g) => g.role !== owner && (g.role === "public" || all.includes(g.role)),
        ),
      };
    });
    return { roles, databases };
  });

const declaredArb: fc.Arbitrary<DeclaredRole[]> = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom(...pool),
    login: fc.boolean(),
    superuser: fc.boolean(),
    inRoles: fc.subarray([...pool, "pg_monitor", "missing"]),
  }),
  { selector: (r) => r.name, maxLength: 4 },
);

const databasesArb: fc.Arbitrary<DeclaredDatabase[]> = fc.uniqueArray(
  fc.record(
    {
      name: fc.constantFrom(...databasePool),
      owner: fc.constantFrom(...pool, "postgres", "nobody"),
      grants: fc.uniqueArray(
        fc.record({
          role: fc.constantFrom(...pool, "public", "stranger"),
          privileges: privilegeArb,
        }),
        { selector: (g) => g.role, maxLength: 4 },
      ),
    },
    { requiredKeys: ["name", "owner"] },
  ),
  { selector: (d) => d.name, maxLength: 4 },
);

const inputArb: fc.Arbitrary<RolesInput> = fc
  .tuple(reportArb, declaredArb, databasesArb, fc.subarray(pool))
  .map(([report, roles, databases, passwords]) => ({
    report,
    roles,
    databases,
    passwords: new Set(passwords.filter((p) => roles.some((r) => r.name === p))),
  }));

test("planRoles() never drops a role the operator did not create, nor a reserved one, nor a declared one", () => {
  fc.assert(
    fc.property(inputArb, (i) => {
      const managed = new Set(i.report.roles.filter((r) => r.managed).map((r) => r.name));
      for (const c of planRoles(i).changes) {
        if (c.kind !== "dropRole") continue;
        assert.ok(managed.has(c.role), `${c.role} was not created by the operator`);
        assert.ok(!isReservedRole(c.role), `${c.role} is reserved`);
        assert.ok(!i.roles.some((r) => r.name === c.role), `${c.role} is declared`);
      }
    }),
    { numRuns: 3000 },
  );
});

test("planRoles() never drops a database: every database reported is there after the plan", () => {
  fc.assert(
    fc.property(inputArb, (i) => {
      const after = applyAll(i.report, planRoles(i).changes);
      const names = new Set(after.databases.map((d) => d.name));
      for (const d of i.report.databases) assert.ok(names.has(d.name), d.name);
    }),
    { numRuns: 3000 },
  );
});

test("planRoles() applies in order (each change's roles and databases exist) and is idempotent: the result plans nothing", () => {
  fc.assert(
    fc.property(inputArb, (i) => {
      const first = planRoles(i);
      const after = applyAll(i.report, first.changes);
      const again = planRoles({ ...i, report: after });
      assert.deepEqual(again.changes, [], JSON.stringify(first.changes));
      assert.deepEqual(again.problems, first.problems);
      assert.deepEqual(again.kept, first.kept);
    }),
    { numRuns: 3000 },
  );
});

test("planRoles() orders a role before a database it owns, memberships after both roles exist, drops last", () => {
  fc.assert(
    fc.property(inputArb, (i) => {
      const changes = planRoles(i).changes;
      const at = (p: (c: RoleChange) => boolean) => changes.findIndex(p);
      changes.forEach((c, n) => {
        const created = (role: string) => at((x) => x.kind === "createRole" && x.role === role);
        if (c.kind === "createDatabase" || c.kind === "alterOwner") assert.ok(created(c.owner) < n);
        if (c.kind === "grantMembership") {
          assert.ok(created(c.role) < n);
          assert.ok(created(c.of) < n);
        }
        if (c.kind === "dropRole") assert.ok(changes.slice(n).every((x) => x.kind === "dropRole"));
      });
    }),
    { numRuns: 3000 },
  );
});

test("planRoles() makes the primary match the spec wherever it reports no problem", () => {
  fc.assert(
    fc.property(inputArb, (i) => {
      const plan = planRoles(i);
      const after = applyAll(i.report, plan.changes);
      const roles = new Map(after.roles.map((r) => [r.name, r]));
      for (const d of i.roles) {
        const r = roles.get(d.name);
        assert.ok(r, `role ${d.name} exists`);
        assert.equal(r.login, d.login);
        assert.equal(r.superuser, d.superuser);
        if (i.passwords.has(d.name)) assert.equal(r.passwordMatches, true);
        const failed = plan.problems.some(
          (p) => p.kind === "UnknownInRole" || p.kind === "InRoleItself",
        );
        if (!failed) assert.deepEqual(r.memberOf, [...new Set(d.inRoles)].sort());
      }
      for (const r of after.roles) {
        const gone =
          r.managed && !isReservedRole(r.name) && !i.roles.some((d) => d.name === r.name);
        if (gone)
          assert.ok(
            plan.kept.some((k) => k.role === r.name),
            `${r.name} dropped or kept`,
          );
      }
      for (const d of i.databases) {
        const db = after.databases.find((x) => x.name === d.name);
        if (plan.problems.some((p) => p.kind === "UnknownOwner" && p.database === d.name)) continue;
        assert.equal(db?.owner, d.owner);
        assert.equal(db?.managed, true);
      }
    }),
    { numRuns: 3000 },
  );
});

test("describe*() say what to fix and name the field", () => {
  const plan = planRoles(
    input({
      roles: [declare("a", { inRoles: ["ghost"] })],
      databases: [{ name: "x", owner: "a", grants: [{ role: "ghost", privileges: ["ALL"] }] }],
    }),
  );
  assert.deepEqual(plan.problems.map(describeRolesProblem), [
    "spec.databases[0].grants[0].role ghost is neither public nor one of spec.roles: add it to spec.roles or remove the grant (the other grants on x are applied)",
    "spec.roles[0].inRoles names ghost, which is neither one of spec.roles nor an existing role: add it to spec.roles or remove it (role a is not made a member of it)",
  ]);
  for (const c of plan.changes) assert.ok(describeRoleChange(c).length > 0);
});
