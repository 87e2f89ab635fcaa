/**
 * Schema pieces of `PostgresCluster` (api.ts): the PostgreSQL parameters
 * with the keys the operator owns refused, how a cluster is born
 * (`bootstrap`), where its backups go (`backup`), and the roles and
 * databases it declares. Acted on by cluster/roles.ts (roles, databases,
 * initdb's database and owner), cluster/backup.ts and backup/ (backup),
 * cluster/restore.ts (`bootstrap.recovery`).
 *
 * The status records of the failover and the switchover are the plans'
 * own types (plan/types.ts), checked against these schemas at compile
 * time at the end of this file.
 */
import { IntOrString } from "@ballast/runtime";
import Type, { type Static } from "typebox";
import type { Election, SwitchoverRecord } from "./plan/types.ts";

/**
 * postgresql.conf settings the operator sets itself, refused in
 * spec.postgresql.parameters: where the server listens and keeps its
 * files (the pod's layout), the identity and upstream of each server (on
 * its command line, so that pg_basebackup and pg_rewind, which copy the
 * source's configuration files, cannot carry them to another server), who
 * is synchronous (the failover plan's input), what pg_rewind needs
 * (wal_log_hints, full_page_writes), the recovery settings (standby.signal
 * and bootstrap are the operator's), and WAL archiving (spec.backup's).
 */
export const ownedParameters = [
  "port",
  "listen_addresses",
  "unix_socket_directories",
  "unix_socket_group",
  "unix_socket_permissions",
  "data_directory",
  "config_file",
  "hba_file",
  "ident_file",
  "external_pid_file",
  "include",
  "include_dir",
  "include_if_exists",
  "cluster_name",
  "primary_conninfo",
  "primary_slot_name",
  "promote_trigger_file",
  "synchronous_standby_names",
  "wal_level",
  "hot_standby",
  "wal_log_hints",
  "full_page_writes",
  "archive_mode",
  "archive_command",
  "archive_library",
  "archive_cleanup_command",
  "restore_command",
  "recovery_end_command",
  "recovery_target",
  "recovery_target_action",
  "recovery_target_inclusive",
  "recovery_target_lsn",
  "recovery_target_name",
  "recovery_target_time",
  "recovery_target_timeline",
  "recovery_target_xid",
] as const;

export function Parameters() {
  const list = ownedParameters.map((k) => `'${k}'`).join(", ");
  return Type.Record(Type.String({ minLength: 1, maxLength: 128 }), IntOrString(), {
    description: `postgresql.conf settings, e.g. max_connections: 200, shared_buffers: 256MB, work_mem: 16MB. Values are numbers or strings, written as PostgreSQL reads them. Keys the operator owns (${ownedParameters.join(", ")}) are refused.`,
    maxProperties: 256,
    "x-kubernetes-validations": [
      {
        rule: "self.all(k, k.matches('^[a-z][a-z0-9_]*(\\\\.[a-z][a-z0-9_]*)?$'))",
        message:
          "spec.postgresql.parameters keys are PostgreSQL setting names in lower case, e.g. max_connections or pg_stat_statements.max",
      },
      {
        rule: `self.all(k, !(k in [${list}]))`,
        message: `spec.postgresql.parameters sets a key the operator owns; remove it (owned: ${ownedParameters.join(", ")})`,
      },
    ],
  });
}

const identifier = (description: string) =>
  Type.String({
    description,
    minLength: 1,
    maxLength: 63,
    pattern: "^[a-z_][a-z0-9_]*$",
  });

const secretName = (description: string) =>
  Type.String({
    description,
    minLength: 1,
    maxLength: 253,
    pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
  });

export function Bootstrap() {
  return Type.Object(
    {
      initdb: Type.Optional(
        Type.Object(
          {
            database: Type.String({
              description: "The application database initdb's cluster gets.",
              minLength: 1,
              maxLength: 63,
              pattern: "^[a-z_][a-z0-9_]*$",
              default: "app",
            }),
            owner: Type.Optional(
              identifier(
                "The role that owns it (created with LOGIN; its password generated in the Secret <name>-role-<owner>, as a spec.roles entry would be). @default the database's name",
              ),
            ),
          },
          {
            description:
              "Start empty: initdb on the first instance, then the others clone it with pg_basebackup.",
          },
        ),
      ),
      recovery: Type.Optional(
        Type.Object(
          {
            backup: Type.Object(
              {
                name: Type.String({
                  description:
                    "The Backup, in this namespace, to restore: its status records the repository path and stanza it is in. The cluster waits (Degraded says so) while it is missing or not Completed.",
                  minLength: 1,
                  maxLength: 253,
                }),
              },
              { description: "Which backup to restore." },
            ),
            target: Type.Optional(
              Type.Object(
                {
                  time: Type.Optional(
                    Type.String({
                      description:
                        "Replay up to this time (RFC 3339, e.g. 2026-12-02T14:00:00Z): recovery_target_time.",
                      format: "date-time",
                    }),
                  ),
                  lsn: Type.Optional(
                    Type.String({
                      description:
                        "Replay up to this WAL position, e.g. 0/3000060: recovery_target_lsn.",
                      pattern: "^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$",
                    }),
                  ),
                  xid: Type.Optional(
                    Type.Integer({
                      description: "Replay up to this transaction id: recovery_target_xid.",
                      minimum: 3,
                    }),
                  ),
                },
                {
                  description:
                    "A point in time to stop at (exactly one of time, lsn, xid). @default the end of the archived WAL",
                  "x-kubernetes-validations": [
                    {
                      rule: "[has(self.time), has(self.lsn), has(self.xid)].filter(b, b).size() == 1",
                      message:
                        "spec.bootstrap.recovery.target takes exactly one of time, lsn or xid; remove the others (or the whole target to replay all the WAL)",
                    },
                  ],
                },
              ),
            ),
          },
          {
            description:
              "Start from a backup in object storage, to the end of its WAL or to a point in time: the first instance runs pgbackrest restore, replays the source's archived WAL to the target and promotes; the others clone it. Needs spec.backup naming the Backup's endpoint and bucket, with credentials that can read it: the source's repository is read through it, and the restored cluster archives there under its own path. A target outside what the repository can reach is Degraded, with nothing made.",
          },
        ),
      ),
    },
    {
      description:
        "How the cluster is born (exactly one of initdb or recovery). Fixed once the cluster exists. @default initdb",
      "x-kubernetes-validations": [
        {
          rule: "has(self.initdb) != has(self.recovery)",
          message:
            "spec.bootstrap takes exactly one of initdb or recovery: a cluster starts empty or from a backup, not both",
        },
        {
          rule: "self == oldSelf",
          message:
            "spec.bootstrap cannot change once the cluster exists: it says how the cluster was born. Create a new PostgresCluster to restore into",
        },
      ],
    },
  );
}

export function Backup() {
  return Type.Object(
    {
      objectStore: Type.Object(
        {
          endpoint: Type.String({
            description:
              "The S3-compatible server, e.g. https://s3.example.com:9000 (HTTPS only: pgBackRest speaks nothing else).",
            pattern: "^https://[^\\s/]+(/.*)?$",
            maxLength: 512,
          }),
          bucket: Type.String({
            description: "The bucket (it must exist).",
            minLength: 3,
            maxLength: 63,
            pattern: "^[a-z0-9][a-z0-9.-]*[a-z0-9]$",
          }),
          path: Type.Optional(
            Type.String({
              description:
                "The prefix under which this cluster's backups and WAL are kept. @default /<namespace>/<name>",
              pattern: "^/[^\\s]*$",
              maxLength: 512,
            }),
          ),
          credentialsSecret: secretName(
            "A Secret in this namespace with keys ACCESS_KEY_ID and SECRET_ACCESS_KEY.",
          ),
          caSecret: Type.Optional(
            secretName(
              "A Secret in this namespace whose key ca.crt is the certificate authority of the endpoint's certificate. @default the system's",
            ),
          ),
        },
        { description: "Where backups and archived WAL go." },
      ),
      retention: Type.String({
        description:
          "Which full backups are kept: for days or weeks (30d, 4w), or the newest N ('3 full'). The differential and incremental backups on a kept full, and the WAL they need, are kept with it; pgBackRest expires the rest as each backup ends, and their Backup records turn Expired.",
        pattern: "^[1-9][0-9]{0,3}([dw]| full)$",
      }),
    },
    {
      description:
        "Continuous backup: base backups (the Backup and ScheduledBackup kinds) and WAL archiving, with pgBackRest.",
    },
  );
}

/** Roles the operator itself makes: the superuser and the replication user. */
export const reservedRoles = ["postgres", "streaming_replica"] as const;

export function Roles() {
  return Type.Array(
    Type.Object(
      {
        name: Type.String({
          description: "The role's name.",
          minLength: 1,
          maxLength: 63,
          pattern: "^[a-z_][a-z0-9_]*$",
          "x-kubernetes-validations": [
            {
              rule: `!(self in [${reservedRoles.map((r) => `'${r}'`).join(", ")}]) && !self.startsWith('pg_')`,
              message: `spec.roles[].name cannot be ${reservedRoles.join(" or ")} (the operator's) or start with pg_ (PostgreSQL's)`,
            },
          ],
        }),
        login: Type.Boolean({ description: "May log in (LOGIN).", default: true }),
        superuser: Type.Optional(
          Type.Boolean({ description: "SUPERUSER. @default false", default: false }),
        ),
        passwordSecret: Type.Optional(
          secretName(
            "A Secret in this namespace whose key password is the role's password. @default <name>-role-<role>, generated once and kept, when login is true",
          ),
        ),
        inRoles: Type.Optional(
          Type.Array(identifier("A role this role is a member of."), {
            description: "Roles it is a member of (GRANT <role> TO <this>).",
            maxItems: 32,
            "x-kubernetes-list-type": "set",
          }),
        ),
      },
      { description: "A role (CREATE ROLE ... / ALTER ROLE ...)." },
    ),
    {
      description:
        "Roles declared in the spec: created, altered to match, and dropped when removed (unless they own objects: Degraded says so).",
      maxItems: 64,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    },
  );
}

export const databasePrivileges = ["CONNECT", "CREATE", "TEMPORARY", "ALL"] as const;

export function Databases() {
  return Type.Array(
    Type.Object(
      {
        name: identifier("The database's name."),
        owner: identifier("The role that owns it: postgres or one of spec.roles."),
        grants: Type.Optional(
          Type.Array(
            Type.Object(
              {
                role: identifier(
                  "The role granted to (one of spec.roles, or PUBLIC's name public).",
                ),
                privileges: Type.Array(
                  Type.Union(
                    databasePrivileges.map((p) => Type.Literal(p)),
                    { description: "A database privilege." },
                  ),
                  {
                    description:
                      "What it is granted on the database: CONNECT, CREATE, TEMPORARY or ALL.",
                    minItems: 1,
                    maxItems: 4,
                    "x-kubernetes-list-type": "set",
                  },
                ),
              },
              { description: "What one role is granted on the database." },
            ),
            {
              description:
                "GRANTs on the database, kept as declared: privileges not listed are revoked.",
              maxItems: 64,
              "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["role"],
            },
          ),
        ),
      },
      { description: "A database, its owner and its grants." },
    ),
    {
      description:
        "Databases declared in the spec, with their owner and grants. Removing one from the list does not drop it.",
      maxItems: 64,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    },
  );
}

const instanceId = (description: string) => Type.Integer({ minimum: 0, description });
const startedAt = () => Type.String({ description: "When the operation began (RFC 3339)." });
const timeline = () =>
  Type.Integer({ minimum: 1, description: "The timeline the lost primary wrote on." });
const lsnText = (description: string) =>
  Type.String({ description, pattern: "^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$" });

/** plan/types.ts's `Election`, as status stores it. */
export function ElectionStatus() {
  const from = instanceId("The lost primary, being fenced.");
  const to = instanceId("The standby chosen: fixed from promoting on.");
  return Type.Union(
    [
      Type.Object({
        phase: Type.Literal("fencing"),
        from,
        timeline: timeline(),
        startedAt: startedAt(),
      }),
      Type.Object({
        phase: Type.Literal("promoting"),
        from,
        to,
        timeline: timeline(),
        startedAt: startedAt(),
      }),
      Type.Object({
        phase: Type.Literal("repointing"),
        from,
        to,
        timeline: timeline(),
        startedAt: startedAt(),
      }),
    ],
    {
      description:
        "A failover in progress (fencing → promoting → repointing), recorded before each step acts, so an operator restarted mid-failover resumes it and never chooses another standby once one is promoting.",
    },
  );
}

/** plan/types.ts's `SwitchoverRecord`, as status stores it. */
export function SwitchoverStatus() {
  const from = instanceId("The primary handing over.");
  const to = instanceId("The standby taking over.");
  return Type.Union(
    [
      Type.Object({
        phase: Type.Literal("checkpointing"),
        from,
        to,
        startedAt: startedAt(),
        startLsn: lsnText("The primary's LSN when the switchover began."),
      }),
      Type.Object({
        phase: Type.Literal("stopping"),
        from,
        to,
        startedAt: startedAt(),
        shutdownLsn: Type.Optional(
          lsnText("The end of the old primary's WAL after its clean stop."),
        ),
      }),
      Type.Object({
        phase: Type.Literal("promoting"),
        from,
        to,
        startedAt: startedAt(),
        shutdownLsn: lsnText("The end of the old primary's WAL after its clean stop."),
      }),
      Type.Object({ phase: Type.Literal("rejoining"), from, to, startedAt: startedAt() }),
    ],
    {
      description:
        "A planned switchover in progress (checkpointing → stopping → promoting → rejoining), recorded before each step.",
    },
  );
}

// The status schemas hold exactly the plans' records: a change to either
// that the other does not follow fails to compile here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const electionMatches: Same<Static<ReturnType<typeof ElectionStatus>>, Election> = true;
const switchoverMatches: Same<Static<ReturnType<typeof SwitchoverStatus>>, SwitchoverRecord> = true;
void electionMatches;
void switchoverMatches;
