/**
 * `LeaderElector`: at most one replica of an operator acts at a time,
 * decided through a coordination.k8s.io/v1 Lease.
 *
 * The safety argument, in the order things happen:
 *
 * 1. A candidate writes the Lease only through `decide()`, which refuses
 *    while another holder's lease is unexpired as measured on the
 *    candidate's own clock from when it first saw the holder's current
 *    record; and every write carries the resourceVersion it was decided
 *    from, so of two racing candidates one gets a 409.
 * 2. The leader counts its leadership from the moment it *sent* its last
 *    successful write, which is no later than the moment any other
 *    candidate can have seen that write. It believes it leads for
 *    `renewDeadline` from then; others wait `leaseDuration`, which is longer.
 * 3. So a leader that cannot renew stops (aborts the signal it gave
 *    `onStartedLeading`, calls `onStoppedLeading`) before any other
 *    candidate may take over. `isLeader()` is computed from the clock, not
 *    from a timer, so it turns false on time even if the event loop is late.
 *
 * The margin `leaseDuration - renewDeadline` absorbs the difference in clock
 * *rates* between replicas (not their offsets, which never matter) and the
 * time the leader's own work takes to notice the aborted signal.
 */

import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { KubeClient } from "../client/client.ts";
import { isConflict, isNotFound } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import type { Logger } from "../reconcile/reconciler.ts";
import { noopLogger } from "../reconcile/reconciler.ts";
import { type Clock, systemClock } from "../time/clock.ts";
import { sleep } from "../time/sleep.ts";
import {
  type Candidate,
  decide,
  type LeaseRecord,
  type Observation,
  observe,
  releasedRecord,
} from "./decide.ts";

const LeaseType = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

/** A Lease as stored; only `spec` is interpreted. */
export interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

/** Time as the elector sees it: the runtime's `Clock` (monotonic), plus the wall clock. */
export interface ElectionClock extends Clock {
  /** Epoch milliseconds: only written into the Lease, for humans and other tools. */
  wallNow(): number;
}

export const systemElectionClock: ElectionClock = { ...systemClock, wallNow: () => Date.now() };

/** Structurally a prom-client `Gauge<"name">`, e.g. `leader_election_master_status`. */
export interface LeaderGauge {
  set(labels: { name: string }, value: number): void;
}

export interface LeaderElectionOptions {
  /** The Lease's name, one per operator, e.g. `ballast-kafka-operator`. */
  leaseName: string;
  namespace: string;
  /** Unique per replica. @default `${hostname()}_${randomUUID()}` */
  identity?: string;
  /** How long others wait after the leader's last renewal before taking over. @default 15_000 */
  leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal. @default 10_000 */
  renewDeadlineMs?: number;
  /** Time between tries, to acquire and to renew. @default 2_000 */
  retryPeriodMs?: number;
  /**
   * On shutdown, once `onStartedLeading`'s work has settled, give the lease up
   * so a successor takes over at once instead of after `leaseDuration`.
   * @default true
   */
  releaseOnCancel?: boolean;
  /** Set to 1 while leading, 0 otherwise, labelled with the lease name. */
  gauge?: LeaderGauge;
  log?: Logger;
  clock?: ElectionClock;
}

export interface LeaderCallbacks {
  /**
   * Called once leadership is acquired. Do the leader's work until `signal`
   * aborts (leadership lost or shutdown); the returned promise, if any, tells
   * the elector when the work has stopped, which a release waits for.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership ends, right after `signal` aborts. */
  onStoppedLeading?(): void;
  /** Called when a new holder is seen (ourselves included). */
  onNewLeader?(identity: string): void;
}

/** The calls the elector makes; a `KubeClient` has them. */
export type LeaseClient = Pick<KubeClient, "get" | "create" | "replace">;

/** Options that cannot give the safety guarantee. */
export class LeaderElectionConfigError extends Error {
  override name = "LeaderElectionConfigError";
}

/** The reason an `onStartedLeading` signal carries when it aborts. */
export class LeadershipLostError extends Error {
  override name = "LeadershipLostError";
}

type AttemptResult = "leading" | "held" | "failed";

export class LeaderElector {
  readonly identity: string;
  readonly leaseName: string;
  readonly namespace: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #client: LeaseClient;
  readonly #clock: ElectionClock;
  readonly #log: Logger;
  readonly #gauge: LeaderGauge | undefined;
  readonly #releaseOnCancel: boolean;
  readonly #self: Candidate;
  #observation: Observation | undefined;
  /** The Lease as last written by us: the fast path renews from it without a GET. */
  #ours: LeaseObject | undefined;
  #leading = false;
  /** Monotonic ms until which we may believe we lead. */
  #leadingUntil = Number.NEGATIVE_INFINITY;
  #lastReportedLeader = "";
  #running = false;
  #onNewLeader: ((identity: string) => void) | undefined;

  constructor(client: LeaseClient, options: LeaderElectionOptions) {
    this.#client = client;
    this.leaseName = options.leaseName;
    this.namespace = options.namespace;
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    validate(this);
    this.#clock = options.clock ?? systemElectionClock;
    this.#log = options.log ?? noopLogger;
    this.#gauge = options.gauge;
    this.#releaseOnCancel = options.releaseOnCancel ?? true;
    this.#self = {
      identity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
    };
  }

  /** True while this replica holds the lease and its last renewal is less than `renewDeadline` old. */
  isLeader(): boolean {
    return this.#leading && this.#clock.now() < this.#leadingUntil;
  }

  /** The holder last seen on the Lease (`""` if none). */
  get leader(): string {
    return this.#lastReportedLeader;
  }

  /**
   * Campaigns until leadership is acquired, leads until it is lost or
   * `signal` aborts, then returns. A replica that lost leadership should
   * exit (or call `run` again) rather than keep state built while leading.
   */
  async run(callbacks: LeaderCallbacks, signal?: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`LeaderElector ${this.identity}: run() is already running`);
    this.#running = true;
    this.#onNewLeader = callbacks.onNewLeader?.bind(callbacks);
    this.#gauge?.set({ name: this.leaseName }, 0);
    try {
      if (await this.#acquire(signal)) await this.#lead(callbacks, signal);
    } finally {
      this.#running = false;
    }
  }

  async #acquire(signal: AbortSignal | undefined): Promise<boolean> {
    this.#log.info("leader election: campaigning", {
      lease: this.#leaseKey(),
      identity: this.identity,
    });
    while (!signal?.aborted) {
      if ((await this.#attempt(signal)) === "leading") return true;
      // Jitter keeps candidates that started together from colliding on every try.
      await pause(this.#clock, this.retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    return false;
  }

  async #lead(callbacks: LeaderCallbacks, signal: AbortSignal | undefined): Promise<void> {
    const leadership = new AbortController();
    let deadlineTimer: unknown;
    let stopped = false;
    const stop = (why: string) => {
      if (stopped) return;
      stopped = true;
      this.#leading = false;
      this.#leadingUntil = Number.NEGATIVE_INFINITY;
      this.#clock.clearTimeout(deadlineTimer);
      this.#gauge?.set({ name: this.leaseName }, 0);
      this.#log.info("leader election: stopped leading", {
        lease: this.#leaseKey(),
        identity: this.identity,
        why,
      });
      leadership.abort(
        new LeadershipLostError(`${this.identity} stopped leading ${this.#leaseKey()}: ${why}`),
      );
      try {
        callbacks.onStoppedLeading?.();
      } catch (error) {
        this.#log.error("leader election: onStoppedLeading threw", { error: String(error) });
      }
    };
    const armDeadline = () => {
      this.#clock.clearTimeout(deadlineTimer);
      deadlineTimer = this.#clock.setTimeout(
        () => {
          if (this.#clock.now() < this.#leadingUntil) {
            armDeadline();
            return;
          }
          stop(`no successful renewal within ${this.renewDeadlineMs} ms`);
        },
        Math.max(0, this.#leadingUntil - this.#clock.now()),
      );
    };

    this.#leading = true;
    armDeadline();
    this.#gauge?.set({ name: this.leaseName }, 1);
    this.#log.info("leader election: started leading", {
      lease: this.#leaseKey(),
      identity: this.identity,
    });
    const work = Promise.resolve()
      .then(() => callbacks.onStartedLeading(leadership.signal))
      .catch((error: unknown) => {
        this.#log.error("leader election: onStartedLeading failed", { error: String(error) });
      });

    const either = signal ? AbortSignal.any([signal, leadership.signal]) : leadership.signal;
    while (!stopped && !signal?.aborted) {
      await pause(this.#clock, this.retryPeriodMs, either);
      if (stopped || signal?.aborted) break;
      // The leadership signal aborts at the deadline, cutting a hung renewal short.
      const result = await this.#attempt(either);
      if (stopped) break;
      if (result === "leading") armDeadline();
      else if (result === "held") stop(`the lease is held by ${this.#lastReportedLeader}`);
    }
    const shuttingDown = !stopped;
    stop(shuttingDown ? "shutting down" : "lost");
    if (shuttingDown && this.#releaseOnCancel) await this.#releaseAfter(work);
  }

  /** One read-decide-write round. Never throws: failures are logged and retried. */
  async #attempt(outer: AbortSignal | undefined): Promise<AttemptResult> {
    const timeout = new AbortController();
    const timer = this.#clock.setTimeout(() => timeout.abort(), this.renewDeadlineMs);
    const signal = outer ? AbortSignal.any([outer, timeout.signal]) : timeout.signal;
    try {
      return await this.#tryAcquireOrRenew(signal);
    } catch (error) {
      // Whatever failed, our copy may be stale: read afresh next time.
      this.#ours = undefined;
      const fields = { lease: this.#leaseKey(), error: String(error) };
      if (isConflict(error)) this.#log.debug("leader election: lost a write race", fields);
      else this.#log.warn("leader election: lease update failed", fields);
      return "failed";
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<AttemptResult> {
    const key = { name: this.leaseName, namespace: this.namespace };
    let current: LeaseObject | undefined;
    if (this.#leading && this.#ours && this.#observation) {
      // Fast path: we wrote the last version ourselves; a 409 sends us back to reading.
      current = this.#ours;
    } else {
      try {
        current = await this.#client.get<LeaseObject>(LeaseType, key, { signal });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        current = undefined;
      }
      if (current)
        this.#observation = observe(this.#observation, recordOf(current), this.#clock.now());
    }
    if (current) this.#reportLeader(this.#observation?.record.holderIdentity ?? "");
    const decision = decide(
      current ? this.#observation : undefined,
      { monotonic: this.#clock.now(), wall: this.#clock.wallNow() },
      this.#self,
    );
    if (decision.kind === "wait") return "held";

    const sentAt = this.#clock.now();
    const body: LeaseObject = {
      ...LeaseType,
      metadata: current
        ? { ...current.metadata }
        : { name: this.leaseName, namespace: this.namespace },
      spec: toSpec(decision.record),
    };
    const written =
      decision.kind === "create"
        ? await this.#client.create<LeaseObject>(body, { signal })
        : await this.#client.replace<LeaseObject>(body, { signal });
    if (signal.aborted) return "failed";
    this.#ours = written;
    this.#observation = observe(this.#observation, recordOf(written), this.#clock.now());
    this.#leadingUntil = sentAt + this.renewDeadlineMs;
    this.#reportLeader(this.identity);
    if (decision.kind !== "write" || decision.acquiring) {
      this.#log.info("leader election: acquired the lease", {
        lease: this.#leaseKey(),
        identity: this.identity,
        transitions: decision.record.leaseTransitions,
      });
    }
    return "leading";
  }

  /**
   * Gives the lease up, but only after the leader's work has settled: until
   * then the lease is what keeps a successor from overlapping with it. If the
   * work does not settle within `renewDeadline`, the lease simply expires.
   */
  async #releaseAfter(work: Promise<void>): Promise<void> {
    let graceTimer: unknown;
    const settled = await Promise.race([
      work.then(() => true),
      new Promise<false>((resolve) => {
        graceTimer = this.#clock.setTimeout(() => resolve(false), this.renewDeadlineMs);
      }),
    ]);
    this.#clock.clearTimeout(graceTimer);
    this.#ours = undefined;
    if (!settled) {
      this.#log.warn("leader election: work did not stop in time; not releasing the lease");
      return;
    }
    const timeout = new AbortController();
    const timer = this.#clock.setTimeout(() => timeout.abort(), this.renewDeadlineMs);
    const signal = timeout.signal;
    try {
      // Read afresh: a renewal cut short by the shutdown may still have been stored.
      const current = await this.#client.get<LeaseObject>(
        LeaseType,
        { name: this.leaseName, namespace: this.namespace },
        { signal },
      );
      if (recordOf(current).holderIdentity !== this.identity) return;
      const record = releasedRecord(recordOf(current), this.#clock.wallNow());
      // Guarded by the resourceVersion just read: a 409 means someone else wrote, so it is not ours to release.
      await this.#client.replace<LeaseObject>({ ...current, spec: toSpec(record) }, { signal });
      this.#log.info("leader election: released the lease", {
        lease: this.#leaseKey(),
        identity: this.identity,
      });
    } catch (error) {
      this.#log.warn("leader election: release failed; the lease will expire", {
        error: String(error),
      });
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  #reportLeader(holder: string): void {
    if (holder === "" || holder === this.#lastReportedLeader) return;
    this.#lastReportedLeader = holder;
    this.#log.info("leader election: new leader", { lease: this.#leaseKey(), leader: holder });
    try {
      this.#onNewLeader?.(holder);
    } catch (error) {
      this.#log.error("leader election: onNewLeader threw", { error: String(error) });
    }
  }

  #leaseKey(): string {
    return `${this.namespace}/${this.leaseName}`;
  }
}

function validate(options: {
  leaseName: string;
  namespace: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}): void {
  const fail = (message: string) => {
    throw new LeaderElectionConfigError(`leader election: ${message}`);
  };
  if (!options.leaseName) fail("leaseName must not be empty");
  if (!options.namespace) fail("namespace must not be empty");
  if (!options.identity) fail("identity must not be empty");
  for (const name of ["leaseDurationMs", "renewDeadlineMs", "retryPeriodMs"] as const) {
    const value = options[name];
    if (!Number.isFinite(value) || value <= 0)
      fail(`${name} must be a positive number of milliseconds, got ${value}`);
  }
  if (options.leaseDurationMs <= options.renewDeadlineMs) {
    fail(
      `leaseDurationMs (${options.leaseDurationMs}) must be greater than renewDeadlineMs (${options.renewDeadlineMs}): ` +
        "a leader must stop before others may take over",
    );
  }
  if (options.renewDeadlineMs <= options.retryPeriodMs * 1.2) {
    fail(
      `renewDeadlineMs (${options.renewDeadlineMs}) must be greater than 1.2 × retryPeriodMs (${options.retryPeriodMs}): ` +
        "the leader needs room for at least one retry before its deadline",
    );
  }
}

function recordOf(lease: LeaseObject): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: spec.acquireTime ?? undefined,
    renewTime: spec.renewTime ?? undefined,
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

function toSpec(record: LeaseRecord): NonNullable<LeaseObject["spec"]> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime ? { acquireTime: record.acquireTime } : {}),
    ...(record.renewTime ? { renewTime: record.renewTime } : {}),
    leaseTransitions: record.leaseTransitions,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts: the loops check the signal themselves. */
function pause(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return sleep(clock, ms, signal).catch(() => {});
}
