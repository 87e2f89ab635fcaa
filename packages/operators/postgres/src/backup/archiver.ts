/**
 * Whether continuous archiving works now, from the primary's
 * `pg_stat_archiver` and its archive status directory (pure). PostgreSQL
 * retries a failing archive_command forever and keeps the WAL it could
 * not archive in pg_wal, so a broken object store is silent to clients
 * until the volume fills: the BackupReady condition and the metrics say
 * it within a minute or so.
 *
 * - **failing**: the last failure is newer than the last success (or
 *   nothing ever succeeded). PostgreSQL archives segments in order, so a
 *   success after a failure means the failed segment went on the next
 *   try. The counters alone say nothing: they count since the last
 *   statistics reset, and old failures that were retried stay counted.
 * - **stalled**: no failure is recorded, but a completed WAL file has
 *   waited `archiveStallSeconds` or more. pgBackRest retries an object
 *   store that refuses connections for about 8 minutes before its
 *   archive-push fails (measured with 2.45), and a hung command records
 *   nothing in pg_stat_archiver: the waiting `.ready` file is the only
 *   sign. A healthy archive-push takes about a second, so a minute means
 *   stuck, or falling far behind — both need a human.
 */
import type { ArchiverStats } from "../admin/index.ts";

export type ArchivingHealth =
  | { kind: "working"; message: string }
  | { kind: "failing"; message: string }
  | { kind: "stalled"; message: string }
  /** Nothing archived, nothing failed, nothing waiting since the statistics were reset: no verdict yet. */
  | { kind: "idle"; message: string };

/** A completed WAL file not archived after this long: archiving is stalled. */
export const archiveStallSeconds = 60;

const whatToCheck =
  "PostgreSQL keeps the WAL in pg_wal and retries: check the object store and spec.backup.objectStore.credentialsSecret; the primary's log has pgBackRest's error";

export function archivingHealth(a: ArchiverStats, repoPath: string): ArchivingHealth {
  const failedAt = a.lastFailedAt === undefined ? undefined : Date.parse(a.lastFailedAt);
  const archivedAt = a.lastArchivedAt === undefined ? undefined : Date.parse(a.lastArchivedAt);
  const since = a.lastArchivedWal
    ? `the last WAL archived was ${a.lastArchivedWal} at ${a.lastArchivedAt}`
    : "no WAL was archived since the server's statistics were reset";
  if (failedAt !== undefined && (archivedAt === undefined || failedAt > archivedAt)) {
    return {
      kind: "failing",
      message: `archive_command fails: ${a.lastFailedWal ?? "a WAL file"} failed at ${a.lastFailedAt} (${a.failedCount} failures counted); ${since}. ${whatToCheck}`,
    };
  }
  const waited = a.oldestWaitingSeconds;
  if (waited !== undefined && waited >= archiveStallSeconds) {
    return {
      kind: "stalled",
      message: `archiving is stalled: ${a.oldestWaitingWal ?? "a WAL file"} has waited ${Math.floor(waited)} s to be archived (${a.waitingCount} waiting) and archive_command has not returned; ${since}. ${whatToCheck}`,
    };
  }
  if (archivedAt === undefined)
    return {
      kind: "idle",
      message: `WAL is archived to ${repoPath}; none since the server started`,
    };
  return {
    kind: "working",
    message: `WAL is archived to ${repoPath}; the last, ${a.lastArchivedWal}, at ${a.lastArchivedAt}`,
  };
}
