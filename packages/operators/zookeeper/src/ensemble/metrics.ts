/**
 * The ZooKeeper operator's own Prometheus series, beside the runtime's
 * controller metrics: what an on-call engineer asks of an ensemble (does
 * it have a quorum and who leads it, is every member serving, how many
 * voters does the configuration hold, is an operation running and how far
 * along is it), labelled by namespace and ensemble.
 */
import { operationProgress, operationTypes } from "@ballast/stateful";
import { Gauge, type Registry } from "prom-client";
import type { ZooKeeperEnsemble } from "../api.ts";
import type { EnsembleObservation } from "../plan/state.ts";

const labelNames = ["namespace", "ensemble"] as const;

export class ZooKeeperMetrics {
  readonly #membersServing: Gauge<(typeof labelNames)[number]>;
  readonly #membersDesired: Gauge<(typeof labelNames)[number]>;
  readonly #voters: Gauge<(typeof labelNames)[number]>;
  readonly #quorum: Gauge<(typeof labelNames)[number]>;
  readonly #leaderId: Gauge<(typeof labelNames)[number]>;
  readonly #operation: Gauge<"namespace" | "ensemble" | "type">;
  readonly #progress: Gauge<(typeof labelNames)[number]>;

  constructor(registry: Registry) {
    const gauge = <L extends string>(name: string, help: string, labels: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames: labels, registers: [registry] });
    this.#membersServing = gauge(
      "ballast_zookeeper_members_serving",
      "Members serving (the leader, or a follower synced with it), of those not being removed.",
      labelNames,
    );
    this.#membersDesired = gauge("ballast_zookeeper_members_desired", "spec.replicas.", labelNames);
    this.#voters = gauge(
      "ballast_zookeeper_voters",
      "Voters in the configuration the ensemble serves (the last one seen while a member served).",
      labelNames,
    );
    this.#quorum = gauge(
      "ballast_zookeeper_quorum",
      "1 while a leader is in broadcast (the ensemble has a quorum), 0 when none is.",
      labelNames,
    );
    this.#leaderId = gauge(
      "ballast_zookeeper_leader_id",
      "The member id of the leader in broadcast, -1 when there is none.",
      labelNames,
    );
    this.#operation = gauge(
      "ballast_zookeeper_operation_in_progress",
      "1 while an operation (Roll, ScaleUp, ScaleDown) runs on the ensemble.",
      ["namespace", "ensemble", "type"],
    );
    this.#progress = gauge(
      "ballast_zookeeper_operation_progress_ratio",
      "Share of the current operation done (members restarted, or voters added or removed), 0..1.",
      labelNames,
    );
  }

  /**
   * Records the ensemble as its status now says and, when ZooKeeper was
   * asked this reconcile, what it answered. Without an answer (a reconcile
   * that stopped before asking), the last answer's series stand: a missing
   * observation is not evidence that the quorum is gone.
   */
  record(e: ZooKeeperEnsemble, obs: EnsembleObservation | undefined): void {
    const labels = {
      namespace: e.metadata.namespace ?? "default",
      ensemble: e.metadata.name ?? "",
    };
    const status = e.status ?? {};
    this.#membersServing.set(labels, status.readyMembers ?? 0);
    this.#membersDesired.set(labels, e.spec.replicas);
    if (obs) {
      // Without a serving member nobody says what the configuration is:
      // the voters last seen are still the ones a quorum needs a majority of.
      if (obs.voters) this.#voters.set(labels, obs.voters.length);
      this.#quorum.set(labels, obs.leader === undefined ? 0 : 1);
      this.#leaderId.set(labels, obs.leader ?? -1);
    }
    const op = status.operation;
    for (const type of operationTypes)
      this.#operation.set({ ...labels, type }, op?.type === type ? 1 : 0);
    this.#progress.set(labels, operationProgress(op).ratio);
  }

  /** Forgets a deleted ensemble's series. */
  forget(namespace: string, ensemble: string): void {
    const labels = { namespace, ensemble };
    for (const g of [
      this.#membersServing,
      this.#membersDesired,
      this.#voters,
      this.#quorum,
      this.#leaderId,
      this.#progress,
    ])
      g.remove(labels);
    for (const type of operationTypes) this.#operation.remove({ ...labels, type });
  }
}
