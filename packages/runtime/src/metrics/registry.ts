/**
 * Prometheus metrics under controller-runtime's names, labels and buckets, so
 * the dashboards and alerts people already run for Go operators work for
 * Ballast unchanged. Names that differ by runtime (`go_*` process metrics)
 * are replaced by prom-client's Node equivalents (`process_*`, `nodejs_*`).
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { InFlightWork, QueueMetrics } from "../queue/index.ts";

/** The `result` label of `controller_runtime_reconcile_total`. */
export type ReconcileResult = "success" | "error" | "requeue" | "requeue_after";

const RECONCILE_RESULTS: readonly ReconcileResult[] = [
  "success",
  "error",
  "requeue",
  "requeue_after",
];

// controller-runtime's reconcile-time buckets: fine below a second, where
// healthy reconciles land, coarse up to a minute.
const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
  1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

// client-go's workqueue buckets: 10 ns to 1000 s, one per decade.
const WORKQUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000];

export interface ReconcileOutcome {
  result: ReconcileResult;
  /** How long the reconcile call took. */
  seconds: number;
  /** The error was terminal (not retried); only meaningful when `result` is "error". */
  terminal?: boolean;
}

/** Metrics of one controller, labelled `controller=<name>`. */
export interface ControllerMetrics {
  /** Records one finished reconcile: its result, its duration, and its error if any. */
  reconciled(outcome: ReconcileOutcome): void;
  /** Sets `controller_runtime_max_concurrent_reconciles`. */
  setMaxConcurrentReconciles(count: number): void;
  /** A worker started a reconcile (`controller_runtime_active_workers` + 1). */
  workerStarted(): void;
  /** A worker finished a reconcile (`controller_runtime_active_workers` - 1). */
  workerFinished(): void;
}

export interface LeaderElectionMetrics {
  /** Sets `leader_election_master_status{name}` to 1 when leading, 0 otherwise. */
  setLeader(leading: boolean): void;
}

export interface MetricsRegistryOptions {
  /**
   * Also export the process and Node.js runtime metrics of prom-client.
   * @default true
   */
  defaultMetrics?: boolean;
}

/**
 * One Prometheus registry for one manager. Create it once per process (or per
 * test): series are kept per instance, not in prom-client's global registry.
 */
export class MetricsRegistry {
  readonly registry = new Registry();

  readonly #reconcileTotal: Counter<"controller" | "result">;
  readonly #reconcileErrors: Counter<"controller">;
  readonly #terminalErrors: Counter<"controller">;
  readonly #reconcileTime: Histogram<"controller">;
  readonly #maxConcurrent: Gauge<"controller">;
  readonly #activeWorkers: Gauge<"controller">;
  readonly #depth: Gauge<"name" | "controller">;
  readonly #adds: Counter<"name" | "controller">;
  readonly #queueLatency: Histogram<"name" | "controller">;
  readonly #workDuration: Histogram<"name" | "controller">;
  readonly #retries: Counter<"name" | "controller">;
  readonly #leader: Gauge<"name">;
  readonly #inFlightProbes = new Map<string, { labels: QueueLabels; probe: () => InFlightWork }>();
  readonly #controllers = new Map<string, ControllerMetrics>();

  constructor(options: MetricsRegistryOptions = {}) {
    const registers = [this.registry];
    this.#reconcileTotal = new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller",
      labelNames: ["controller", "result"],
      registers,
    });
    this.#reconcileErrors = new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: ["controller"],
      registers,
    });
    this.#terminalErrors = new Counter({
      name: "controller_runtime_terminal_reconcile_errors_total",
      help: "Total number of terminal reconciliation errors per controller",
      labelNames: ["controller"],
      registers,
    });
    this.#reconcileTime = new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"],
      buckets: RECONCILE_TIME_BUCKETS,
      registers,
    });
    this.#maxConcurrent = new Gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Maximum number of concurrent reconciles per controller",
      labelNames: ["controller"],
      registers,
    });
    this.#activeWorkers = new Gauge({
      name: "controller_runtime_active_workers",
      help: "Number of currently used workers per controller",
      labelNames: ["controller"],
      registers,
    });
    const queueLabels = ["name", "controller"] as const;
    this.#depth = new Gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames: queueLabels,
      registers,
    });
    this.#adds = new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames: queueLabels,
      registers,
    });
    this.#queueLatency = new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in workqueue before being requested",
      labelNames: queueLabels,
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.#workDuration = new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from workqueue takes.",
      labelNames: queueLabels,
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.#retries = new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames: queueLabels,
      registers,
    });
    const probes = this.#inFlightProbes;
    // In-flight time grows between events, so these two are computed when scraped.
    new Gauge({
      name: "workqueue_unfinished_work_seconds",
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed " +
        "by work_duration. Large values indicate stuck workers.",
      labelNames: queueLabels,
      registers,
      collect() {
        for (const { labels, probe } of probes.values())
          this.set(labels, probe().unfinishedSeconds);
      },
    });
    new Gauge({
      name: "workqueue_longest_running_processor_seconds",
      help: "How many seconds has the longest running processor for workqueue been running.",
      labelNames: queueLabels,
      registers,
      collect() {
        for (const { labels, probe } of probes.values()) {
          this.set(labels, probe().longestRunningSeconds);
        }
      },
    });
    this.#leader = new Gauge({
      name: "leader_election_master_status",
      help:
        "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, " +
        "1 indicates master. 'name' is the string used to identify the lease.",
      labelNames: ["name"],
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The `Content-Type` of `render()`'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * The metrics of controller `name`. Its counters start at zero for every
   * result, as in controller-runtime, so rate() and absent() work before the
   * first reconcile.
   */
  controller(name: string): ControllerMetrics {
    const existing = this.#controllers.get(name);
    if (existing) return existing;
    const labels = { controller: name };
    for (const result of RECONCILE_RESULTS) this.#reconcileTotal.inc({ ...labels, result }, 0);
    this.#reconcileErrors.inc(labels, 0);
    this.#terminalErrors.inc(labels, 0);
    this.#activeWorkers.set(labels, 0);
    this.#reconcileTime.zero(labels);
    const metrics: ControllerMetrics = {
      reconciled: ({ result, seconds, terminal }) => {
        this.#reconcileTotal.inc({ ...labels, result });
        this.#reconcileTime.observe(labels, seconds);
        if (result !== "error") return;
        this.#reconcileErrors.inc(labels);
        if (terminal) this.#terminalErrors.inc(labels);
      },
      setMaxConcurrentReconciles: (count) => this.#maxConcurrent.set(labels, count),
      workerStarted: () => this.#activeWorkers.inc(labels),
      workerFinished: () => this.#activeWorkers.dec(labels),
    };
    this.#controllers.set(name, metrics);
    return metrics;
  }

  /**
   * Hooks for a `WorkQueue` that feed the `workqueue_*` series. controller-runtime
   * names a controller's queue after the controller, hence the default.
   */
  workQueue(name: string, controller: string = name): QueueMetrics {
    const labels: QueueLabels = { name, controller };
    this.#depth.set(labels, 0);
    this.#adds.inc(labels, 0);
    this.#retries.inc(labels, 0);
    this.#queueLatency.zero(labels);
    this.#workDuration.zero(labels);
    const probes = this.#inFlightProbes;
    return {
      observeInFlight(probe) {
        probes.set(JSON.stringify([name, controller]), { labels, probe });
      },
      depth: (count) => this.#depth.set(labels, count),
      added: () => this.#adds.inc(labels),
      queueLatency: (seconds) => this.#queueLatency.observe(labels, seconds),
      workDuration: (seconds) => this.#workDuration.observe(labels, seconds),
      retried: () => this.#retries.inc(labels),
    };
  }

  /** The leader-election gauge of lease `name`; starts at 0 (not leading). */
  leaderElection(name: string): LeaderElectionMetrics {
    this.#leader.set({ name }, 0);
    return { setLeader: (leading) => this.#leader.set({ name }, leading ? 1 : 0) };
  }
}

interface QueueLabels {
  name: string;
  controller: string;
}
