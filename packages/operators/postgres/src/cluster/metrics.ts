/**
 * The PostgreSQL operator's own Prometheus series, beside the runtime's
 * controller metrics: what an on-call engineer asks of a cluster (does
 * every instance answer, who is primary, how far behind is each standby,
 * is a failover under way, how often has the primary moved), labelled by
 * namespace and cluster, and by instance where it is per instance; and
 * whether WAL archiving works (how long since the last archived WAL,
 * whether it fails or is stalled now, how many WAL files wait for it),
 * and how old the newest base backup is.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { PostgresClusterStatus } from "../api.ts";

const clusterLabels = ["namespace", "cluster"] as const;
const instanceLabels = [...clusterLabels, "instance"] as const;
type C = (typeof clusterLabels)[number];
type I = (typeof instanceLabels)[number];

export class PostgresMetrics {
  readonly #up: Gauge<I>;
  readonly #lag: Gauge<I>;
  readonly #primary: Gauge<C>;
  readonly #timeline: Gauge<C>;
  readonly #ready: Gauge<C>;
  readonly #desired: Gauge<C>;
  readonly #failover: Gauge<C>;
  readonly #moves: Counter<C>;
  readonly #discarded: Counter<C>;
  readonly #archivingFailing: Gauge<C>;
  readonly #awaitingArchive: Gauge<C>;
  /** When each cluster's primary last archived a WAL file (epoch ms), for the age at scrape time. */
  readonly #lastArchived = new Map<string, { labels: Record<C, string>; ms: number }>();
  /** When each cluster's newest Completed Backup completed (epoch ms), likewise. */
  readonly #lastBackup = new Map<string, { labels: Record<C, string>; ms: number }>();
  /** Instance ids with series, per cluster, to drop those of instances that left. */
  readonly #instances = new Map<string, Set<string>>();
  /** The primary each cluster had when last recorded (lost with the process). */
  readonly #lastPrimary = new Map<string, number>();

  constructor(registry: Registry) {
    const gauge = <L extends string>(name: string, help: string, labels: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames: labels, registers: [registry] });
    this.#up = gauge(
      "ballast_postgres_instance_up",
      "1 when the instance answered SQL at the last reconcile.",
      instanceLabels,
    );
    this.#lag = gauge(
      "ballast_postgres_replication_lag_bytes",
      "How far a standby's replayed WAL is behind the primary's current WAL, in bytes.",
      instanceLabels,
    );
    this.#primary = gauge(
      "ballast_postgres_primary_id",
      "The instance id the operator recognises as the primary, -1 while there is none.",
      clusterLabels,
    );
    this.#timeline = gauge(
      "ballast_postgres_timeline",
      "The primary's timeline: one more after each failover or switchover.",
      clusterLabels,
    );
    this.#ready = gauge(
      "ballast_postgres_instances_ready",
      "Instances serving: the primary, and standbys streaming from it.",
      clusterLabels,
    );
    this.#desired = gauge("ballast_postgres_instances_desired", "spec.instances.", clusterLabels);
    this.#failover = gauge(
      "ballast_postgres_failover_in_progress",
      "1 while a failover (an election) is recorded in status.",
      clusterLabels,
    );
    const ageGauge = (
      name: string,
      help: string,
      since: Map<string, { labels: Record<C, string>; ms: number }>,
    ) =>
      new Gauge<C>({
        name,
        help,
        labelNames: clusterLabels,
        registers: [registry],
        collect() {
          this.reset();
          const now = Date.now();
          for (const { labels, ms } of since.values())
            this.set(labels, Math.max(0, (now - ms) / 1000));
        },
      });
    ageGauge(
      "ballast_postgres_last_archived_wal_age_seconds",
      "Seconds since the primary last archived a WAL file (pg_stat_archiver), at scrape time; absent before the first.",
      this.#lastArchived,
    );
    ageGauge(
      "ballast_postgres_last_backup_age_seconds",
      "Seconds since the newest Completed Backup of the cluster's repository completed (status.backup.lastBackup), at scrape time; absent before the first.",
      this.#lastBackup,
    );
    this.#archivingFailing = gauge(
      "ballast_postgres_archiving_failing",
      "1 while WAL is not being archived: archive_command fails (its last failure is newer than its last success) or a completed WAL file has waited over a minute (BackupReady False); WAL piles up in pg_wal. Absent without spec.backup.",
      clusterLabels,
    );
    this.#awaitingArchive = gauge(
      "ballast_postgres_wal_files_awaiting_archive",
      "WAL files the primary has completed and not archived yet (.ready in pg_wal/archive_status). Absent without spec.backup.",
      clusterLabels,
    );
    this.#moves = new Counter<C>({
      name: "ballast_postgres_primary_changes_total",
      help: "Times the operator saw the primary move to another instance (failover or switchover), since it started.",
      labelNames: clusterLabels,
      registers: [registry],
    });
    this.#discarded = new Counter<C>({
      name: "ballast_postgres_discarded_wal_bytes_total",
      help: "Bytes of WAL a former primary wrote past the end of its timeline, discarded by pg_rewind when it rejoined: commits in them never reached the new primary.",
      labelNames: clusterLabels,
      registers: [registry],
    });
  }

  /** A rejoin's rewind discards `bytes` of WAL (plan/rejoin.ts `discards`). */
  discardedWal(namespace: string, cluster: string, bytes: bigint): void {
    this.#discarded.inc({ namespace, cluster }, Number(bytes));
  }

  record(
    namespace: string,
    cluster: string,
    desired: number,
    status: PostgresClusterStatus | undefined,
  ): void {
    if (!status) return;
    const base = { namespace, cluster };
    const key = `${namespace}/${cluster}`;
    const seen = new Set<string>();
    for (const i of status.instances ?? []) {
      const labels = { ...base, instance: String(i.id) };
      seen.add(labels.instance);
      this.#up.set(labels, i.unreachableSince === undefined && i.role !== undefined ? 1 : 0);
      if (i.lagBytes !== undefined) this.#lag.set(labels, i.lagBytes);
      else this.#lag.remove(labels);
    }
    for (const old of this.#instances.get(key) ?? []) {
      if (!seen.has(old)) this.#removeInstance({ ...base, instance: old });
    }
    this.#instances.set(key, seen);
    const primary = status.primary?.id;
    this.#primary.set(base, primary ?? -1);
    if (status.primary) this.#timeline.set(base, status.primary.timeline);
    this.#ready.set(base, status.readyInstances ?? 0);
    this.#desired.set(base, desired);
    this.#failover.set(base, status.election ? 1 : 0);
    const archivedAt = status.backup?.lastArchivedAt;
    if (archivedAt) this.#lastArchived.set(key, { labels: base, ms: Date.parse(archivedAt) });
    else this.#lastArchived.delete(key);
    const backedUpAt = status.backup?.lastBackup?.completedAt;
    if (backedUpAt) this.#lastBackup.set(key, { labels: base, ms: Date.parse(backedUpAt) });
    else this.#lastBackup.delete(key);
    const backupReady = status.conditions?.find((c) => c.type === "BackupReady");
    if (status.backup) {
      const failing =
        backupReady?.reason === "ArchivingFailing" || backupReady?.reason === "ArchivingStalled";
      this.#archivingFailing.set(base, failing ? 1 : 0);
      const awaiting = status.backup.walFilesAwaitingArchive;
      if (awaiting === undefined) this.#awaitingArchive.remove(base);
      else this.#awaitingArchive.set(base, awaiting);
    } else {
      this.#archivingFailing.remove(base);
      this.#awaitingArchive.remove(base);
    }
    const before = this.#lastPrimary.get(key);
    if (primary !== undefined) {
      if (before !== undefined && before !== primary) this.#moves.inc(base);
      else if (before === undefined) this.#moves.inc(base, 0);
      this.#lastPrimary.set(key, primary);
    }
  }

  forget(namespace: string, cluster: string): void {
    const base = { namespace, cluster };
    const key = `${namespace}/${cluster}`;
    for (const instance of this.#instances.get(key) ?? [])
      this.#removeInstance({ ...base, instance });
    for (const g of [
      this.#primary,
      this.#timeline,
      this.#ready,
      this.#desired,
      this.#failover,
      this.#archivingFailing,
      this.#awaitingArchive,
    ])
      g.remove(base);
    this.#lastArchived.delete(key);
    this.#lastBackup.delete(key);
    this.#moves.remove(base);
    this.#discarded.remove(base);
    this.#instances.delete(key);
    this.#lastPrimary.delete(key);
  }

  #removeInstance(labels: Record<I, string>): void {
    this.#up.remove(labels);
    this.#lag.remove(labels);
  }
}
