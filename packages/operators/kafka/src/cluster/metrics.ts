/**
 * The Kafka operator's own Prometheus series, beside the runtime's
 * controller metrics: what an on-call engineer asks of a Kafka cluster
 * (is every broker serving, is anything under-replicated, is an operation
 * running and how far along is it), labelled by namespace and cluster.
 */
import { operationProgress, operationTypes } from "@ballast/stateful";
import { Gauge, type Registry } from "prom-client";
import type { KafkaCluster } from "../api.ts";
import type { KafkaObservation } from "../plan/state.ts";

const labelNames = ["namespace", "cluster"] as const;

export class KafkaMetrics {
  readonly #brokersReady: Gauge<(typeof labelNames)[number]>;
  readonly #brokersDesired: Gauge<(typeof labelNames)[number]>;
  readonly #underReplicated: Gauge<(typeof labelNames)[number]>;
  readonly #offline: Gauge<(typeof labelNames)[number]>;
  readonly #reassignments: Gauge<(typeof labelNames)[number]>;
  readonly #operation: Gauge<"namespace" | "cluster" | "type">;
  readonly #progress: Gauge<(typeof labelNames)[number]>;

  constructor(registry: Registry) {
    const gauge = <L extends string>(name: string, help: string, labels: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames: labels, registers: [registry] });
    this.#brokersReady = gauge(
      "ballast_kafka_brokers_ready",
      "Brokers registered, unfenced and Ready.",
      labelNames,
    );
    this.#brokersDesired = gauge("ballast_kafka_brokers_desired", "spec.brokers.", labelNames);
    this.#underReplicated = gauge(
      "ballast_kafka_under_replicated_partitions",
      "Partitions whose ISR is smaller than their replica set.",
      labelNames,
    );
    this.#offline = gauge(
      "ballast_kafka_offline_partitions",
      "Partitions without a leader.",
      labelNames,
    );
    this.#reassignments = gauge(
      "ballast_kafka_reassignments_in_flight",
      "Partition reassignments Kafka is carrying out.",
      labelNames,
    );
    this.#operation = gauge(
      "ballast_kafka_operation_in_progress",
      "1 while an operation (Roll, ScaleUp, ScaleDown) runs on the cluster.",
      ["namespace", "cluster", "type"],
    );
    this.#progress = gauge(
      "ballast_kafka_operation_progress_ratio",
      "Share of the current operation done (nodes restarted, or partitions moved), 0..1.",
      labelNames,
    );
  }

  record(c: KafkaCluster, obs: KafkaObservation | undefined): void {
    const labels = { namespace: c.metadata.namespace ?? "default", cluster: c.metadata.name ?? "" };
    const status = c.status ?? {};
    this.#brokersReady.set(labels, status.readyBrokers ?? 0);
    this.#brokersDesired.set(labels, c.spec.brokers);
    if (obs) {
      this.#underReplicated.set(
        labels,
        obs.partitions.filter((p) => p.isr.length < p.replicas.length).length,
      );
      this.#offline.set(labels, obs.partitions.filter((p) => p.leader < 0).length);
      this.#reassignments.set(labels, obs.reassignments.length);
    }
    const op = status.operation;
    for (const type of operationTypes)
      this.#operation.set({ ...labels, type }, op?.type === type ? 1 : 0);
    this.#progress.set(labels, operationProgress(op).ratio);
  }

  /** Forgets a deleted cluster's series. */
  forget(namespace: string, cluster: string): void {
    const labels = { namespace, cluster };
    for (const g of [
      this.#brokersReady,
      this.#brokersDesired,
      this.#underReplicated,
      this.#offline,
      this.#reassignments,
      this.#progress,
    ])
      g.remove(labels);
    for (const type of operationTypes) this.#operation.remove({ ...labels, type });
  }
}
