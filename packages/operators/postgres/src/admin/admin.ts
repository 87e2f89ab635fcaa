/**
 * The real PostgreSQL port, on npm `pg`: one short-lived session per call
 * (`session.ts` says why), every statement bounded by a small
 * `statement_timeout` except the two that legitimately take long
 * (`pg_promote`, which waits for the promotion; `CHECKPOINT`, which writes
 * every dirty buffer), which get their own, longer bounds.
 *
 * Statements that take no parameters (`ALTER SYSTEM` is a utility
 * statement: no `$1`) embed their value with `escapeLiteral`, after a
 * local check where PostgreSQL's rule is simple (slot names); role and
 * database names (utility statements too) with `escapeIdentifier`.
 *
 * Passwords (`setRolePassword`): ASCII ones are sent as a SCRAM-SHA-256
 * verifier computed here, so the password itself never reaches the
 * server, its logs or pg_stat_statements (PostgreSQL takes a verifier in
 * `PASSWORD '…'` as already hashed). PostgreSQL normalises a non-ASCII
 * password (SASLprep) before hashing it, which is more than is worth
 * copying here: such a password is sent as it is, for the server to hash
 * (`password_encryption = 'scram-sha-256'`). Either way the session first
 * turns off every setting that could write the statement anywhere
 * (`log_statement`, `log_min_error_statement`, `log_min_duration_statement`,
 * pg_stat_statements' `track_utility`): even a verifier lets its holder
 * guess the password offline.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { type Client, escapeIdentifier, escapeLiteral } from "pg";
import { readReport, walFileTimeline } from "./_report.ts";
import {
  type DatabaseGrant,
  type DatabasePrivilege,
  databasePrivileges,
  type InstanceAddress,
  type InstanceReport,
  isReservedRole,
  isSlotName,
  managedMark,
  type PostgresPort,
  type PromoteOptions,
  type Promotion,
  type RoleCommand,
  type RoleState,
  type RolesReport,
} from "./port.ts";
import { classify, Sessions } from "./session.ts";
import {
  historyFileName,
  parseTimelineHistory,
  type TimelineSwitchText,
} from "./timeline-history.ts";

export interface PostgresAdminOptions {
  /** The role to connect as: a superuser in the operator's pods. @default "postgres" */
  user?: string;
  password: string;
  /** @default "postgres" */
  database?: string;
  /** @default 2000 */
  connectTimeoutMs?: number;
  /** `statement_timeout` of each session. @default 3000 */
  statementTimeoutMs?: number;
  /** The bound on `CHECKPOINT`: it writes every dirty buffer at full speed. @default 60000 */
  checkpointTimeoutMs?: number;
  /** How long `setSynchronousStandbyNames` waits for the reload to apply. @default 2000 */
  reloadTimeoutMs?: number;
  /** How the port's sessions appear in `pg_stat_activity`. @default "ballast-operator" */
  applicationName?: string;
}

export class PostgresAdmin implements PostgresPort {
  readonly #options: PostgresAdminOptions;
  readonly #sessions: Sessions;

  constructor(options: PostgresAdminOptions) {
    this.#options = options;
    this.#sessions = new Sessions(options);
  }

  async report(instance: InstanceAddress): Promise<InstanceReport> {
    try {
      return await this.#sessions.run(instance, "report", (client) => readReport(client, instance));
    } catch (err) {
      return {
        id: instance.id,
        reachable: false,
        role: "unknown",
        error: this.#sessions.failure(err),
      };
    }
  }

  async timelineHistory(
    instance: InstanceAddress,
    timeline: number,
  ): Promise<TimelineSwitchText[]> {
    const file = historyFileName(timeline);
    if (timeline === 1) return [];
    const what = `timelineHistory ${timeline}`;
    return this.#sessions.run(instance, what, async (client) => {
      const { rows } = await client.query("SELECT pg_read_file($1, 0, 1048576, true) AS content", [
        `pg_wal/${file}`,
      ]);
      const content = rows[0]?.content;
      if (typeof content !== "string") {
        throw this.#sessions.error(instance, "error", what, `pg_wal/${file} does not exist`);
      }
      return parseTimelineHistory(content);
    });
  }

  async promote(instance: InstanceAddress, options: PromoteOptions = {}): Promise<Promotion> {
    const waitSeconds = Math.max(1, Math.round(options.waitSeconds ?? 60));
    const statementTimeoutMs = waitSeconds * 1000 + (this.#options.statementTimeoutMs ?? 3000);
    const what = `promote (pg_promote, wait ${waitSeconds} s)`;
    return this.#sessions.run(
      instance,
      what,
      async (client) => {
        let alreadyPrimary = !(await inRecovery(client));
        if (!alreadyPrimary) {
          try {
            const { rows } = await client.query("SELECT pg_promote(true, $1) AS promoted", [
              waitSeconds,
            ]);
            if (rows[0]?.promoted !== true) {
              throw this.#sessions.error(
                instance,
                "timeout",
                what,
                `still in recovery after ${waitSeconds} s (the promotion may yet finish: report again)`,
              );
            }
          } catch (err) {
            // 55000 "recovery is not in progress": someone else promoted it meanwhile.
            if (classify(err).sqlState !== "55000" || (await inRecovery(client))) throw err;
            alreadyPrimary = true;
          }
        }
        const { rows } = await client.query(
          "SELECT pg_current_wal_lsn()::text AS lsn, pg_walfile_name(pg_current_wal_lsn()) AS walfile",
        );
        return {
          alreadyPrimary,
          timeline: walFileTimeline(String(rows[0]?.walfile)),
          currentLsn: String(rows[0]?.lsn),
        };
      },
      { statementTimeoutMs },
    );
  }

  async checkpoint(instance: InstanceAddress): Promise<void> {
    await this.#sessions.run(instance, "CHECKPOINT", (client) => client.query("CHECKPOINT"), {
      statementTimeoutMs: this.#options.checkpointTimeoutMs ?? 60_000,
    });
  }

  async ensureSlot(instance: InstanceAddress, name: string): Promise<{ created: boolean }> {
    const what = `ensureSlot ${name}`;
    this.#checkSlotName(instance, what, name);
    return this.#sessions.run(instance, what, async (client) => {
      try {
        await client.query("SELECT pg_create_physical_replication_slot($1, true)", [name]);
        return { created: true };
      } catch (err) {
        // 42710 duplicate_object: it exists (checking first would race with another creator).
        if (classify(err).sqlState === "42710") return { created: false };
        throw err;
      }
    });
  }

  async dropSlot(instance: InstanceAddress, name: string): Promise<{ dropped: boolean }> {
    const what = `dropSlot ${name}`;
    this.#checkSlotName(instance, what, name);
    return this.#sessions.run(instance, what, async (client) => {
      try {
        await client.query("SELECT pg_drop_replication_slot($1)", [name]);
        return { dropped: true };
      } catch (err) {
        // 42704 undefined_object: already gone.
        if (classify(err).sqlState === "42704") return { dropped: false };
        throw err;
      }
    });
  }

  async setSynchronousStandbyNames(primary: InstanceAddress, value: string): Promise<string> {
    const what = `setSynchronousStandbyNames ${JSON.stringify(value)}`;
    const applied = await this.#setAndReload(primary, what, { synchronous_standby_names: value });
    return applied.synchronous_standby_names ?? "";
  }

  async setStreamingSource(
    standby: InstanceAddress,
    source: { conninfo: string; slotName: string },
  ): Promise<void> {
    this.#checkSlotName(standby, "setStreamingSource", source.slotName);
    // The conninfo holds no password (a passfile does); it is still left out of the message.
    await this.#setAndReload(standby, `setStreamingSource slot ${source.slotName}`, {
      primary_conninfo: source.conninfo,
      primary_slot_name: source.slotName,
    });
  }

  /**
   * `ALTER SYSTEM SET` each setting, `pg_reload_conf()`, then waits until
   * this session applies every value: pg_reload_conf() only signals the
   * postmaster, which re-reads the files and signals every process; a
   * backend applies the new values between statements, once the signal
   * reached it. A value the command line sets is never applied (a
   * command-line setting outranks postgresql.auto.conf): the wait times out
   * and says which value the server still applies.
   */
  async #setAndReload(
    instance: InstanceAddress,
    what: string,
    settings: Record<string, string>,
  ): Promise<Record<string, string>> {
    return this.#sessions.run(instance, what, async (client) => {
      for (const [name, value] of Object.entries(settings))
        await client.query(`ALTER SYSTEM SET ${name} = ${escapeLiteral(value)}`);
      await client.query("SELECT pg_reload_conf()");
      const deadline = Date.now() + (this.#options.reloadTimeoutMs ?? 2000);
      for (;;) {
        const applied: Record<string, string> = {};
        for (const name of Object.keys(settings)) {
          const { rows } = await client.query("SELECT current_setting($1) AS value", [name]);
          applied[name] = String(rows[0]?.value ?? "");
        }
        const behind = Object.keys(settings).filter((n) => applied[n] !== settings[n]);
        if (behind.length === 0) return applied;
        if (Date.now() >= deadline) {
          const errors = await client.query(
            "SELECT sourcefile, sourceline, name, error FROM pg_file_settings WHERE error IS NOT NULL",
          );
          const why = errors.rows
            .map((r) => `${r.sourcefile}:${r.sourceline} ${r.name ?? ""}: ${r.error}`)
            .join("; ");
          const still =
            behind[0] === "synchronous_standby_names"
              ? `the server still applies ${JSON.stringify(applied[behind[0]])}`
              : `the server does not apply the new ${behind.join(", ")} (set on its command line?)`;
          throw this.#sessions.error(
            instance,
            "timeout",
            what,
            `${still}${why ? ` (configuration errors: ${why})` : ""}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  }

  async terminateClientBackends(instance: InstanceAddress): Promise<number> {
    return this.#sessions.run(instance, "terminateClientBackends", async (client) => {
      const { rows } = await client.query(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int4 AS terminated
         FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      return Number(rows[0]?.terminated ?? 0);
    });
  }

  async readRoles(
    primary: InstanceAddress,
    passwords: ReadonlyMap<string, string> = new Map(),
  ): Promise<RolesReport> {
    const { roles, databases, verifiers } = await this.#sessions.run(
      primary,
      "readRoles",
      readRoles,
    );
    const checked = await Promise.all(
      roles.map(async (r): Promise<RoleState> => {
        const password = passwords.get(r.name);
        if (password === undefined) return r;
        const verifier = verifiers.get(r.name);
        return { ...r, passwordMatches: verifier ? await scramMatches(verifier, password) : false };
      }),
    );
    return { roles: checked, databases };
  }

  async applyRoleChange(primary: InstanceAddress, change: RoleCommand): Promise<void> {
    const what = `${change.kind} ${"role" in change ? change.role : change.database}`;
    // CREATE DATABASE copies template1 and waits for a checkpoint-sized
    // write: the longer bound, as CHECKPOINT has.
    const long = change.kind === "createDatabase";
    await this.#sessions.run(
      primary,
      what,
      async (client) => {
        if (change.kind === "dropRole") await this.#checkDroppable(client, primary, change.role);
        for (const statement of roleStatements(change)) await client.query(statement);
      },
      long ? { statementTimeoutMs: this.#options.checkpointTimeoutMs ?? 60_000 } : {},
    );
  }

  async setRolePassword(primary: InstanceAddress, role: string, password: string): Promise<void> {
    const what = `setRolePassword ${role}`;
    const value = isAscii(password) ? await scramVerifier(password) : password;
    await this.#sessions.run(primary, what, async (client) => {
      await client.query(
        [
          "SET log_statement = 'none'",
          "SET log_min_error_statement = 'panic'",
          "SET log_min_duration_statement = -1",
          // A placeholder when pg_stat_statements is not loaded: harmless.
          "SET pg_stat_statements.track_utility = off",
          "SET password_encryption = 'scram-sha-256'",
        ].join("; "),
      );
      try {
        await client.query(`ALTER ROLE ${escapeIdentifier(role)} PASSWORD ${escapeLiteral(value)}`);
      } catch (err) {
        // PostgreSQL's message, never the statement (it holds the password
        // or its verifier); and no `cause`.
        const { sqlState } = classify(err);
        const message = [password, value].reduce(
          (text, secret) => text.replaceAll(secret, "<password>"),
          err instanceof Error ? err.message : String(err),
        );
        throw this.#sessions.error(primary, "error", what, message, sqlState);
      }
    });
  }

  /** The guard of `dropRole`: only a role the operator created, never a reserved one. */
  async #checkDroppable(client: Client, primary: InstanceAddress, role: string): Promise<void> {
    const refuse = (why: string) =>
      this.#sessions.error(primary, "error", `dropRole ${role}`, `refused: ${why}`);
    if (isReservedRole(role)) throw refuse("a reserved role");
    const { rows } = await client.query(
      "SELECT shobj_description(oid, 'pg_authid') AS mark FROM pg_roles WHERE rolname = $1",
      [role],
    );
    if (rows.length > 0 && rows[0]?.mark !== managedMark)
      throw refuse(
        `the role does not carry the mark '${managedMark}' (the operator did not create it)`,
      );
  }

  #checkSlotName(instance: InstanceAddress, what: string, name: string): void {
    if (!isSlotName(name)) {
      throw this.#sessions.error(
        instance,
        "error",
        what,
        `${JSON.stringify(name)} is not a slot name (lower-case letters, digits and _, at most 63)`,
      );
    }
  }
}

async function inRecovery(client: Client): Promise<boolean> {
  const { rows } = await client.query("SELECT pg_is_in_recovery() AS recovery");
  return rows[0]?.recovery === true;
}

// --- roles and databases ------------------------------------------------------

/** The role's memberships, marks and dependents; templates and pg_* left out. */
const rolesQuery = `
SELECT r.rolname AS name, r.rolcanlogin AS login, r.rolsuper AS superuser,
  r.rolpassword AS verifier,
  shobj_description(r.oid, 'pg_authid') IS NOT DISTINCT FROM $1 AS managed,
  ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
        WHERE m.member = r.oid ORDER BY 1) AS member_of,
  EXISTS (SELECT 1 FROM pg_shdepend d WHERE d.refclassid = 'pg_authid'::regclass
          AND d.refobjid = r.oid AND d.deptype = 'o'
          AND d.classid <> 'pg_database'::regclass) AS owns_objects,
  EXISTS (SELECT 1 FROM pg_shdepend d WHERE d.refclassid = 'pg_authid'::regclass
          AND d.refobjid = r.oid AND d.deptype <> 'o'
          AND d.classid <> 'pg_database'::regclass) AS holds_privileges
FROM pg_authid r WHERE r.rolname !~ '^pg_' ORDER BY r.rolname`;

// A database never granted anything has a NULL ACL: PostgreSQL's default
// (acldefault) applies, so it is read as such.
const databasesQuery = `
SELECT d.datname AS name, pg_get_userbyid(d.datdba) AS owner,
  shobj_description(d.oid, 'pg_database') IS NOT DISTINCT FROM $1 AS managed,
  ARRAY(SELECT DISTINCT (CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END)
          || ' ' || a.privilege_type
        FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
        WHERE a.grantee <> d.datdba ORDER BY 1) AS grants
FROM pg_database d WHERE NOT d.datistemplate ORDER BY d.datname`;

async function readRoles(client: Client): Promise<{
  roles: RoleState[];
  databases: RolesReport["databases"];
  verifiers: Map<string, string>;
}> {
  const roleRows = (await client.query(rolesQuery, [managedMark])).rows;
  const databaseRows = (await client.query(databasesQuery, [managedMark])).rows;
  const verifiers = new Map<string, string>();
  const roles = roleRows.map((r): RoleState => {
    if (typeof r.verifier === "string") verifiers.set(String(r.name), r.verifier);
    return {
      name: String(r.name),
      login: r.login === true,
      superuser: r.superuser === true,
      memberOf: (r.member_of as string[]).map(String),
      managed: r.managed === true,
      ownsObjects: r.owns_objects === true,
      holdsPrivileges: r.holds_privileges === true,
    };
  });
  const databases = databaseRows.map((d) => ({
    name: String(d.name),
    owner: String(d.owner),
    managed: d.managed === true,
    grants: grantsOf(d.grants as string[]),
  }));
  return { roles, databases, verifiers };
}

/** `["public CONNECT", "reader CREATE", …]` by grantee. */
function grantsOf(entries: readonly string[]): DatabaseGrant[] {
  const by = new Map<string, DatabasePrivilege[]>();
  for (const entry of entries) {
    const [role = "", privilege = ""] = entry.split(" ");
    const list = by.get(role) ?? [];
    if ((databasePrivileges as readonly string[]).includes(privilege))
      list.push(privilege as DatabasePrivilege);
    by.set(role, list);
  }
  return [...by]
    .map(([role, list]) => ({
      role,
      privileges: databasePrivileges.filter((p) => list.includes(p)),
    }))
    .filter((g) => g.privileges.length > 0);
}

/** The statements of one change, every name quoted; PUBLIC is the keyword, not a role. */
function roleStatements(change: RoleCommand): string[] {
  const id = escapeIdentifier;
  const grantee = (role: string) => (role === "public" ? "PUBLIC" : id(role));
  const mark = escapeLiteral(managedMark);
  const attributes = (c: { login: boolean; superuser: boolean }) =>
    `${c.login ? "LOGIN" : "NOLOGIN"} ${c.superuser ? "SUPERUSER" : "NOSUPERUSER"}`;
  switch (change.kind) {
    case "createRole":
      // One query, one transaction: never a role without its mark.
      return [
        `CREATE ROLE ${id(change.role)} ${attributes(change)}; COMMENT ON ROLE ${id(change.role)} IS ${mark}`,
      ];
    case "alterRole":
      return [`ALTER ROLE ${id(change.role)} ${attributes(change)}`];
    case "createDatabase":
      // CREATE DATABASE runs in no transaction block: the mark follows it,
      // and a database found without it is marked by the next plan.
      return [
        `CREATE DATABASE ${id(change.database)} OWNER ${id(change.owner)}`,
        `COMMENT ON DATABASE ${id(change.database)} IS ${mark}`,
      ];
    case "markDatabase":
      return [`COMMENT ON DATABASE ${id(change.database)} IS ${mark}`];
    case "alterOwner":
      return [`ALTER DATABASE ${id(change.database)} OWNER TO ${id(change.owner)}`];
    case "grantDatabase":
      return [
        `GRANT ${change.privileges.join(", ")} ON DATABASE ${id(change.database)} TO ${grantee(change.role)}`,
      ];
    case "revokeDatabase":
      return [
        `REVOKE ${change.privileges.join(", ")} ON DATABASE ${id(change.database)} FROM ${grantee(change.role)}`,
      ];
    case "grantMembership":
      return [`GRANT ${id(change.of)} TO ${id(change.role)}`];
    case "revokeMembership":
      return [`REVOKE ${id(change.of)} FROM ${id(change.role)}`];
    case "dropRole":
      return [`DROP ROLE ${id(change.role)}`];
  }
}

// --- SCRAM-SHA-256 (RFC 5802, RFC 7677), as PostgreSQL stores it ---------------

const pbkdf2Async = promisify(pbkdf2);
const scramIterations = 4096;

function scramKeys(salted: Buffer): { storedKey: Buffer; serverKey: Buffer } {
  const hmac = (text: string) => createHmac("sha256", salted).update(text).digest();
  return {
    storedKey: createHash("sha256").update(hmac("Client Key")).digest(),
    serverKey: hmac("Server Key"),
  };
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, what pg_authid.rolpassword holds. */
async function scramVerifier(password: string): Promise<string> {
  const salt = randomBytes(16);
  const salted = await pbkdf2Async(prepared(password), salt, scramIterations, 32, "sha256");
  const { storedKey, serverKey } = scramKeys(salted);
  const b64 = (b: Buffer) => b.toString("base64");
  return `SCRAM-SHA-256$${scramIterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

/** Whether `verifier` is of `password` (false for an md5 hash or anything else). */
async function scramMatches(verifier: string, password: string): Promise<boolean> {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!m) return false;
  const [, iterations = "", salt = "", stored = "", server = ""] = m;
  const salted = await pbkdf2Async(
    prepared(password),
    Buffer.from(salt, "base64"),
    Number(iterations),
    32,
    "sha256",
  );
  const keys = scramKeys(salted);
  const same = (a: Buffer, b: string) => {
    const other = Buffer.from(b, "base64");
    return a.length === other.length && timingSafeEqual(a, other);
  };
  return same(keys.storedKey, stored) && same(keys.serverKey, server);
}

/**
 * What PostgreSQL hashes: an ASCII password as it is (its SASLprep stops
 * there); NFKC, SASLprep's main step, for the others, which the server
 * hashed itself — a password whose SASLprep differs further only ever
 * reads as changed, and is set again.
 */
function prepared(password: string): string {
  return isAscii(password) ? password : password.normalize("NFKC");
}

function isAscii(text: string): boolean {
  return /^\p{ASCII}*$/u.test(text);
}
