/**
 * The queries behind `report()` and the mapping of their rows to a report.
 *
 * Every value is selected as text, int4, float8 or boolean, the types `pg`
 * hands over as they are (no int8, numeric or timestamp parsing, no time
 * zone): LSNs as `X/Y`, times as epoch milliseconds.
 */
import type { Client } from "pg";
import type {
  ArchiverStats,
  ConnectedReplica,
  InstanceAddress,
  PrimaryReport,
  ReplicaReport,
  ReplicationSlot,
  WalReceiver,
} from "./port.ts";

/**
 * A standby's timeline when no WAL receiver runs (its upstream gone): the
 * timeline of the WAL file holding the last byte it received or replayed,
 * whichever is further (a receiver that just started reports the start of
 * the segment it streams from as received). The checkpoint's timeline is no answer: a standby
 * that followed a promotion by streaming keeps the old timeline in its
 * control file until its next restartpoint, so a failover right after a
 * switchover would see every standby "on another timeline". WAL file names
 * are `<timeline><log><segment>` in hex; the file of byte B is
 * segment B / wal_segment_size, split at 2^32 bytes per log. A timeline
 * switch in that segment leaves a file of each timeline: the highest is
 * the one being received. `pg_ls_waldir()` needs superuser or pg_monitor.
 */
const walTimelineQuery = `
  SELECT max(('x' || substr(w.name, 1, 8))::bit(32)::int8)::int4
  FROM pg_ls_waldir() w,
    (SELECT setting::int8 AS size FROM pg_settings WHERE name = 'wal_segment_size') s,
    (SELECT floor(((greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) - '0/0'::pg_lsn) - 1)
      / (SELECT setting::int8 FROM pg_settings WHERE name = 'wal_segment_size'))::int8 AS segno) b
  WHERE w.name ~ '^[0-9A-F]{24}$'
    AND substr(w.name, 9) = upper(lpad(to_hex(b.segno / (4294967296 / s.size)), 8, '0')
      || lpad(to_hex(b.segno % (4294967296 / s.size)), 8, '0'))`;

/**
 * The server's own state in one statement. `pg_is_in_recovery()` is read
 * once (a materialized CTE) and guards what only a primary or only a
 * standby may call: `pg_current_wal_lsn()` and `pg_walfile_name()` fail
 * during recovery, `pg_get_wal_replay_pause_state()` outside it. A
 * promotion finishing between the CTE and the guarded call makes the
 * latter fail with SQLSTATE 55000; `readReport` then asks again.
 */
export const instanceQuery = `
WITH r AS MATERIALIZED (SELECT pg_is_in_recovery() AS recovery)
SELECT
  r.recovery,
  current_setting('server_version') AS server_version,
  current_setting('server_version_num')::int4 AS server_version_num,
  (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
  (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_timeline,
  (SELECT redo_lsn::text FROM pg_control_checkpoint()) AS checkpoint_lsn,
  CASE WHEN NOT r.recovery THEN pg_current_wal_lsn()::text END AS current_lsn,
  CASE WHEN NOT r.recovery THEN pg_walfile_name(pg_current_wal_lsn()) END AS current_walfile,
  pg_last_wal_receive_lsn()::text AS receive_lsn,
  pg_last_wal_replay_lsn()::text AS replay_lsn,
  CASE WHEN r.recovery THEN pg_get_wal_replay_pause_state() END AS replay_pause_state,
  CASE WHEN r.recovery THEN (${walTimelineQuery}) END AS wal_timeline,
  (extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000)::float8 AS last_replay_ms,
  (extract(epoch FROM pg_postmaster_start_time()) * 1000)::float8 AS started_ms,
  current_setting('synchronous_standby_names') AS synchronous_standby_names,
  current_setting('default_transaction_read_only')::bool AS default_transaction_read_only,
  a.archived_count::float8 AS archived_count,
  a.last_archived_wal,
  (extract(epoch FROM a.last_archived_time) * 1000)::float8 AS last_archived_ms,
  a.failed_count::float8 AS failed_count,
  a.last_failed_wal,
  (extract(epoch FROM a.last_failed_time) * 1000)::float8 AS last_failed_ms,
  w.waiting::float8 AS archive_waiting,
  w.oldest AS archive_oldest_waiting,
  w.oldest_age_s::float8 AS archive_oldest_waiting_s
FROM r, pg_stat_archiver a, LATERAL (
  SELECT count(*) AS waiting,
    (array_agg(left(name, -6) ORDER BY modification))[1] AS oldest,
    extract(epoch FROM now() - min(modification)) AS oldest_age_s
  FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'
) w`;

/** Standbys streaming from this server. The LSN and lag columns need superuser or pg_read_all_stats. */
export const replicasQuery = `
SELECT application_name, host(client_addr) AS client_addr, state,
  sent_lsn::text, write_lsn::text, flush_lsn::text, replay_lsn::text,
  (extract(epoch FROM replay_lag) * 1000)::float8 AS replay_lag_ms,
  sync_state, sync_priority
FROM pg_stat_replication
ORDER BY application_name, pid`;

export const slotsQuery = `
SELECT slot_name::text, slot_type, active, restart_lsn::text, wal_status, temporary
FROM pg_replication_slots
ORDER BY slot_name`;

/** No row when no WAL receiver runs. `conninfo` is left out: it is the receiver's connection string. */
export const receiverQuery = `
SELECT status, sender_host, sender_port, slot_name::text, received_tli,
  flushed_lsn::text, latest_end_lsn::text
FROM pg_stat_wal_receiver
WHERE pid IS NOT NULL`;

type Row = Record<string, unknown>;

function text(row: Row, column: string): string | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : String(value);
}

function num(row: Row, column: string): number | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : Number(value);
}

/** `{ [key]: value }`, or `{}` when `value` is undefined (exactOptionalPropertyTypes). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(Math.round(ms)).toISOString();
}

export function replicaRow(row: Row): ConnectedReplica {
  return {
    applicationName: text(row, "application_name") ?? "",
    ...opt("clientAddress", text(row, "client_addr")),
    state: text(row, "state") ?? "",
    ...opt("sentLsn", text(row, "sent_lsn")),
    ...opt("writeLsn", text(row, "write_lsn")),
    ...opt("flushLsn", text(row, "flush_lsn")),
    ...opt("replayLsn", text(row, "replay_lsn")),
    ...opt("replayLagMs", num(row, "replay_lag_ms")),
    syncState: text(row, "sync_state") ?? "",
    syncPriority: num(row, "sync_priority") ?? 0,
  };
}

export function slotRow(row: Row): ReplicationSlot {
  return {
    name: text(row, "slot_name") ?? "",
    type: text(row, "slot_type") === "logical" ? "logical" : "physical",
    active: row.active === true,
    ...opt("restartLsn", text(row, "restart_lsn")),
    ...opt("walStatus", text(row, "wal_status")),
    temporary: row.temporary === true,
  };
}

export function receiverRow(row: Row): WalReceiver {
  const status = text(row, "status") ?? "";
  return {
    status,
    streaming: status === "streaming",
    ...opt("senderHost", text(row, "sender_host")),
    ...opt("senderPort", num(row, "sender_port")),
    ...opt("slotName", text(row, "slot_name")),
    ...opt("receivedTimeline", num(row, "received_tli")),
    ...opt("flushedLsn", text(row, "flushed_lsn")),
    ...opt("latestEndLsn", text(row, "latest_end_lsn")),
  };
}

export function archiverOf(row: Row): ArchiverStats {
  return {
    archivedCount: num(row, "archived_count") ?? 0,
    ...opt("lastArchivedWal", text(row, "last_archived_wal")),
    ...opt("lastArchivedAt", iso(num(row, "last_archived_ms"))),
    failedCount: num(row, "failed_count") ?? 0,
    ...opt("lastFailedWal", text(row, "last_failed_wal")),
    ...opt("lastFailedAt", iso(num(row, "last_failed_ms"))),
    waitingCount: num(row, "archive_waiting") ?? 0,
    ...opt("oldestWaitingWal", text(row, "archive_oldest_waiting")),
    ...opt("oldestWaitingSeconds", num(row, "archive_oldest_waiting_s")),
  };
}

/** The timeline in a WAL file name: its first 8 hex digits (`000000020000000000000003` → 2). */
export function walFileTimeline(walFile: string): number {
  const timeline = Number.parseInt(walFile.slice(0, 8), 16);
  if (!/^[0-9A-F]{24}$/i.test(walFile) || !Number.isInteger(timeline)) {
    throw new Error(`${JSON.stringify(walFile)} is not a WAL file name`);
  }
  return timeline;
}

export interface Rows {
  instance: Row;
  replicas: readonly Row[];
  slots: readonly Row[];
  receiver: Row | undefined;
}

export function buildReport(address: InstanceAddress, rows: Rows): PrimaryReport | ReplicaReport {
  const row = rows.instance;
  const checkpointTimeline = num(row, "checkpoint_timeline") ?? 0;
  const common = {
    id: address.id,
    reachable: true as const,
    serverVersion: text(row, "server_version") ?? "",
    serverVersionNum: num(row, "server_version_num") ?? 0,
    systemIdentifier: text(row, "system_identifier") ?? "",
    checkpointTimeline,
    checkpointLsn: text(row, "checkpoint_lsn") ?? "0/0",
    startedAt: iso(num(row, "started_ms")) ?? "",
    synchronousStandbyNames: text(row, "synchronous_standby_names") ?? "",
    defaultTransactionReadOnly: row.default_transaction_read_only === true,
    replicas: rows.replicas.map(replicaRow),
    slots: rows.slots.map(slotRow),
  };
  if (row.recovery !== true) {
    const currentLsn = text(row, "current_lsn");
    const walFile = text(row, "current_walfile");
    if (currentLsn === undefined || walFile === undefined) {
      throw new Error("a primary reported no current WAL position");
    }
    return {
      ...common,
      role: "primary",
      inRecovery: false,
      timeline: walFileTimeline(walFile),
      currentLsn,
      archiver: archiverOf(row),
    };
  }
  const receiver = rows.receiver ? receiverRow(rows.receiver) : undefined;
  return {
    ...common,
    role: "replica",
    inRecovery: true,
    timeline: receiver?.receivedTimeline ?? num(row, "wal_timeline") ?? checkpointTimeline,
    ...opt("walTimeline", num(row, "wal_timeline")),
    ...opt("receivedLsn", text(row, "receive_lsn")),
    ...opt("replayedLsn", text(row, "replay_lsn")),
    replayPaused: (text(row, "replay_pause_state") ?? "not paused") !== "not paused",
    ...opt("lastReplayedTransactionAt", iso(num(row, "last_replay_ms"))),
    ...opt("receiver", receiver),
  };
}

/** Runs the report's queries in one session. */
export async function readReport(
  client: Client,
  address: InstanceAddress,
): Promise<PrimaryReport | ReplicaReport> {
  let instance: Row | undefined;
  try {
    instance = (await client.query(instanceQuery)).rows[0];
  } catch (err) {
    // A promotion finished between the recovery check and a guarded call (see instanceQuery).
    if ((err as { code?: unknown }).code !== "55000") throw err;
    instance = (await client.query(instanceQuery)).rows[0];
  }
  if (!instance) throw new Error("the server returned no row for its own state");
  const replicas = (await client.query(replicasQuery)).rows;
  const slots = (await client.query(slotsQuery)).rows;
  const receiver =
    instance.recovery === true ? (await client.query(receiverQuery)).rows[0] : undefined;
  return buildReport(address, { instance, replicas, slots, receiver });
}
