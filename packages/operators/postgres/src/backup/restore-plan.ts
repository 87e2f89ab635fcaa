/**
 * Point-in-time restore (spec.bootstrap.recovery), the pure decisions
 * cluster/restore.ts acts on:
 *
 * - `planRestore()`: may this cluster restore the Backup it names, from
 *   where, to what — or what it waits for, or what the user must fix. The
 *   source repository is read through the RESTORING cluster's own
 *   spec.backup (its endpoint, its credentials, its CA) with the source's
 *   path and stanza as the Backup recorded them (status.repository): one
 *   object store, one set of credentials, and a restore that still works
 *   once the source cluster is gone. So spec.backup is required, must name
 *   the Backup's endpoint and bucket, and must not be the source's own
 *   repository (a restored cluster has the source's system identifier and
 *   would archive a new timeline into the source's archive).
 * - `restoreTargetProblem()`: the target against what the source's
 *   repository holds (`pgbackrest info`, `pitrTargetProblem()`), as a
 *   sentence that says what to do, knowing spec.bootstrap cannot change.
 * - `restoreShellCommand()`: the `pgbackrest restore` command line instance
 *   0's start script runs (`eval`), into `$PGDATA.restore`, renamed after.
 */
import type { BackupStatus } from "./api.ts";
import {
  type PitrTarget,
  pitrTargetProblem,
  type RestoreSource,
  restoreArgs,
  type StanzaInfo,
  shellCommand,
} from "./pgbackrest.ts";

/** What `planRestore()` reads of the restoring cluster. */
export interface RestoreRequest {
  namespace: string;
  recovery: {
    backup: { name: string };
    target?: { time?: string | undefined; lsn?: string | undefined; xid?: number | undefined };
  };
  /** spec.backup.objectStore, when set. */
  objectStore?: { endpoint: string; bucket: string } | undefined;
  /** The restoring cluster's own repository: `repoPathOf()` and `stanzaOf()`. */
  own: RestoreSource;
}

/** What `planRestore()` reads of the Backup named; undefined when it does not exist. */
export interface BackupView {
  status?: Pick<BackupStatus, "phase" | "message" | "label" | "repository"> | undefined;
}

export type RestorePlan =
  /** Not yet: the Backup is missing or not Completed. Asked again later. */
  | { kind: "wait"; reason: string; message: string }
  /** The spec or the Backup cannot be restored as it is: the message says what to fix. */
  | { kind: "refuse"; reason: string; message: string }
  | { kind: "restore"; source: RestoreSource; label: string; target?: PitrTarget };

const field = "spec.bootstrap.recovery.backup.name";

/** See the module comment. Pure. */
export function planRestore(req: RestoreRequest, backup: BackupView | undefined): RestorePlan {
  const name = req.recovery.backup.name;
  const where = `Backup ${req.namespace}/${name}`;
  const store = req.objectStore;
  if (!store) {
    return {
      kind: "refuse",
      reason: "RestoreNeedsBackupSpec",
      message:
        "spec.backup: a cluster restored from a backup (spec.bootstrap.recovery) reads the source's repository through its own spec.backup and archives there, into its own path: add spec.backup naming the object store (endpoint and bucket) the Backup is in, and credentials that can read it",
    };
  }
  if (!backup) {
    return {
      kind: "wait",
      reason: "RestoreBackupNotFound",
      message: `${field}: ${where} not found; waiting for it (or delete this PostgresCluster and create it again naming an existing Backup: spec.bootstrap cannot change)`,
    };
  }
  const status = backup.status;
  if (status?.phase === "Failed") {
    return {
      kind: "refuse",
      reason: "RestoreBackupFailed",
      message: `${field}: ${where} Failed (${status.message ?? "no message"}), there is nothing to restore: delete this PostgresCluster and create it again naming a Completed Backup`,
    };
  }
  if (status?.phase === "Expired") {
    return {
      kind: "refuse",
      reason: "RestoreBackupExpired",
      message: `${field}: ${where} Expired (${status.message ?? "no message"}): its set is no longer in the repository; delete this PostgresCluster and create it again naming a Completed Backup (and lengthen the source's spec.backup.retention if it keeps too few)`,
    };
  }
  if (status?.phase !== "Completed") {
    return {
      kind: "wait",
      reason: "RestoreBackupNotCompleted",
      message: `${field}: ${where} is ${status?.phase ?? "not started"}${status?.message ? ` (${status.message})` : ""}; waiting for it to complete`,
    };
  }
  const repo = status.repository;
  if (!repo || !status.label) {
    return {
      kind: "refuse",
      reason: "RestoreBackupUnrecorded",
      message: `${field}: ${where} is Completed but records no ${repo ? "label" : "repository"} (status.${repo ? "label" : "repository"}), so its backup set cannot be found: name a Backup taken by this operator version`,
    };
  }
  if (!sameEndpoint(repo.endpoint, store.endpoint) || repo.bucket !== store.bucket) {
    return {
      kind: "refuse",
      reason: "RestoreRepositoryElsewhere",
      message: `spec.backup.objectStore: ${where} is in bucket ${repo.bucket} at ${repo.endpoint}, but spec.backup.objectStore names bucket ${store.bucket} at ${store.endpoint}; the source is read through spec.backup's object store and credentials: set spec.backup.objectStore.endpoint and bucket to the Backup's (the restored cluster archives there, under its own path)`,
    };
  }
  if (repo.path === req.own.repoPath && repo.stanza === req.own.stanza) {
    return {
      kind: "refuse",
      reason: "RestoreIntoSourceRepository",
      message: `spec.backup.objectStore.path: ${req.own.repoPath} is the repository ${where} came from; the restored cluster (with the source's system identifier) would archive into it: set another path, or leave it unset for /<namespace>/<name>`,
    };
  }
  const target = targetOf(req.recovery.target);
  return {
    kind: "restore",
    source: { stanza: repo.stanza, repoPath: repo.path },
    label: status.label,
    ...(target ? { target } : {}),
  };
}

function sameEndpoint(a: string, b: string): boolean {
  const norm = (u: string) => {
    try {
      const url = new URL(u);
      return `${url.protocol}//${url.hostname.toLowerCase()}:${url.port || "443"}`;
    } catch {
      return u;
    }
  };
  return norm(a) === norm(b);
}

function targetOf(t: RestoreRequest["recovery"]["target"]): PitrTarget | undefined {
  if (!t) return undefined;
  if (t.time !== undefined) return { time: t.time };
  if (t.lsn !== undefined) return { lsn: t.lsn };
  if (t.xid !== undefined) return { xid: t.xid };
  return undefined;
}

/**
 * Why the restore of `plan` cannot reach its target, from the source's
 * `info`: a sentence naming the field and the fix; undefined when it can.
 * Without a target, only that the backup set is there with its WAL (the
 * check `pitrTargetProblem()` makes of an xid, which info cannot place).
 * `now` bounds a time target (pg_stat_archiver of a source that may be
 * gone is not asked): a target between the last archived commit and now
 * passes here and fails at the end of recovery (docs/restore.md).
 */
export function restoreTargetProblem(
  info: StanzaInfo,
  plan: Extract<RestorePlan, { kind: "restore" }>,
  now: Date,
): string | undefined {
  const problem = pitrTargetProblem(info, plan.target ?? { xid: 3 }, {
    backupLabel: plan.label,
    now,
  });
  if (problem === undefined) return undefined;
  return `${problem} (spec.bootstrap cannot change: delete this PostgresCluster and create it again with the fix; nothing was made)`;
}

/** Where instance 0's start script restores, and what it renames into PGDATA. */
export function restoreDirectories(pgdata: string): { into: string; pgPath: string } {
  return { into: `${pgdata}.restore`, pgPath: pgdata };
}

/**
 * The start script's `pgbackrest restore` for `plan`, as one sh command
 * line: the source's stanza and path, the Backup's set, the target (then
 * promote), and a restore_command naming the final PGDATA. `stanza` is
 * the restoring cluster's (its pgbackrest.conf; the source's is given on
 * the command line).
 */
export function restoreShellCommand(
  stanza: string,
  plan: Extract<RestorePlan, { kind: "restore" }>,
  pgdata: string,
): string {
  return shellCommand(
    restoreArgs(
      { stanza },
      {
        ...restoreDirectories(pgdata),
        source: plan.source,
        set: plan.label,
        ...(plan.target ? { target: plan.target } : {}),
      },
    ),
  );
}
