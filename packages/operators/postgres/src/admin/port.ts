/**
 * The PostgreSQL port: everything the operator asks of PostgreSQL itself,
 * behind one small interface, so the plans (and later the act layer) are
 * tested with a fake and the real implementation (`admin.ts`) against real
 * `postgres` processes.
 *
 * One question:
 * - `report(instance)`: what one server says of itself — whether it is in
 *   recovery (a standby), its timeline and WAL positions (the current LSN on
 *   a primary; the received and replayed LSNs and the WAL receiver's state
 *   and upstream on a standby), its system identifier and version, and the
 *   standbys connected to it and the replication slots it keeps.
 *
 * And `timelineHistory(instance, timeline)`: the timeline history file a
 * promotion wrote (where each earlier timeline ended), which the rejoin
 * plan compares a returning server's position with.
 *
 * The commands a failover and its aftermath need: `promote`,
 * `checkpoint` (after a promotion, before `pg_rewind` reads the new
 * primary's control file), `ensureSlot`/`dropSlot`,
 * `setSynchronousStandbyNames`, and `terminateClientBackends`.
 *
 * The roles and databases spec.roles and spec.databases declare, on the
 * primary: `readRoles` (what it holds: the roles plan's input),
 * `applyRoleChange` (one of the plan's changes) and `setRolePassword`
 * (kept apart so a password is never part of a change, which events and
 * status describe).
 *
 * What the port cannot do, and why (read before building a failover):
 *
 * - **Fencing is stopping the postmaster**, nothing less. A fenced primary
 *   is one that cannot commit: its postmaster stopped (`pg_ctl stop -m
 *   fast`, or the pod's container killed) or its pod gone. SQL cannot stop
 *   the postmaster (there is no shutdown function), so fencing is an act on
 *   the pod, not a port call. (One exception, decided on the pod's side:
 *   a silent server on a node that stopped reporting, cluster/observe.ts.) The settings that look like fencing are not:
 *   `default_transaction_read_only` is a default that any session overrides
 *   with `SET transaction_read_only = off` (or `BEGIN READ WRITE`), and
 *   sessions opened before the reload keep their old default;
 *   `terminateClientBackends` ends the sessions of the moment and the
 *   clients reconnect at once; `pg_hba.conf` changes apply to new
 *   connections only. They are useful to drain a primary *before* stopping
 *   it in a planned switchover, and `report().defaultTransactionReadOnly`
 *   says whether a server advertises itself read-only, but a failover
 *   waits for the old primary to be stopped (or its pod gone) before it
 *   promotes, never for these.
 * - **`pg_rewind` and `pg_basebackup` are programs**, run in the pod next
 *   to the data directory with the server stopped; they are not SQL. The
 *   port's part is `checkpoint` on the source first: until the new
 *   primary's control file shows its new timeline, `pg_rewind` reports "no
 *   rewind required" and leaves the divergence in place.
 *
 * Every connection authenticates with the password given to the port, as
 * a role that may run what the port runs (the superuser in the operator's
 * pods: `pg_promote`, `ALTER SYSTEM` and `CHECKPOINT` need it or explicit
 * grants in PostgreSQL 15). A password never appears in a report, an error
 * message or an error's properties.
 */
import { reservedRoles } from "../schema.ts";
import type { LsnText } from "./lsn.ts";
import type { TimelineSwitchText } from "./timeline-history.ts";

/** Where a PostgreSQL server is reached. */
export interface InstanceAddress {
  /** The member id: how reports and messages name it. */
  id: number;
  /** A stable DNS name in the operator's pods; 127.0.0.1 in the port's own test. */
  host: string;
  port: number;
}

/** Why the port got no answer. */
export type FailureReason =
  /**
   * No session: nothing accepted the connection (refused, unresolvable,
   * closed), or the server refused sessions for now (starting up, shutting
   * down, in crash recovery, too many connections).
   */
  | "unreachable"
  /** The connection or a statement took longer than the port's timeout. */
  | "timeout"
  /** Authentication was refused: wrong password, or no `pg_hba.conf` entry lets the role in. */
  | "auth"
  /** The server answered with an error (e.g. a slot that is in use), or with something unexpected. */
  | "error";

export interface Failure {
  reason: FailureReason;
  /** What went wrong, with the address; never a password. */
  message: string;
  /** The server's SQLSTATE when it answered with an error (e.g. `28P01`, `55006`). */
  sqlState?: string;
}

/** A standby (or a `pg_basebackup`) streaming from this server: a row of `pg_stat_replication`. */
export interface ConnectedReplica {
  /**
   * The standby's `application_name`: its `cluster_name` unless its
   * `primary_conninfo` names one, `walreceiver` when neither does. It is
   * what `synchronous_standby_names` matches, so every standby needs a
   * distinct one.
   */
  applicationName: string;
  /** The standby's IP as this server sees it; undefined over a Unix socket. */
  clientAddress?: string;
  /** `startup`, `catchup` (behind, reading old WAL), `streaming`, `backup` or `stopping`. */
  state: string;
  /** WAL sent to the standby, written, flushed, and replayed by it; undefined before it reports. */
  sentLsn?: LsnText;
  writeLsn?: LsnText;
  flushLsn?: LsnText;
  replayLsn?: LsnText;
  /**
   * How long the last replayed WAL took from local flush to replay on the
   * standby; undefined when the standby is idle and caught up (PostgreSQL
   * then reports NULL).
   */
  replayLagMs?: number;
  /** `async`, `potential`, `sync` or `quorum`: its part in synchronous replication now. */
  syncState: string;
  /** Its place in a `FIRST n (…)` list; 0 for an async standby. */
  syncPriority: number;
}

/** A row of `pg_replication_slots`. */
export interface ReplicationSlot {
  name: string;
  type: "physical" | "logical";
  /** A receiver is streaming through it now. */
  active: boolean;
  /** The oldest WAL the slot keeps; undefined for a slot that never reserved WAL. */
  restartLsn?: LsnText;
  /**
   * `reserved`, `extended` (beyond max_wal_size), `unreserved` (will be
   * lost at the next checkpoint) or `lost` (the standby must be rebuilt);
   * undefined when no WAL is reserved.
   */
  walStatus?: string;
  temporary: boolean;
}

/** A standby's WAL receiver: a row of `pg_stat_wal_receiver`. */
export interface WalReceiver {
  /** `streaming`, `starting`, `waiting` (for a timeline or WAL to appear), `restarting` or `stopping`. */
  status: string;
  /** `status === "streaming"`. */
  streaming: boolean;
  /** The upstream it is connected to (as its `primary_conninfo` names it). */
  senderHost?: string;
  senderPort?: number;
  /** The slot it streams through (`primary_slot_name`), if any. */
  slotName?: string;
  /** The timeline of the WAL it last received and flushed. */
  receivedTimeline?: number;
  /** The WAL it has flushed to disk. */
  flushedLsn?: LsnText;
  /** The end of WAL the upstream last reported having. */
  latestEndLsn?: LsnText;
}

interface Answered {
  id: number;
  reachable: true;
  /** `server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`. */
  serverVersion: string;
  /** `server_version_num`, e.g. 150018: what to compare. */
  serverVersionNum: number;
  /**
   * `pg_control_system().system_identifier`, decimal: fixed by `initdb` and
   * kept by every standby made from it. Two servers with different ones
   * are not the same cluster and can never replicate from each other.
   */
  systemIdentifier: string;
  /**
   * The timeline this server is on: a primary's WAL insert timeline; a
   * standby's WAL receiver's `receivedTimeline` while a receiver runs, else
   * its `walTimeline`, else `checkpointTimeline`. Each promotion starts a new one.
   */
  timeline: number;
  /**
   * The timeline in the control file's last checkpoint (a standby's last
   * restartpoint). Right after a promotion it is still the old one, until
   * the next checkpoint: what `pg_rewind` reads from its source, hence
   * `checkpoint()` before a rewind.
   */
  checkpointTimeline: number;
  /**
   * `pg_control_checkpoint().redo_lsn`: where the control file's last
   * checkpoint (a standby's last restartpoint) began.
   */
  checkpointLsn: LsnText;
  /** When the postmaster started, ISO 8601: a change means the server restarted. */
  startedAt: string;
  /** `synchronous_standby_names` as this server applies it now (a standby ignores it until promoted). */
  synchronousStandbyNames: string;
  /**
   * `default_transaction_read_only`: this server advertises itself read-only
   * to new transactions. A default any session can override: not a fence.
   */
  defaultTransactionReadOnly: boolean;
  /** Standbys streaming from this server (a standby lists cascaded ones), by application name. */
  replicas: readonly ConnectedReplica[];
  /** Replication slots this server keeps, by name. */
  slots: readonly ReplicationSlot[];
}

export interface PrimaryReport extends Answered {
  role: "primary";
  /** `pg_is_in_recovery()`. */
  inRecovery: false;
  /** `pg_current_wal_lsn()`: the end of WAL written so far. */
  currentLsn: LsnText;
  /** What archive_command did (`pg_stat_archiver`). */
  archiver: ArchiverStats;
}

/**
 * `pg_stat_archiver`: archive_command's successes and failures since the
 * server's statistics were last reset (a crash resets them). Times ISO 8601.
 */
export interface ArchiverStats {
  archivedCount: number;
  /** The WAL file (or history file) last archived. */
  lastArchivedWal?: string;
  lastArchivedAt?: string;
  failedCount: number;
  lastFailedWal?: string;
  lastFailedAt?: string;
  /**
   * WAL files complete and not archived yet (`.ready` in
   * pg_wal/archive_status, `pg_ls_archive_statusdir()`). An archive_command
   * that hangs (pgBackRest retries an unreachable store for minutes before
   * it fails) shows only here.
   */
  waitingCount: number;
  /** The one waiting longest, and for how many seconds (the server's clock). */
  oldestWaitingWal?: string;
  oldestWaitingSeconds?: number;
}

export interface ReplicaReport extends Answered {
  role: "replica";
  inRecovery: true;
  /**
   * `pg_last_wal_receive_lsn()`: WAL received and flushed by streaming;
   * undefined until the WAL receiver streamed since the server started.
   */
  receivedLsn?: LsnText;
  /** `pg_last_wal_replay_lsn()`: WAL replayed (visible to queries here). */
  replayedLsn?: LsnText;
  /** Replay paused or being paused (`pg_wal_replay_pause()`, or a recovery target reached). */
  replayPaused: boolean;
  /** Commit time of the last transaction replayed, ISO 8601; undefined before any. */
  lastReplayedTransactionAt?: string;
  /** Its WAL receiver; undefined when none runs (no `primary_conninfo`, or between retries). */
  receiver?: WalReceiver;
  /**
   * The timeline of the WAL file holding the last byte received (or
   * replayed), from `pg_wal`'s file names: still right once the receiver
   * stopped, when `checkpointTimeline` may be one promotion behind.
   */
  walTimeline?: number;
}

export interface UnreachableReport {
  id: number;
  reachable: false;
  role: "unknown";
  error: Failure;
}

export type InstanceReport = PrimaryReport | ReplicaReport | UnreachableReport;

export interface PromoteOptions {
  /**
   * How long `pg_promote` waits for the promotion to finish (recovery
   * ends, the new timeline begins). @default 60
   */
  waitSeconds?: number;
}

export interface Promotion {
  /** It was already out of recovery: nothing was done (a retried reconcile). */
  alreadyPrimary: boolean;
  /** The timeline it writes on now. */
  timeline: number;
  /** `pg_current_wal_lsn()` right after. */
  currentLsn: LsnText;
}

export interface PostgresPort {
  /** Never throws: an unreachable server is a report with the reason. */
  report(instance: InstanceAddress): Promise<InstanceReport>;

  /**
   * The history of `timeline` as `instance` has it (`pg_wal/<timeline>.history`,
   * read with `pg_read_file`): each earlier timeline with its switchpoint,
   * oldest first; `[]` for timeline 1. A standby has the history files of
   * the timelines it followed. Throws (reason `error`) when the file is
   * missing.
   */
  timelineHistory(instance: InstanceAddress, timeline: number): Promise<TimelineSwitchText[]>;

  /**
   * `pg_promote(wait => true, wait_seconds)`: the standby ends recovery and
   * starts a new timeline. It first replays the WAL it has already
   * received, so the call lasts as long as that replay. Idempotent: a
   * server already out of recovery is left alone (`alreadyPrimary`).
   * Throws reason `timeout` when the promotion did not finish in time (it
   * may still finish: report again).
   *
   * The caller must have fenced the old primary first: two primaries on
   * diverging timelines is what this command makes possible.
   */
  promote(instance: InstanceAddress, options?: PromoteOptions): Promise<Promotion>;

  /**
   * `CHECKPOINT` (a restartpoint on a standby), with the port's longer
   * checkpoint timeout: after a promotion it writes the new timeline into
   * the control file, which `pg_rewind` reads from its source.
   */
  checkpoint(instance: InstanceAddress): Promise<void>;

  /**
   * Creates physical replication slot `name` if absent, reserving WAL from
   * now (`immediately_reserve`), so the WAL a standby has not received is
   * kept even while the standby is down. `created` is false when it existed.
   * Names are lower-case letters, digits and `_`, at most 63 characters.
   */
  ensureSlot(instance: InstanceAddress, name: string): Promise<{ created: boolean }>;

  /**
   * Drops slot `name` if present (`dropped` false when absent), releasing
   * the WAL it kept. Throws (reason `error`, SQLSTATE `55006`) while a
   * receiver streams through it: stop or repoint that standby first.
   */
  dropSlot(instance: InstanceAddress, name: string): Promise<{ dropped: boolean }>;

  /**
   * `ALTER SYSTEM SET synchronous_standby_names`, `pg_reload_conf()`, then
   * waits until the server applies it and returns the value read back. An
   * invalid value is refused (reason `error`) and nothing changes.
   *
   * It changes `postgresql.auto.conf` of this server only: a standby does
   * not receive it through WAL, and `pg_basebackup`/`pg_rewind` copy the
   * SOURCE's file. So a promoted standby applies whatever its own file says
   * (possibly nothing, possibly a list naming itself): set it right after
   * `promote`. With a non-empty value, commits on this server wait for
   * the named standbys: with none of them connected, they wait forever.
   */
  setSynchronousStandbyNames(primary: InstanceAddress, value: string): Promise<string>;

  /**
   * Points a running standby at another upstream without a restart:
   * `ALTER SYSTEM SET primary_conninfo` and `primary_slot_name`, then
   * `pg_reload_conf()` (PostgreSQL 13+ restarts the WAL receiver with the
   * new values), and waits until the server applies both. Times out
   * (reason `timeout`) when its command line sets them. The standby must
   * be able to follow the upstream's timeline from where it is: one that
   * went past the upstream's switch point needs pg_rewind instead.
   */
  setStreamingSource(
    standby: InstanceAddress,
    source: { conninfo: string; slotName: string },
  ): Promise<void>;

  /**
   * `pg_terminate_backend` of every client session but the port's own
   * (replication connections are not client sessions and stay). Returns
   * how many were ended. Clients reconnect at once: not a fence (see above).
   */
  terminateClientBackends(instance: InstanceAddress): Promise<number>;

  /**
   * The roles (but PostgreSQL's own `pg_*`) and the databases (but the
   * templates) `primary` holds, with what the roles plan needs: attributes,
   * memberships, the operator's mark, what depends on each role, each
   * database's owner and grants. For each role named in `passwords`,
   * whether its stored SCRAM verifier is of that password: the verifier
   * itself never leaves the port.
   */
  readRoles(
    primary: InstanceAddress,
    passwords?: ReadonlyMap<string, string>,
  ): Promise<RolesReport>;

  /**
   * Runs one change of the roles plan. A role is created with the
   * operator's mark in the same transaction; `dropRole` re-reads the mark
   * and refuses a role without it, or a reserved one, whatever the caller
   * planned. Throws (reason `error`, with PostgreSQL's message and detail)
   * when PostgreSQL refuses, e.g. DROP ROLE of a role objects depend on.
   */
  applyRoleChange(primary: InstanceAddress, change: RoleCommand): Promise<void>;

  /**
   * `ALTER ROLE <role> PASSWORD`, in a session that logs no statement;
   * admin.ts says how. The password is in no error message.
   */
  setRolePassword(primary: InstanceAddress, role: string, password: string): Promise<void>;
}

/** A database privilege, as `aclexplode` names it. */
export type DatabasePrivilege = "CONNECT" | "CREATE" | "TEMPORARY";

/** Every database privilege: what `ALL` grants. */
export const databasePrivileges: readonly DatabasePrivilege[] = ["CONNECT", "CREATE", "TEMPORARY"];

/** What one grantee holds on a database; `public` is PUBLIC (no role can be named public). */
export interface DatabaseGrant {
  role: string;
  privileges: readonly DatabasePrivilege[];
}

/** What PostgreSQL grants on a new database, to others than its owner: PUBLIC may connect and make temporary tables. */
export const defaultDatabaseGrants: readonly DatabaseGrant[] = [
  { role: "public", privileges: ["CONNECT", "TEMPORARY"] },
];

/** A role as the primary holds it. */
export interface RoleState {
  name: string;
  login: boolean;
  superuser: boolean;
  /** The roles it is a member of (`pg_auth_members`), sorted. */
  memberOf: readonly string[];
  /** It carries the operator's mark (`COMMENT ON ROLE … IS 'managed by ballast'`): the operator created it. */
  managed: boolean;
  /** It owns objects other than databases, in any database (`pg_shdepend`): DROP ROLE would fail. */
  ownsObjects: boolean;
  /** It holds privileges on objects other than databases, or a policy names it, in any database. */
  holdsPrivileges: boolean;
  /** Whether its password is the one `readRoles` was given for it; absent when none was. */
  passwordMatches?: boolean;
}

/** A database as the primary holds it. */
export interface DatabaseState {
  name: string;
  owner: string;
  /** It carries the operator's mark: spec.databases declared it. */
  managed: boolean;
  /** What roles other than the owner hold on it, by grantee, sorted (the defaults when nothing was ever granted). */
  grants: readonly DatabaseGrant[];
}

export interface RolesReport {
  roles: readonly RoleState[];
  databases: readonly DatabaseState[];
}

/** One change the roles plan makes (plan/roles.ts); none carries a password, and none drops a database. */
export type RoleChange =
  | { kind: "createRole"; role: string; login: boolean; superuser: boolean }
  | { kind: "alterRole"; role: string; login: boolean; superuser: boolean }
  /** Set from the role's Secret, through `setRolePassword`. */
  | { kind: "setPassword"; role: string }
  | { kind: "createDatabase"; database: string; owner: string }
  /** Put the operator's mark on a database spec.databases declares that it did not create. */
  | { kind: "markDatabase"; database: string }
  | { kind: "alterOwner"; database: string; owner: string }
  | {
      kind: "grantDatabase";
      database: string;
      role: string;
      privileges: readonly DatabasePrivilege[];
    }
  | {
      kind: "revokeDatabase";
      database: string;
      role: string;
      privileges: readonly DatabasePrivilege[];
    }
  /** GRANT `of` TO `role`. */
  | { kind: "grantMembership"; role: string; of: string }
  | { kind: "revokeMembership"; role: string; of: string }
  | { kind: "dropRole"; role: string };

/** The changes `applyRoleChange` runs: all but the password's. */
export type RoleCommand = Exclude<RoleChange, { kind: "setPassword" }>;

/** The comment that marks a role or a database as the operator's. */
export const managedMark = "managed by ballast";

/** Roles nothing of the operator's may alter or drop: PostgreSQL's own (`pg_*`) and the operator's (the superuser, the replication user). */
export function isReservedRole(name: string): boolean {
  return name.startsWith("pg_") || (reservedRoles as readonly string[]).includes(name);
}

/**
 * A failed command: its reason and a message that names the address and
 * never a password. It keeps no `cause`: the client library's error objects
 * can reach the connection's configuration, password included.
 */
export class PostgresPortError extends Error {
  override readonly name = "PostgresPortError";
  readonly reason: FailureReason;
  readonly address: string;
  /** The server's SQLSTATE when it answered with an error. */
  readonly sqlState: string | undefined;

  constructor(reason: FailureReason, address: string, message: string, sqlState?: string) {
    super(message);
    this.reason = reason;
    this.address = address;
    this.sqlState = sqlState;
  }
}

/** `host:port`, lower-cased, `[v6]:port` for IPv6: how addresses are compared. */
export function endpoint(address: { host: string; port: number }): string {
  const host = address.host.toLowerCase();
  return host.includes(":") ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/** Physical slot names PostgreSQL accepts: `[a-z0-9_]{1,63}`. */
export function isSlotName(name: string): boolean {
  return /^[a-z0-9_]{1,63}$/.test(name);
}
