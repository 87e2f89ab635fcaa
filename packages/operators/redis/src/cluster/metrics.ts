/**
 * The RedisCluster's Prometheus series, beside the replication kind's
 * (replication/metrics.ts) on the same registry: what an on-call engineer
 * asks of a sharded cluster — does every shard have a master that serves
 * and its replicas, is every slot served by a master that sees the
 * cluster ok, are slots moving and how many moves remain, is a failover
 * or a roll under way, and why the cluster is Degraded — labelled by
 * namespace and cluster (and shard where it is per shard).
 *
 * Nodes, masters and replicas serving come from `.status` (so they say
 * what `kubectl get` and `ballast status` say); slots covered, slots
 * migrating and nodes seeing the cluster ok come from what the nodes
 * answered this reconcile, and stand when it asked none.
 */
import { type Operation, operationProgress, operationTypes } from "@ballast/stateful";
import { Counter, Gauge, type Registry } from "prom-client";
import type { RedisCluster } from "./api.ts";
import type { ClusterObservation, ClusterView } from "./plan/view.ts";
import { answered } from "./plan/view.ts";
import { shardHealth } from "./status.ts";

const labelNames = ["namespace", "cluster"] as const;
type Label = (typeof labelNames)[number];

/** What the nodes answered this reconcile, and the view built from it. */
export interface ClusterSeen {
  observation: ClusterObservation;
  view: ClusterView;
}

export class RedisClusterMetrics {
  readonly #nodesServing: Gauge<Label>;
  readonly #nodesDesired: Gauge<Label>;
  readonly #shardsDesired: Gauge<Label>;
  readonly #mastersServing: Gauge<Label>;
  readonly #replicasServing: Gauge<Label | "shard">;
  readonly #replicasDesired: Gauge<Label>;
  readonly #slotsAssigned: Gauge<Label>;
  readonly #slotsCovered: Gauge<Label>;
  readonly #slotsMigrating: Gauge<Label>;
  readonly #movesRemaining: Gauge<Label>;
  readonly #nodesStateOk: Gauge<Label>;
  readonly #failover: Gauge<Label>;
  readonly #operation: Gauge<Label | "type">;
  readonly #progress: Gauge<Label>;
  readonly #degraded: Gauge<Label | "reason">;
  readonly #failovers: Counter<Label>;
  /** Per cluster: each shard's master when last observed, to count moves (lost with the process). */
  readonly #lastMasters = new Map<string, Map<number, number>>();
  /** Per cluster: the shards with a replicas series, to drop those of shards removed. */
  readonly #shards = new Map<string, Set<number>>();
  /** Per cluster: the reason of its degraded series, to drop it when the reason changes. */
  readonly #reason = new Map<string, string>();

  constructor(registry: Registry) {
    const gauge = <L extends string>(name: string, help: string, labels: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames: labels, registers: [registry] });
    this.#nodesServing = gauge(
      "ballast_redis_cluster_nodes_serving",
      "Nodes serving: each shard's master, and replicas following it with their link up (of those not being removed).",
      labelNames,
    );
    this.#nodesDesired = gauge(
      "ballast_redis_cluster_nodes_desired",
      "spec.shards × (1 + spec.replicasPerShard).",
      labelNames,
    );
    this.#shardsDesired = gauge("ballast_redis_cluster_shards_desired", "spec.shards.", labelNames);
    this.#mastersServing = gauge(
      "ballast_redis_cluster_masters_serving",
      "Shards (not being removed) whose master serves.",
      labelNames,
    );
    this.#replicasServing = gauge(
      "ballast_redis_cluster_replicas_serving",
      "Replicas of the shard that serve: follow its master with their link up (of those not being removed).",
      [...labelNames, "shard"],
    );
    this.#replicasDesired = gauge(
      "ballast_redis_cluster_replicas_desired",
      "spec.replicasPerShard.",
      labelNames,
    );
    this.#slotsAssigned = gauge(
      "ballast_redis_cluster_slots_assigned",
      "Hash slots (of 16384) owned by a node of the cluster, as the nodes' tables agree.",
      labelNames,
    );
    this.#slotsCovered = gauge(
      "ballast_redis_cluster_slots_covered",
      "Hash slots (of 16384) served: owned by a master that answers, claims the slot in its own table and sees the cluster ok.",
      labelNames,
    );
    this.#slotsMigrating = gauge(
      "ballast_redis_cluster_slots_migrating",
      "Slots marked MIGRATING on their owner: a move in flight (or left by an interrupted one).",
      labelNames,
    );
    this.#movesRemaining = gauge(
      "ballast_redis_cluster_reshard_moves_remaining",
      "Slot moves the current ScaleUp or ScaleDown still has to make, 0 when none runs.",
      labelNames,
    );
    this.#nodesStateOk = gauge(
      "ballast_redis_cluster_nodes_state_ok",
      "Nodes answering with cluster_state:ok (every slot served, as each sees it).",
      labelNames,
    );
    this.#failover = gauge(
      "ballast_redis_cluster_failover_in_progress",
      "1 while a coordinated CLUSTER FAILOVER the operator asked for (a roll, a removed master handing over) is under way.",
      labelNames,
    );
    this.#operation = gauge(
      "ballast_redis_cluster_operation_in_progress",
      "1 while an operation (Roll, ScaleUp, ScaleDown) runs on the cluster.",
      [...labelNames, "type"],
    );
    this.#progress = gauge(
      "ballast_redis_cluster_operation_progress_ratio",
      "Share of the current operation done (nodes restarted, or slot moves made), 0..1.",
      labelNames,
    );
    this.#degraded = gauge(
      "ballast_redis_cluster_degraded",
      "1 while the Degraded condition is True, labelled by its reason (SlotsUncovered, ScaleInRefused, ForeignNode, …); 0 with the reason AsExpected.",
      [...labelNames, "reason"],
    );
    this.#failovers = new Counter<Label>({
      name: "ballast_redis_cluster_failovers_observed_total",
      help: "Times the operator saw a shard's master move to another member (Redis's own failover, or a coordinated one it asked for), since it started.",
      labelNames,
      registers: [registry],
    });
  }

  /**
   * Records the cluster as its status now says and, when the nodes were
   * asked this reconcile, what they answered. Without an answer (a
   * reconcile that stopped before asking) the last one's series stand.
   */
  record(r: RedisCluster, seen: ClusterSeen | undefined): void {
    const labels = { namespace: r.metadata.namespace ?? "default", cluster: r.metadata.name ?? "" };
    const key = `${labels.namespace}/${labels.cluster}`;
    const status = r.status ?? {};
    const replicasPerShard = r.spec.replicasPerShard ?? 1;
    this.#nodesServing.set(labels, status.readyNodes ?? 0);
    this.#nodesDesired.set(labels, r.spec.shards * (1 + replicasPerShard));
    this.#shardsDesired.set(labels, r.spec.shards);
    this.#replicasDesired.set(labels, replicasPerShard);
    const shards = shardHealth(status);
    this.#mastersServing.set(labels, shards.filter((s) => !s.removing && s.masterServing).length);
    const had = this.#shards.get(key) ?? new Set<number>();
    const now = new Set(shards.map((s) => s.shard));
    for (const shard of had)
      if (!now.has(shard)) this.#replicasServing.remove({ ...labels, shard: String(shard) });
    for (const s of shards)
      this.#replicasServing.set({ ...labels, shard: String(s.shard) }, s.replicasServing);
    this.#shards.set(key, now);
    if (status.slotsAssigned !== undefined) this.#slotsAssigned.set(labels, status.slotsAssigned);
    if (seen) {
      this.#slotsCovered.set(labels, slotsCovered(seen));
      this.#slotsMigrating.set(labels, seen.view.inFlight.length);
      this.#nodesStateOk.set(
        labels,
        seen.observation.nodes.filter((n) => answered(n)?.stateOk).length,
      );
      this.#countFailovers(key, labels, seen.view);
    }
    this.#movesRemaining.set(labels, movesRemaining(status.operation));
    this.#failover.set(labels, status.failover ? 1 : 0);
    const op = status.operation;
    for (const type of operationTypes)
      this.#operation.set({ ...labels, type }, op?.type === type ? 1 : 0);
    this.#progress.set(labels, operationProgress(op).ratio);
    const degraded = status.conditions?.find((c) => c.type === "Degraded");
    if (degraded) {
      const before = this.#reason.get(key);
      if (before !== undefined && before !== degraded.reason)
        this.#degraded.remove({ ...labels, reason: before });
      this.#degraded.set(
        { ...labels, reason: degraded.reason },
        degraded.status === "True" ? 1 : 0,
      );
      this.#reason.set(key, degraded.reason);
    }
  }

  #countFailovers(key: string, labels: Record<Label, string>, view: ClusterView): void {
    const last = this.#lastMasters.get(key) ?? new Map<number, number>();
    if (!this.#lastMasters.has(key)) this.#failovers.inc(labels, 0);
    for (const [shard, master] of view.masters) {
      const before = last.get(shard);
      if (before !== undefined && before !== master) this.#failovers.inc(labels);
      last.set(shard, master);
    }
    this.#lastMasters.set(key, last);
  }

  /** Forgets a deleted cluster's series. */
  forget(namespace: string, cluster: string): void {
    const labels = { namespace, cluster };
    const key = `${namespace}/${cluster}`;
    for (const g of [
      this.#nodesServing,
      this.#nodesDesired,
      this.#shardsDesired,
      this.#mastersServing,
      this.#replicasDesired,
      this.#slotsAssigned,
      this.#slotsCovered,
      this.#slotsMigrating,
      this.#movesRemaining,
      this.#nodesStateOk,
      this.#failover,
      this.#progress,
    ])
      g.remove(labels);
    for (const shard of this.#shards.get(key) ?? [])
      this.#replicasServing.remove({ ...labels, shard: String(shard) });
    const reason = this.#reason.get(key);
    if (reason !== undefined) this.#degraded.remove({ ...labels, reason });
    this.#failovers.remove(labels);
    for (const type of operationTypes) this.#operation.remove({ ...labels, type });
    this.#lastMasters.delete(key);
    this.#shards.delete(key);
    this.#reason.delete(key);
  }
}

/**
 * Pure: slots served — claimed by a master in its own table (its `myself`
 * line), that master seeing the cluster ok, and the view agreeing it is
 * the owner (a master that missed a newer claim does not count).
 */
export function slotsCovered({ observation, view }: ClusterSeen): number {
  const covered = new Set<number>();
  for (const n of observation.nodes) {
    const r = answered(n);
    if (!r?.stateOk || r.role !== "master") continue;
    const self = r.nodes.find((l) => l.myself);
    for (const [a, b] of self?.slots ?? [])
      for (let s = a; s <= b; s++) if (view.owners.get(s) === n.member.id) covered.add(s);
  }
  return covered.size;
}

/** Slot moves a scale operation still has to make; 0 for a roll or none. */
export function movesRemaining(op: Operation | undefined): number {
  return op && op.type !== "Roll" ? (op.movesRemaining ?? 0) : 0;
}
