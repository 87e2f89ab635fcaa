/**
 * The Redis operator's own Prometheus series, beside the runtime's
 * controller metrics: what an on-call engineer asks of a replication set
 * (is every member serving, who is master, do the sentinels agree on it,
 * is an operation running and how far along, how often has the master
 * moved), labelled by namespace and set.
 */
import { operationProgress, operationTypes } from "@ballast/stateful";
import { Counter, Gauge, type Registry } from "prom-client";
import type { RedisReplication } from "../api.ts";
import type { MasterDecision } from "../plan/master.ts";

const labelNames = ["namespace", "replication"] as const;
type Label = (typeof labelNames)[number];

export class RedisMetrics {
  readonly #membersServing: Gauge<Label>;
  readonly #membersDesired: Gauge<Label>;
  readonly #masterId: Gauge<Label>;
  readonly #sentinelsAgreeing: Gauge<Label>;
  readonly #sentinelsDesired: Gauge<Label>;
  readonly #operation: Gauge<Label | "type">;
  readonly #progress: Gauge<Label>;
  readonly #failovers: Counter<Label>;
  /** The master each set had when last recorded, to count moves (lost with the process: a restart counts from then). */
  readonly #lastMaster = new Map<string, number>();

  constructor(registry: Registry) {
    const gauge = <L extends string>(name: string, help: string, labels: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames: labels, registers: [registry] });
    this.#membersServing = gauge(
      "ballast_redis_members_serving",
      "Members serving: the master, and replicas in sync with it (of those not being removed).",
      labelNames,
    );
    this.#membersDesired = gauge(
      "ballast_redis_members_desired",
      "spec.replicas + 1 (the master and its replicas).",
      labelNames,
    );
    this.#masterId = gauge(
      "ballast_redis_master_id",
      "The member id of the one master the operator recognises, -1 while there is none.",
      labelNames,
    );
    this.#sentinelsAgreeing = gauge(
      "ballast_redis_sentinels_agreeing",
      "Sentinels that name the master the operator recognises (a failover needs a majority of spec.sentinels).",
      labelNames,
    );
    this.#sentinelsDesired = gauge(
      "ballast_redis_sentinels_desired",
      "spec.sentinels.",
      labelNames,
    );
    this.#operation = gauge(
      "ballast_redis_operation_in_progress",
      "1 while an operation (Roll, ScaleUp, ScaleDown) runs on the set.",
      [...labelNames, "type"],
    );
    this.#progress = gauge(
      "ballast_redis_operation_progress_ratio",
      "Share of the current operation done (members restarted, or replicas added or removed), 0..1.",
      labelNames,
    );
    this.#failovers = new Counter<Label>({
      name: "ballast_redis_failovers_observed_total",
      help: "Times the operator saw the master move to another member (Sentinel's failover, a controlled switchover, or its own promotion), since it started.",
      labelNames,
      registers: [registry],
    });
  }

  /**
   * Records the set as its status now says and, when Redis was asked this
   * reconcile, whom it decided is master. Without a decision (a reconcile
   * that stopped before asking) the last one's series stand: no answer is
   * not evidence that the master is gone.
   */
  record(r: RedisReplication, decision: MasterDecision | undefined): void {
    const labels = {
      namespace: r.metadata.namespace ?? "default",
      replication: r.metadata.name ?? "",
    };
    const status = r.status ?? {};
    this.#membersServing.set(labels, status.readyMembers ?? 0);
    this.#membersDesired.set(labels, r.spec.replicas + 1);
    this.#sentinelsDesired.set(labels, r.spec.sentinels);
    if (decision) {
      const master = decision.kind === "master" ? decision.id : undefined;
      this.#masterId.set(labels, master ?? -1);
      this.#sentinelsAgreeing.set(labels, status.sentinelsAgreeing ?? 0);
      const key = `${labels.namespace}/${labels.replication}`;
      const before = this.#lastMaster.get(key);
      if (master !== undefined) {
        if (before !== undefined && before !== master) this.#failovers.inc(labels);
        else if (before === undefined) this.#failovers.inc(labels, 0);
        this.#lastMaster.set(key, master);
      }
    }
    const op = status.operation;
    for (const type of operationTypes)
      this.#operation.set({ ...labels, type }, op?.type === type ? 1 : 0);
    this.#progress.set(labels, operationProgress(op).ratio);
  }

  /** Forgets a deleted set's series. */
  forget(namespace: string, replication: string): void {
    const labels = { namespace, replication };
    for (const g of [
      this.#membersServing,
      this.#membersDesired,
      this.#masterId,
      this.#sentinelsAgreeing,
      this.#sentinelsDesired,
      this.#progress,
    ])
      g.remove(labels);
    this.#failovers.remove(labels);
    for (const type of operationTypes) this.#operation.remove({ ...labels, type });
    this.#lastMaster.delete(`${namespace}/${replication}`);
  }
}
