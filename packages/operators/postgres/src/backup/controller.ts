/**
 * The Backup controller: one base backup per Backup, taken by pgBackRest
 * in the primary's container (exec: pgBackRest reads PGDATA from the
 * pod's disk and talks to the server over its socket). Steps, per Backup:
 *
 * 1. Completed, Failed or Expired: nothing, ever again (a Backup is a
 *    record; only step 7 of a later backup turns Completed to Expired).
 * 2. The cluster must be ready for it, else Pending with what it waits
 *    for: the PostgresCluster exists (spec.cluster.name), has spec.backup,
 *    archives (status.backup, BackupReady True: a base backup is useless
 *    without the WAL after it, and pgBackRest would wait for it anyway),
 *    and has a primary with no failover or switchover under way.
 * 3. Running, with startedAt and the instance, is recorded BEFORE
 *    pgBackRest starts: an operator killed during the backup finds it.
 * 4. Already Running (the operator restarted): `info` first; a backup
 *    that started at or after startedAt is this one (step 6). Otherwise
 *    it runs again — pgBackRest resumes an interrupted backup of the same
 *    type, and a second full is harmless.
 * 5. `pgbackrest backup --type=<spec.type>`. A failure is classified (what
 *    failed and the fix, secrets redacted): another backup holding the
 *    stanza's lock is Pending and asked again later; anything else Failed,
 *    with a Warning event. pgBackRest expires old backups itself as it
 *    ends (spec.backup.retention).
 * 6. `info`, and the newest backup that started at or after startedAt
 *    (`backupStartedSince`): Completed with its label, type, WAL positions
 *    and sizes.
 * 7. The same `info` lists every set the repository still holds, after
 *    pgBackRest applied retention: the other Completed records of this
 *    repository whose set it no longer lists (`expiredRecords`) turn
 *    Expired, so the records never offer a restore of a set that is gone.
 */
import {
  Action,
  type ControllerContext,
  type ControllerOptions,
  controller,
  type EventRecorder,
  exec,
  isNotFound,
  type KubeClient,
} from "@ballast/runtime";
import { PostgresCluster } from "../api.ts";
import { names } from "../resources.ts";
import { Backup, type BackupStatus } from "./api.ts";
import {
  type BackupRecord,
  backupArgs,
  classifyPgbackrestFailure,
  infoArgs,
  parseInfo,
  repoPathOf,
  type StanzaInfo,
  stanzaOf,
} from "./pgbackrest.ts";
import { expiredRecords } from "./records.ts";
import { writeStatusOf } from "./status-write.ts";

export interface BackupControllerDeps {
  events?: EventRecorder;
  /** How long a Pending backup waits before it is looked at again. @default 10000 */
  pendingRequeueMs?: number;
  now?: () => Date;
}

/** A base backup of a big database takes hours; pgBackRest bounds its own I/O. */
const backupTimeoutMs = 6 * 3600_000;

export function backupController(
  client: KubeClient,
  deps: BackupControllerDeps = {},
  options: ControllerOptions = {},
) {
  return controller(client, Backup)
    .withOptions({ name: "backup", ...options })
    .build(async (_ref, ctx) => {
      const b = ctx.object;
      if (!b) return Action.done();
      return takeBackup(b, ctx, deps);
    });
}

/** Step 6's choice: the newest backup that started at or after `startedAt` (pgBackRest keeps whole seconds). */
export function backupStartedSince(info: StanzaInfo, startedAt: string): BackupRecord | undefined {
  const since = Math.floor(Date.parse(startedAt) / 1000) * 1000;
  const after = info.backups.filter((r) => Date.parse(r.startedAt) >= since);
  return after[after.length - 1];
}

async function takeBackup(
  b: Backup,
  ctx: ControllerContext<Backup>,
  deps: BackupControllerDeps,
): Promise<Action> {
  const phase = b.status?.phase;
  if (phase === "Completed" || phase === "Failed" || phase === "Expired") return Action.done();
  const now = () => deps.now?.() ?? new Date();
  const namespace = b.metadata.namespace ?? "default";
  const pendingMs = deps.pendingRequeueMs ?? 10_000;
  const write = (status: BackupStatus) => writeStatus(ctx, b, status);
  const pending = async (message: string) => {
    await write({ phase: "Pending", message });
    return Action.requeueAfter(pendingMs);
  };
  // 2.
  const cluster = await readCluster(ctx, namespace, b.spec.cluster.name);
  const where = `PostgresCluster ${namespace}/${b.spec.cluster.name}`;
  if (!cluster) return pending(`spec.cluster.name: ${where} not found`);
  if (!cluster.spec.backup)
    return pending(`${where} has no spec.backup: set its object store to back it up`);
  const archiving = cluster.status?.conditions?.find((c) => c.type === "BackupReady");
  if (!cluster.status?.backup || archiving?.status !== "True")
    return pending(
      `${where} does not archive WAL yet: ${archiving?.message ?? "no BackupReady condition"}`,
    );
  const primary = cluster.status.primary?.id;
  if (primary === undefined || cluster.status.election || cluster.status.switchover)
    return pending(`${where} has no settled primary (a failover or switchover is under way)`);
  const stanza = stanzaOf(cluster);
  const target = { namespace, name: names.pod(cluster, primary) };
  const run = (args: string[], timeoutMs: number) =>
    exec(ctx.client, target, args, { container: "postgres", timeoutMs, signal: ctx.signal });
  // 4.
  const startedAt = b.status?.startedAt;
  if (phase === "Running" && startedAt) {
    const done = await findTaken(run, stanza, startedAt);
    if (done)
      return complete(ctx, b, deps, {
        ...done,
        startedAt,
        instance: b.status?.instance ?? primary,
        cluster,
        at: now(),
      });
  }
  // 3.
  const started = now().toISOString();
  await write({ phase: "Running", startedAt: started, instance: primary });
  // 5.
  const result = await run(backupArgs({ stanza }, b.spec.type), backupTimeoutMs);
  if (result.exitCode !== 0) {
    const failure = classifyPgbackrestFailure(result, { command: "backup" });
    if (failure.reason === "busy") return pending(failure.message);
    deps.events?.event(b, {
      type: "Warning",
      reason: "BackupFailed",
      action: "Backup",
      note: failure.message,
    });
    await write({
      phase: "Failed",
      startedAt: started,
      completedAt: now().toISOString(),
      instance: primary,
      message: failure.message,
    });
    return Action.done();
  }
  // 6.
  const taken = await findTaken(run, stanza, started);
  if (!taken) {
    const message = `pgbackrest backup exited 0 but info lists no backup started since ${started}`;
    await write({
      phase: "Failed",
      startedAt: started,
      completedAt: now().toISOString(),
      instance: primary,
      message,
    });
    return Action.done();
  }
  return complete(ctx, b, deps, {
    ...taken,
    startedAt: started,
    instance: primary,
    cluster,
    at: now(),
  });
}

async function findTaken(
  run: (
    args: string[],
    timeoutMs: number,
  ) => Promise<{ exitCode: number; stdout: string; stderr: string }>,
  stanza: string,
  startedAt: string,
): Promise<{ taken: BackupRecord; info: StanzaInfo } | undefined> {
  const result = await run(infoArgs({ stanza }), 120_000);
  if (result.exitCode !== 0) return undefined;
  const info = parseInfo(result.stdout, stanza);
  const taken = backupStartedSince(info, startedAt);
  return taken ? { taken, info } : undefined;
}

async function complete(
  ctx: ControllerContext<Backup>,
  b: Backup,
  deps: BackupControllerDeps,
  done: {
    taken: BackupRecord;
    info: StanzaInfo;
    startedAt: string;
    instance: number;
    cluster: PostgresCluster;
    at: Date;
  },
): Promise<Action> {
  const { taken, info, startedAt, instance, cluster, at } = done;
  const store = cluster.spec.backup?.objectStore;
  await writeStatus(ctx, b, {
    phase: "Completed",
    startedAt,
    completedAt: at.toISOString(),
    instance,
    label: taken.label,
    type: taken.type,
    startLsn: taken.startLsn,
    stopLsn: taken.stopLsn,
    ...(store
      ? {
          repository: {
            endpoint: store.endpoint,
            bucket: store.bucket,
            path: repoPathOf(cluster),
            stanza: stanzaOf(cluster),
          },
        }
      : {}),
    databaseBytes: taken.databaseBytes,
    repositoryBytes: taken.repoBytes,
  });
  deps.events?.event(b, {
    type: "Normal",
    reason: "BackupCompleted",
    action: "Backup",
    note: `${taken.type} backup ${taken.label} of instance ${instance}: consistent at ${taken.stopLsn}, ${taken.repoBytes} bytes in the bucket`,
  });
  // 7.
  if (store) await markExpired(ctx, b, deps, cluster, info, { label: taken.label, startedAt, at });
  return Action.done();
}

async function markExpired(
  ctx: ControllerContext<Backup>,
  b: Backup,
  deps: BackupControllerDeps,
  cluster: PostgresCluster,
  info: StanzaInfo,
  justTaken: { label: string; startedAt: string; at: Date },
): Promise<void> {
  const namespace = b.metadata.namespace ?? "default";
  const store = cluster.spec.backup?.objectStore;
  if (!store) return;
  const repo = { bucket: store.bucket, path: repoPathOf(cluster), stanza: stanzaOf(cluster) };
  const { items } = await ctx.client.listAll<Backup>(Backup, { namespace, signal: ctx.signal });
  const labels = info.backups.map((r) => r.label);
  const retention = cluster.spec.backup?.retention;
  for (const gone of expiredRecords(items, repo, labels, justTaken)) {
    const message = `retention (spec.backup.retention ${retention}) removed set ${gone.status?.label} from ${repo.path} when backup ${justTaken.label} (Backup ${namespace}/${b.metadata.name}) ended`;
    await writeStatus(ctx, gone, {
      ...gone.status,
      phase: "Expired",
      expiredAt: justTaken.at.toISOString(),
      message,
    });
    deps.events?.event(gone, {
      type: "Normal",
      reason: "BackupExpired",
      action: "Expire",
      note: message,
    });
  }
}

async function readCluster(
  ctx: ControllerContext<Backup>,
  namespace: string,
  name: string,
): Promise<PostgresCluster | undefined> {
  try {
    return await ctx.client.get<PostgresCluster>(
      PostgresCluster,
      { namespace, name },
      { signal: ctx.signal },
    );
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function writeStatus(
  ctx: ControllerContext<Backup>,
  b: Backup,
  status: BackupStatus,
): Promise<void> {
  return writeStatusOf(ctx, Backup, b, status);
}
