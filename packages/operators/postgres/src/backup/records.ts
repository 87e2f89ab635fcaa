/**
 * Backup records against the repository they describe, as pure functions:
 * which Completed record is a cluster's newest (status.backup.lastBackup,
 * the last-backup gauge, `ballast status`), and which records describe a
 * set pgBackRest no longer holds (retention removed it; they turn
 * Expired). A record belongs to a repository by what it recorded as it
 * completed (status.repository: bucket, path, stanza), not by the cluster
 * it names: a cluster deleted and made again under the same name archives
 * into the same path, and a restored one into its own.
 */
import type { BackupStatus } from "./api.ts";

/** What these functions read of a Backup. */
export interface BackupRecordView {
  metadata: { name?: string | undefined };
  status?:
    | Pick<BackupStatus, "phase" | "label" | "type" | "completedAt" | "startedAt" | "repository">
    | undefined;
}

/** A repository: where a cluster's sets are. */
export interface RepositoryRef {
  bucket: string;
  path: string;
  stanza: string;
}

function inRepository(b: BackupRecordView, repo: RepositoryRef): boolean {
  const r = b.status?.repository;
  return (
    r !== undefined && r.bucket === repo.bucket && r.path === repo.path && r.stanza === repo.stanza
  );
}

/** The Completed record of `repo` that completed last; undefined when there is none. */
export function latestCompleted<B extends BackupRecordView>(
  records: readonly B[],
  repo: RepositoryRef,
): B | undefined {
  let latest: B | undefined;
  let latestAt = Number.NEGATIVE_INFINITY;
  for (const b of records) {
    if (b.status?.phase !== "Completed" || !inRepository(b, repo)) continue;
    const at = Date.parse(b.status.completedAt ?? "");
    if (Number.isNaN(at)) continue;
    if (at > latestAt) {
      latest = b;
      latestAt = at;
    }
  }
  return latest;
}

/**
 * The Completed records of `repo` whose set is not among `labels`, the sets
 * `pgbackrest info` lists right after `justTaken` completed. Only records
 * that completed before `justTaken` started are judged: pgBackRest expires
 * the oldest sets first, and a record newer than the listing (another
 * backup that ended meanwhile) cannot be missing from it for that reason.
 * An empty listing judges nothing: it cannot be the one the backup just
 * taken is in.
 */
export function expiredRecords<B extends BackupRecordView>(
  records: readonly B[],
  repo: RepositoryRef,
  labels: readonly string[],
  justTaken: { label: string; startedAt: string },
): B[] {
  if (!labels.includes(justTaken.label)) return [];
  const present = new Set(labels);
  const before = Date.parse(justTaken.startedAt);
  return records.filter((b) => {
    const s = b.status;
    if (s?.phase !== "Completed" || !s.label || !inRepository(b, repo)) return false;
    const completed = Date.parse(s.completedAt ?? "");
    return !present.has(s.label) && !Number.isNaN(completed) && completed <= before;
  });
}
