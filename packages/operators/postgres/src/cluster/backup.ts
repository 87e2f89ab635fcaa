/**
 * Continuous archiving (spec.backup), act side: what `backup/wiring.ts`
 * put in the pods made to work, and said in the BackupReady condition.
 * Steps, each reconcile:
 *
 * 1. No spec.backup: status.backup and the condition are cleared (the
 *    pods lose archiving with the roll the template change makes; nothing
 *    in the bucket is touched).
 * 2. spec.backup that cannot be used (the wiring's message names the
 *    field): BackupReady False. The pods run without archiving.
 * 3. The credentials: spec.backup.objectStore.credentialsSecret's
 *    ACCESS_KEY_ID and SECRET_ACCESS_KEY rendered into `<name>-pgbackrest`
 *    (`s3.conf`), which the pods mount; written only when it differs. A
 *    missing Secret or key: BackupReady False, naming it.
 * 4. The stanza, once per repository path: when the primary serves from a
 *    pod that carries the current archive_command (the roll that turned
 *    archiving on has reached it), `stanza-create` then `check` are run in
 *    its container (exec). `check` forces a WAL switch and waits for that
 *    segment in the bucket, so success means archiving works end to end.
 *    status.backup records the path and when; a failure is classified
 *    (what failed and the fix, secrets redacted) into the condition, and
 *    tried again on the next busy requeue.
 *
 * 5. Once the stanza is recorded, every reconcile: the primary's
 *    `pg_stat_archiver` and the WAL files waiting to be archived (in its
 *    report) into status.backup and the condition (`backup/archiver.ts`):
 *    archive_command failing now is BackupReady False `ArchivingFailing`,
 *    a WAL file waiting over a minute (a command that hangs) is
 *    `ArchivingStalled`, each with a Warning event once, so a broken
 *    object store is never silent while pg_wal fills. With them, the
 *    newest Completed Backup of the repository (`latestCompleted`, from
 *    a list of the namespace's records, made only when the controller's
 *    Backup watch saw one of this cluster's change: a backup that
 *    completes is seen at once, and a settled cluster lists nothing) as
 *    status.backup.lastBackup.
 *
 * Nothing here stops or delays the rest of the pipeline: a cluster whose
 * object store is down keeps serving; PostgreSQL keeps the WAL it could
 * not archive and retries (docs/backup.md says what that costs).
 */
import { exec } from "@ballast/runtime";
import { ownedMeta } from "@ballast/stateful";
import type { PostgresClusterStatus } from "../api.ts";
import { Backup } from "../backup/api.ts";
import { archivingHealth } from "../backup/archiver.ts";
import {
  checkArgs,
  classifyPgbackrestFailure,
  credentialsConf,
  credentialsKey,
  repoPathOf,
  stanzaCreateArgs,
  stanzaOf,
} from "../backup/pgbackrest.ts";
import { latestCompleted } from "../backup/records.ts";
import { type BackupWiring, backupWiring } from "../backup/wiring.ts";
import { identity } from "../resources.ts";
import type { PostgresScope } from "./scope.ts";
import { definedOnly } from "./status.ts";

interface SecretObject {
  apiVersion: "v1";
  kind: "Secret";
  metadata: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

const SecretType = { apiVersion: "v1", kind: "Secret" } as const;

/** The keys spec.backup.objectStore.credentialsSecret must have. */
export const credentialKeys = {
  accessKeyId: "ACCESS_KEY_ID",
  secretAccessKey: "SECRET_ACCESS_KEY",
};

export async function syncBackup(s: PostgresScope): Promise<void> {
  const w = backupWiring(s.r);
  if (w.kind === "off") {
    if (s.status.backup || s.status.conditions?.some((c) => c.type === "BackupReady"))
      await s.writeStatus({ backup: { record: null } });
    return;
  }
  if (w.kind === "invalid") {
    await notReady(s, "InvalidObjectStore", w.message);
    return;
  }
  const credentials = await renderCredentials(s, w);
  if (credentials) {
    await notReady(s, "CredentialsMissing", credentials);
    return;
  }
  // A handover owns the primary: the stanza waits for it to end.
  if (s.pg.election || s.pg.switchover) return;
  const repoPath = repoPathOf(s.r);
  if (s.status.backup?.repoPath === repoPath) {
    await archiverHealth(s, s.status.backup, `${repoPath} (stanza ${w.stanza})`);
    return;
  }
  const primary = s.pg.primary?.id;
  const pod = primary === undefined ? undefined : s.pod(primary);
  const serves =
    primary !== undefined &&
    s.observation?.instances.some((i) => i.id === primary && i.reachable && !i.inRecovery);
  if (!pod || !serves || !carriesArchiving(pod, w)) {
    await notReady(
      s,
      "WaitingForArchiving",
      "waiting for the primary to run with archive_command (the roll spec.backup started)",
    );
    return;
  }
  for (const [command, args] of [
    ["stanza-create", stanzaCreateArgs({ stanza: w.stanza })],
    ["check", checkArgs({ stanza: w.stanza })],
  ] as const) {
    const result = await exec(
      s.ctx.client,
      { namespace: s.namespace, name: pod.metadata.name ?? "" },
      args,
      { container: "postgres", timeoutMs: 120_000 },
    );
    if (result.exitCode !== 0) {
      const failure = classifyPgbackrestFailure(result, { command });
      s.event("ArchivingFailed", "Backup", failure.message, "Warning");
      await notReady(s, "ArchivingFailed", failure.message);
      return;
    }
  }
  s.event(
    "ArchivingStarted",
    "Backup",
    `stanza ${w.stanza} ready in ${repoPath}: WAL reaches the bucket`,
  );
  await s.writeStatus({
    backup: {
      record: { repoPath, stanzaCreatedAt: s.now().toISOString() },
      condition: {
        status: "True",
        reason: "Archiving",
        message: `WAL is archived to ${repoPath} (stanza ${w.stanza})`,
      },
    },
  });
}

/** BackupReady's reason for each verdict of `archivingHealth()`. */
const archivingReasons = {
  working: "Archiving",
  idle: "Archiving",
  failing: "ArchivingFailing",
  stalled: "ArchivingStalled",
} as const;

/** Step 5. */
async function archiverHealth(
  s: PostgresScope,
  record: NonNullable<PostgresClusterStatus["backup"]>,
  where: string,
): Promise<void> {
  const primary = s.pg.primary?.id;
  const report = primary === undefined ? undefined : s.reports.get(primary);
  if (report?.role !== "primary") return; // nothing new to say: keep what status says
  const a = report.archiver;
  const health = archivingHealth(a, where);
  const was = s.status.conditions?.find((c) => c.type === "BackupReady")?.reason;
  const reason = archivingReasons[health.kind];
  if (health.kind === "failing" || health.kind === "stalled") {
    if (was !== reason) s.event(reason, "Backup", health.message, "Warning");
  }
  const {
    lastArchivedWal,
    lastArchivedAt,
    lastFailedWal,
    lastFailedAt,
    walFilesAwaitingArchive: _,
    lastBackup: known,
    ...kept
  } = record;
  const listed = await lastBackupOf(s);
  const lastBackup = listed ? listed.latest : known;
  await s.writeStatus({
    backup: {
      record: {
        ...kept,
        ...definedOnly({
          lastArchivedWal: a.lastArchivedWal ?? lastArchivedWal,
          lastArchivedAt: a.lastArchivedAt ?? lastArchivedAt,
          lastFailedWal: a.lastFailedWal ?? lastFailedWal,
          lastFailedAt: a.lastFailedAt ?? lastFailedAt,
        }),
        walFilesAwaitingArchive: a.waitingCount,
        ...(lastBackup ? { lastBackup } : {}),
      },
      condition: {
        status: health.kind === "failing" || health.kind === "stalled" ? "False" : "True",
        reason,
        message: health.message,
      },
    },
  });
}

type LastBackup = NonNullable<PostgresClusterStatus["backup"]>["lastBackup"];

/**
 * Step 5's status.backup.lastBackup, from a list of the namespace's
 * Backups; undefined (keep what status says) unless one of this cluster's
 * Backups changed since the last list, or this process never listed them:
 * a reconcile runs every 250 ms in a handover, a list each time would be
 * load for nothing.
 */
async function lastBackupOf(s: PostgresScope): Promise<{ latest: LastBackup } | undefined> {
  const store = s.r.spec.backup?.objectStore;
  if (!store) return { latest: undefined };
  const key = `${s.namespace}/${s.r.metadata.name}`;
  const changed = s.deps.backupsChanged;
  if (changed && !changed.take(key)) return undefined;
  let items: Backup[];
  try {
    ({ items } = await s.ctx.client.listAll<Backup>(Backup, {
      namespace: s.namespace,
      signal: s.ctx.signal,
    }));
  } catch (err) {
    changed?.mark(key); // not listed after all: the next reconcile tries again
    throw err;
  }
  const repo = { bucket: store.bucket, path: repoPathOf(s.r), stanza: stanzaOf(s.r) };
  const latest = latestCompleted(items, repo);
  const st = latest?.status;
  if (!latest || !st?.label || !st.completedAt) return { latest: undefined };
  return {
    latest: {
      name: latest.metadata.name ?? "",
      label: st.label,
      type: st.type ?? "full",
      completedAt: st.completedAt,
    },
  };
}

/** Whether the pod was made with this wiring's archive_command (its env). */
function carriesArchiving(pod: { spec?: unknown }, w: BackupWiring & { kind: "on" }): boolean {
  const containers = (pod.spec as { containers?: { env?: { name: string; value?: string }[] }[] })
    ?.containers;
  const env = containers?.[0]?.env ?? [];
  return env.some((e) => e.name === "ARCHIVE_COMMAND" && e.value === w.archiveCommand);
}

/**
 * Step 3: renders `<name>-pgbackrest` from the user's Secret. Returns
 * what is missing, in words naming the field, or undefined when it is in
 * place. The values are never in a message.
 */
async function renderCredentials(
  s: PostgresScope,
  w: BackupWiring & { kind: "on" },
): Promise<string | undefined> {
  const field = "spec.backup.objectStore.credentialsSecret";
  const source = s.r.spec.backup?.objectStore.credentialsSecret ?? "";
  const user = await s.read<SecretObject>(SecretType, source);
  if (!user)
    return `${field}: Secret ${s.namespace}/${source} not found; create it with keys ${credentialKeys.accessKeyId} and ${credentialKeys.secretAccessKey}`;
  const value = (key: string) => Buffer.from(user.data?.[key] ?? "", "base64").toString("utf8");
  const accessKeyId = value(credentialKeys.accessKeyId);
  const secretAccessKey = value(credentialKeys.secretAccessKey);
  const missing = Object.values(credentialKeys).filter((k) => !value(k));
  if (missing.length > 0)
    return `${field}: Secret ${s.namespace}/${source} has no ${missing.join(" or ")}; add ${missing.length > 1 ? "them" : "it"}`;
  let conf: string;
  try {
    conf = credentialsConf({ accessKeyId, secretAccessKey });
  } catch (err) {
    return `${field}: ${(err as Error).message}`;
  }
  const encoded = Buffer.from(conf).toString("base64");
  const rendered = await s.read<SecretObject>(SecretType, w.credentialsSecret);
  if (rendered?.data?.[credentialsKey] === encoded) return undefined;
  await s.ctx.client.apply(
    {
      ...SecretType,
      metadata: ownedMeta(identity, s.r, w.credentialsSecret),
      type: "Opaque",
      data: { [credentialsKey]: encoded },
    },
    { force: true, signal: s.ctx.signal },
  );
  return undefined;
}

async function notReady(s: PostgresScope, reason: string, message: string): Promise<void> {
  await s.writeStatus({ backup: { condition: { status: "False", reason, message } } });
}
