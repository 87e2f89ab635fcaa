/**
 * The Manager runs an operator process: its controllers, the HTTP endpoints
 * Kubernetes and Prometheus talk to, leader election and shutdown.
 *
 * The controllers share one informer per kind and scope (`SharedInformers`):
 * several operators in one process that all own Pods watch Pods once. The
 * set is made afresh for each leadership term.
 *
 * Shutdown order (SIGTERM from a rollout, or the caller's signal):
 * 1. Controllers stop taking keys; in-flight reconciles finish (each
 *    controller's `drainTimeoutMs`, then their signals are aborted). Then
 *    the shared informers stop: a draining reconcile still reads the cache.
 * 2. Only then is the lease released, so the next leader never reconciles
 *    an object this process is still writing.
 * 3. Event recorders flush; the HTTP servers close last, so probes keep
 *    answering until the very end.
 *
 * Leadership lost (the lease could not be renewed): every controller is
 * stopped at once, in-flight reconciles aborted rather than drained, because
 * another replica already owns the objects. The manager then campaigns
 * again; a controller restarted on a new term lists everything afresh.
 */

import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { SharedInformers } from "../cache/shared-informers.ts";
import type { KubeClient } from "../client/client.ts";
import type { RunOptions } from "../controller/controller.ts";
import { EventRecorder, type EventRecorderOptions } from "../events/recorder.ts";
import type { LeaderCallbacks } from "../leader/elector.ts";
import { createLogger, withFields } from "../log/logger.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import type { Logger } from "../reconcile/reconciler.ts";
import { systemClock } from "../time/clock.ts";
import { sleep } from "../time/sleep.ts";
import { createLeaseElector } from "./_lease.ts";
import type { Elector } from "./elector.ts";
import { type Check, close, type Endpoints, portOf, serve } from "./health.ts";

export interface ManagerLeaderElection {
  /** The Lease object's name; one per operator, shared by its replicas. */
  leaseName: string;
  /** Where the Lease lives, usually the operator's own namespace. */
  namespace: string;
  /** This replica's name in the lease. @default `${hostname}_${random uuid}` */
  identity?: string;
  /** @default 15_000 */
  leaseDurationMs?: number;
  /** @default 10_000 */
  renewDeadlineMs?: number;
  /** @default 2_000 */
  retryPeriodMs?: number;
  /** Use this elector instead of a Lease-based one (tests, other lock kinds). */
  elector?: Elector;
}

export interface ManagerOptions {
  client: KubeClient;
  /**
   * Serves `/metrics` on this port; 0 picks a free one, `false` serves none.
   * @default 8080
   */
  metricsPort?: number | false;
  /**
   * Serves `/healthz` and `/readyz` on this port (may equal `metricsPort`).
   * @default 8081
   */
  healthPort?: number | false;
  /** @default "0.0.0.0" (probes come from the kubelet, scrapes from Prometheus) */
  host?: string;
  /** @default false: every replica runs the controllers */
  leaderElection?: ManagerLeaderElection | false;
  /** @default a JSON logger on stderr (level from $BALLAST_LOG_LEVEL) */
  logger?: Logger;
  /** @default a new registry with the process metrics */
  metrics?: MetricsRegistry;
}

/**
 * What the manager runs: a `Controller` of any kind, or anything else that
 * runs until its signal aborts and can tell whether it is ready. The run
 * options carry the manager's shared informers, for anything that reads the
 * cache too.
 */
export interface Runnable {
  readonly name: string;
  run(signal: AbortSignal, options: RunOptions): Promise<void>;
  /** True once it can do its work (a controller: caches synced). */
  hasSynced(): boolean;
}

/** Thrown by `start` when it is misused or a controller fails. */
export class ManagerError extends Error {
  override name = "ManagerError";
}

export class Manager {
  readonly client: KubeClient;
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  readonly #options: ManagerOptions;
  readonly #controllers: Runnable[] = [];
  readonly #recorders: EventRecorder[] = [];
  readonly #healthz = new Map<string, Check>();
  readonly #readyz = new Map<string, Check>();
  readonly #servers = new Map<"metrics" | "health", Server>();
  #started = false;
  #running = false;
  #leading = false;

  constructor(options: ManagerOptions) {
    this.#options = options;
    this.client = options.client;
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.log = options.logger ?? createLogger();
    this.#healthz.set("ping", () => undefined);
    this.#readyz.set("controllers", () => this.#controllersReady());
  }

  /** Adds a controller; it runs from `start` (while leading, with leader election). */
  add(controller: Runnable): this {
    if (this.#started) throw new ManagerError("add controllers before start()");
    if (this.#controllers.some((c) => c.name === controller.name)) {
      throw new ManagerError(
        `a controller named ${JSON.stringify(controller.name)} was already added`,
      );
    }
    this.#controllers.push(controller);
    return this;
  }

  /** Adds a named liveness check to `/healthz`. */
  addHealthCheck(name: string, check: Check): this {
    this.#healthz.set(name, check);
    return this;
  }

  /** Adds a named readiness check to `/readyz`. */
  addReadyCheck(name: string, check: Check): this {
    this.#readyz.set(name, check);
    return this;
  }

  /** An event recorder, flushed and closed on shutdown. */
  eventRecorder(options: EventRecorderOptions): EventRecorder {
    const recorder = new EventRecorder(this.client, { log: this.log, ...options });
    this.#recorders.push(recorder);
    return recorder;
  }

  /** The port `/metrics` listens on, once `start` has bound it. */
  get metricsPort(): number | undefined {
    const server = this.#servers.get("metrics");
    return server ? portOf(server) : undefined;
  }

  /** The port `/healthz` and `/readyz` listen on, once `start` has bound it. */
  get healthPort(): number | undefined {
    const server = this.#servers.get("health") ?? this.#servers.get("metrics");
    return this.#options.healthPort === false || !server ? undefined : portOf(server);
  }

  /** True while this replica runs the controllers (always, without leader election). */
  get leading(): boolean {
    return this.#leading;
  }

  /**
   * A signal aborted by the first SIGTERM or SIGINT; a second one exits at
   * once (for a human pressing Ctrl-C twice at a stuck drain).
   */
  handleSignals(signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): AbortSignal {
    const shutdown = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (shutdown.signal.aborted) {
        this.log.warn("second signal: exiting without finishing the shutdown", { signal });
        process.exit(1);
      }
      this.log.info("shutting down", { signal });
      shutdown.abort(new Error(`received ${signal}`));
    };
    for (const signal of signals) process.on(signal, onSignal);
    return shutdown.signal;
  }

  /** Runs everything until `signal` aborts, then shuts down in order; rejects if a controller fails. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new ManagerError("start() was already called");
    this.#started = true;
    await this.#listen();
    this.#running = true;
    try {
      const election = this.#options.leaderElection;
      if (election) await this.#runElected(signal, election);
      else {
        this.#leading = true;
        await this.#runControllers(signal, undefined);
      }
    } finally {
      this.#running = false;
      this.#leading = false;
      await Promise.all(this.#recorders.map((r) => r.close().catch(() => {})));
      await Promise.all([...this.#servers.values()].map(close));
      this.log.info("manager stopped");
    }
  }

  async #listen(): Promise<void> {
    const { metricsPort = 8080, healthPort = 8081, host = "0.0.0.0" } = this.#options;
    const metrics: Endpoints["metrics"] = this.metrics;
    const health = { healthz: this.#healthz, readyz: this.#readyz };
    if (metricsPort !== false && metricsPort === healthPort && metricsPort !== 0) {
      this.#servers.set("metrics", await serve(metricsPort, host, { metrics, ...health }));
    } else {
      if (metricsPort !== false)
        this.#servers.set("metrics", await serve(metricsPort, host, { metrics }));
      if (healthPort !== false) this.#servers.set("health", await serve(healthPort, host, health));
    }
    this.log.info("serving", { metricsPort: this.metricsPort, healthPort: this.healthPort });
  }

  #controllersReady(): string | undefined {
    if (!this.#running) return "the manager is not running";
    // A follower is ready: it serves probes and waits, and marking it unready
    // would only make a rollout wait for a lease it cannot get.
    if (this.#options.leaderElection && !this.#leading) return undefined;
    const unsynced = this.#controllers.filter((c) => !c.hasSynced()).map((c) => c.name);
    return unsynced.length === 0 ? undefined : `caches not synced: ${unsynced.join(", ")}`;
  }

  /**
   * Runs every controller on one set of shared informers, stopped once every
   * controller has; the first failure stops the others and is rethrown.
   */
  async #runControllers(stop: AbortSignal, abortInFlight: AbortSignal | undefined): Promise<void> {
    const failed = new AbortController();
    const all = AbortSignal.any([stop, failed.signal]);
    const informers = new SharedInformers(this.client, { logger: this.log });
    let failure: unknown;
    try {
      await Promise.all(
        this.#controllers.map((controller) =>
          controller
            .run(all, {
              metrics: this.metrics,
              logger: this.log,
              informers,
              ...(abortInFlight ? { abortInFlight } : {}),
            })
            .catch((error: unknown) => {
              this.log.error("controller failed; stopping the others", {
                controller: controller.name,
                error,
              });
              failure ??= error;
              failed.abort(error);
            }),
        ),
      );
    } finally {
      await informers.stop();
    }
    if (failure !== undefined) {
      throw new ManagerError(`controller failed: ${(failure as Error).message ?? failure}`, {
        cause: failure,
      });
    }
  }

  async #runElected(signal: AbortSignal, options: ManagerLeaderElection): Promise<void> {
    const identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    const log = withFields(this.log, {
      lease: `${options.namespace}/${options.leaseName}`,
      identity,
    });
    const elector =
      options.elector ?? createLeaseElector(this.client, { ...options, identity }, log);
    const leaderMetric = this.metrics.leaderElection(options.leaseName);
    const electorStop = new AbortController();
    let term: Promise<void> | undefined;
    let failure: unknown;

    const callbacks: LeaderCallbacks = {
      onStartedLeading: (leadership) => {
        log.info("started leading");
        this.#leading = true;
        leaderMetric.setLeader(true);
        const lost = new AbortController();
        leadership.addEventListener("abort", () => lost.abort(leadership.reason), {
          once: true,
        });
        term = this.#runControllers(AbortSignal.any([signal, leadership]), lost.signal)
          .catch((error: unknown) => {
            failure ??= error;
            electorStop.abort(error);
          })
          .finally(() => {
            this.#leading = false;
          });
        // The elector releases the lease only after this settles.
        return term;
      },
      onStoppedLeading: () => {
        log.info("stopped leading");
        this.#leading = false;
        leaderMetric.setLeader(false);
      },
      onNewLeader: (leader) => log.info("new leader", { leader }),
    };

    // The lease is released only after the controllers have drained.
    const onShutdown = () => {
      void Promise.resolve(term).finally(() => electorStop.abort(signal.reason));
    };
    if (signal.aborted) onShutdown();
    else signal.addEventListener("abort", onShutdown, { once: true });

    try {
      while (!electorStop.signal.aborted) {
        try {
          await elector.run(callbacks, electorStop.signal);
        } catch (error) {
          if (!electorStop.signal.aborted) log.error("leader election failed", { error });
        }
        // A lost term: its controllers must be stopped before campaigning again.
        await term;
        term = undefined;
        if (!electorStop.signal.aborted) {
          await sleep(systemClock, options.retryPeriodMs ?? 2_000, electorStop.signal).catch(
            () => {},
          );
        }
      }
      await term;
    } finally {
      signal.removeEventListener("abort", onShutdown);
      leaderMetric.setLeader(false);
    }
    if (failure !== undefined) throw failure;
  }
}
