/**
 * The controller engine: informers feed keys into a work queue, and workers
 * hand each key to the reconciler, one call per key at a time.
 *
 * Lifecycle of `run(signal)`:
 * 1. Take an informer per watched kind (primary, owned, watched) from the
 *    manager's `SharedInformers`, or from a private set when run alone, and
 *    add this controller's handlers: each event becomes a key in the queue.
 * 2. Wait until every cache has synced, so the first reconciles see the
 *    whole world and do not mistake "not listed yet" for "absent".
 * 3. Start `maxConcurrentReconciles` workers (and the resync timer).
 * 4. When `signal` aborts: the queue stops handing out keys, in-flight
 *    reconciles get `drainTimeoutMs` to finish, then their `ctx.signal` is
 *    aborted; `run` resolves once no reconcile is running, its handlers are
 *    removed and (a private set) the informers have stopped. Shared
 *    informers outlive the run: the manager stops them after every
 *    controller. Aborting `abortInFlight` skips the drain (a lost lease:
 *    another replica is about to reconcile the same objects).
 *
 * Informers belong to a run, not to the controller: the manager makes a new
 * set per leadership term, and a private set is made per run, because a
 * controller stopped (lost leadership) and started again must list
 * everything afresh, and the initial list enqueues every object, which is
 * what a new leader owes them. A handler added to an informer that has
 * already synced is first given every cached object, so a controller that
 * joins a running shared informer enqueues everything too.
 */

import type { EventHandlers, Informer } from "../cache/informer.ts";
import { type InformerScope, SharedInformers } from "../cache/shared-informers.ts";
import { ownerIndex } from "../cache/store.ts";
import type { KubeClient } from "../client/client.ts";
import { objectKey as cacheKey, type KubeObject, type ResourceType } from "../client/types.ts";
import { createLogger, withFields } from "../log/logger.ts";
import { MetricsRegistry, type ReconcileResult } from "../metrics/registry.ts";
import type { RateLimiter } from "../queue/rate-limiter.ts";
import { WorkQueue } from "../queue/work-queue.ts";
import type { Action } from "../reconcile/action.ts";
import { type ObjectRef, objectKey, parseObjectKey } from "../reconcile/object-ref.ts";
import {
  defaultErrorPolicy,
  type ErrorPolicy,
  type Logger,
  type ReconcileContext,
} from "../reconcile/reconciler.ts";
import { isTerminalError } from "../reconcile/terminal-error.ts";
import type { Clock } from "../time/clock.ts";
import { controllerOwnerKey, keysOf, refersTo } from "./_mapping.ts";
import { allOf, type Predicate } from "./predicate.ts";

/** What a controller's reconciler receives besides the object's name. */
export interface ControllerContext<T extends KubeObject = KubeObject> extends ReconcileContext {
  /**
   * The object named by the request as the cache held it when the reconcile
   * started; `undefined` once it is deleted. May lag the API server by a
   * watch event: writes guarded by resourceVersion or made with server-side
   * apply stay correct anyway.
   */
  readonly object: T | undefined;
  /** The controller's client, for writes and for reads the cache cannot serve. */
  readonly client: KubeClient;
  /**
   * Objects of an `owns()` kind that this object controls, from the cache.
   * Empty when the object is gone. Throws for a kind the controller does not watch.
   */
  owned<U extends KubeObject = KubeObject>(type: ResourceType): U[];
}

/** A reconciler written for a controller: `(ref, ctx) => Promise<Action>`. */
export type ControllerReconciler<T extends KubeObject = KubeObject> = (
  ref: ObjectRef,
  ctx: ControllerContext<T>,
) => Promise<Action>;

export interface ControllerOptions {
  /**
   * Names the controller in metrics (`controller` label) and logs.
   * @default the primary kind, lower-cased
   */
  name?: string;
  /**
   * How many keys are reconciled at once (never the same key twice).
   * @default 1
   */
  maxConcurrentReconciles?: number;
  /**
   * Re-enqueues every primary object this often, to repair drift nothing
   * announced (a write lost while the controller was down). 0 turns it off.
   * @default 0
   */
  resyncPeriodMs?: number;
  /** Watch one namespace only (primary and owned kinds). @default all namespaces */
  namespace?: string;
  /** Reconcile only primary objects matching this label selector. */
  labelSelector?: string;
  /**
   * On shutdown, how long in-flight reconciles may run before their signal is aborted.
   * @default 30_000
   */
  drainTimeoutMs?: number;
  /** @default defaultErrorPolicy (no retry for TerminalError, back-off otherwise) */
  errorPolicy?: ErrorPolicy;
  /** Per-key back-off of failed reconciles. @default the work queue's (5 ms doubling to 1000 s) */
  rateLimiter?: RateLimiter<string>;
  /** The queue's clock (tests). @default systemClock */
  clock?: Clock;
  /**
   * Where the controller logs when `run` is not given a logger.
   * @default a JSON logger on stderr
   */
  logger?: Logger;
}

/** A kind watched to find primary objects to reconcile. */
export interface Source {
  readonly type: ResourceType;
  /** The primary keys an event on `object` concerns. */
  readonly map: (object: KubeObject) => Iterable<ObjectRef>;
  /** @default the controller's namespace */
  readonly namespace?: string | undefined;
  readonly labelSelector?: string | undefined;
}

/** Everything a controller is made of; `controller()` builds one, `new Controller()` takes one. */
export interface ControllerSpec<T extends KubeObject = KubeObject> {
  client: KubeClient;
  primary: ResourceType;
  /** Kinds whose objects carry a controller owner reference to a primary object. */
  owns?: readonly ResourceType[];
  /** Other kinds, with their own mapping to primary keys. */
  watches?: readonly Source[];
  /** Filters primary events (not resyncs, not owned or watched events). */
  predicates?: readonly Predicate<T>[];
  options?: ControllerOptions;
  reconcile: ControllerReconciler<T>;
}

export interface RunOptions {
  /** Where reconcile metrics go. @default a registry of the controller's own */
  metrics?: MetricsRegistry;
  /** @default the controller's `logger` option */
  logger?: Logger;
  /** Aborting it aborts in-flight reconciles at once, skipping the drain. */
  abortInFlight?: AbortSignal;
  /**
   * Informers shared with other controllers (the manager's); they must keep
   * running until `run` returns.
   * @default a private set, stopped when `run` returns
   */
  informers?: SharedInformers;
}

/** Read-only access to the objects of one kind the controller watches. */
export interface CacheReader<T extends KubeObject = KubeObject> {
  get(ref: ObjectRef | string): T | undefined;
  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[];
}

/** Thrown by `run` when it cannot start or an informer fails. */
export class ControllerError extends Error {
  override name = "ControllerError";
  readonly controller: string;
  constructor(controller: string, message: string, options?: { cause?: unknown }) {
    super(`controller ${controller}: ${message}`, options);
    this.controller = controller;
  }
}

interface Running<T extends KubeObject> {
  readonly queue: WorkQueue<string>;
  readonly primary: Informer<T>;
  readonly informers: ReadonlyMap<string, Informer>;
}

const typeId = (type: ResourceType) => `${type.apiVersion}/${type.kind}`;

export class Controller<T extends KubeObject = KubeObject> {
  readonly name: string;
  readonly primary: ResourceType;
  readonly client: KubeClient;
  readonly #spec: ControllerSpec<T>;
  readonly #options: ControllerOptions;
  readonly #concurrency: number;
  #ownMetrics: MetricsRegistry | undefined;
  #running: Running<T> | undefined;
  #synced = false;
  #active = false;

  constructor(spec: ControllerSpec<T>) {
    this.#spec = spec;
    this.#options = spec.options ?? {};
    this.client = spec.client;
    this.primary = spec.primary;
    this.name = this.#options.name ?? spec.primary.kind.toLowerCase();
    const n = this.#options.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `controller ${this.name}: maxConcurrentReconciles must be an integer >= 1, got ${n}`,
      );
    }
    this.#concurrency = n;
    const seen = new Set<string>([typeId(spec.primary)]);
    for (const type of [...(spec.owns ?? []), ...(spec.watches ?? []).map((s) => s.type)]) {
      if (seen.has(typeId(type))) {
        throw new ControllerError(this.name, `${type.apiVersion} ${type.kind} is watched twice`);
      }
      seen.add(typeId(type));
    }
  }

  /** True while running with every cache synced (what `/readyz` reports). */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** The primary objects, as the running controller's cache holds them (empty when stopped). */
  get cache(): CacheReader<T> {
    return this.informer<T>(this.primary);
  }

  /** The cache of any kind this controller watches. */
  informer<U extends KubeObject = KubeObject>(type: ResourceType): CacheReader<U> {
    return {
      get: (ref) => {
        const informer = this.#informerOf(type) as Informer<U> | undefined;
        return informer?.get(typeof ref === "string" ? ref : objectKey(ref));
      },
      list: (namespace) =>
        (this.#informerOf(type) as Informer<U> | undefined)?.list(namespace) ?? [],
    };
  }

  /** Queues a reconcile of `ref` (ignored while stopped). */
  enqueue(ref: ObjectRef): void {
    this.#running?.queue.add(objectKey(ref));
  }

  /** Queues every cached primary object, as the periodic resync does. */
  resync(): void {
    const running = this.#running;
    if (!running) return;
    for (const object of running.primary.list()) running.queue.add(cacheKey(object.metadata));
  }

  /** Runs until `signal` aborts (see the module comment for the shutdown order). */
  async run(signal: AbortSignal, options: RunOptions = {}): Promise<void> {
    if (this.#active) throw new ControllerError(this.name, "is already running");
    if (signal.aborted) return;
    this.#active = true;
    try {
      await this.#run(signal, options);
    } finally {
      this.#active = false;
    }
  }

  async #run(signal: AbortSignal, options: RunOptions): Promise<void> {
    const metricsRegistry = options.metrics ?? this.#defaultMetrics();
    const metrics = metricsRegistry.controller(this.name);
    metrics.setMaxConcurrentReconciles(this.#concurrency);
    const log = withFields(options.logger ?? this.#options.logger ?? createLogger(), {
      controller: this.name,
    });
    const queue = new WorkQueue<string>({
      metrics: metricsRegistry.workQueue(this.name),
      ...(this.#options.rateLimiter ? { rateLimiter: this.#options.rateLimiter } : {}),
      ...(this.#options.clock ? { clock: this.#options.clock } : {}),
    });
    let ownerNamespaced: boolean;
    try {
      ownerNamespaced = (await this.client.mapper.resolve(this.primary)).namespaced;
    } catch (error) {
      throw new ControllerError(this.name, `cannot resolve ${typeId(this.primary)}`, {
        cause: error,
      });
    }
    const shared = options.informers;
    const cache = shared ?? new SharedInformers(this.client, { logger: log });
    const { informers, unsubscribe } = this.#subscribe(cache, queue, ownerNamespaced, log);
    const primary = informers.get(typeId(this.primary)) as unknown as Informer<T>;
    this.#running = { queue, primary, informers };

    const halt = new AbortController();
    let failure: unknown;
    for (const informer of informers.values()) {
      cache.done(informer).catch((error: unknown) => {
        failure ??= new ControllerError(this.name, `the ${informer.type.kind} informer failed`, {
          cause: error,
        });
        halt.abort(failure);
      });
    }
    const stop = AbortSignal.any([signal, halt.signal]);
    try {
      await this.#waitForSync(informers, stop);
      if (!stop.aborted) {
        this.#synced = true;
        log.info("caches synced, starting workers", { workers: this.#concurrency });
        await this.#work(queue, stop, options.abortInFlight, { metrics, log });
      }
    } finally {
      // Informers stop after the workers, so a draining reconcile still reads a live cache.
      this.#synced = false;
      for (const off of unsubscribe) off();
      queue.shutdown();
      if (!shared) await cache.stop();
      this.#running = undefined;
      log.info("controller stopped");
    }
    if (failure !== undefined) throw failure;
  }

  #defaultMetrics(): MetricsRegistry {
    this.#ownMetrics ??= new MetricsRegistry({ defaultMetrics: false });
    return this.#ownMetrics;
  }

  #informerOf(type: ResourceType): Informer | undefined {
    return this.#running?.informers.get(typeId(type));
  }

  /** Adds this run's handlers to the informers of every watched kind; returns them and how to remove the handlers. */
  #subscribe(
    cache: SharedInformers,
    queue: WorkQueue<string>,
    ownerNamespaced: boolean,
    log: Logger,
  ): { informers: Map<string, Informer>; unsubscribe: (() => void)[] } {
    const { namespace, labelSelector } = this.#options;
    const informers = new Map<string, Informer>();
    const unsubscribe: (() => void)[] = [];
    const subscribe = <U extends KubeObject>(
      type: ResourceType,
      scope: InformerScope,
      handlers: Required<EventHandlers<U>>,
    ) => {
      const informer = cache.informer<U>(type, scope);
      unsubscribe.push(informer.addEventHandler(guarded(handlers, type.kind, log)));
      informers.set(typeId(type), informer as unknown as Informer);
    };

    const filter = allOf(this.#spec.predicates ?? []);
    const enqueue = (object: KubeObject) => queue.add(cacheKey(object.metadata));
    subscribe<T>(
      this.primary,
      { namespace, labelSelector },
      {
        onAdd: (object) => filter.create(object) && enqueue(object),
        onUpdate: (previous, current) => filter.update(previous, current) && enqueue(current),
        // A deletion always reaches the reconciler: it may have cleanup to do
        // (or, with a finalizer, it saw the deletionTimestamp update first).
        onDelete: (object) => filter.delete(object) && enqueue(object),
      },
    );

    const owner = this.primary;
    const ownedSources: Source[] = (this.#spec.owns ?? []).map((type) => ({
      type,
      map: (object) => {
        const key = controllerOwnerKey(object, owner, ownerNamespaced);
        return key === undefined ? [] : [parseObjectKey(key)];
      },
    }));
    for (const source of [...ownedSources, ...(this.#spec.watches ?? [])]) {
      const enqueueMapped = (...objects: KubeObject[]) => {
        const keys = keysOf(objects.flatMap((object) => [...source.map(object)]));
        for (const key of keys) queue.add(key);
      };
      subscribe(
        source.type,
        {
          namespace: "namespace" in source ? source.namespace : namespace,
          labelSelector: source.labelSelector,
        },
        {
          onAdd: (object) => enqueueMapped(object),
          // Both sides: an owner reference may have moved from one owner to another.
          onUpdate: (previous, current) => enqueueMapped(previous, current),
          onDelete: (object) => enqueueMapped(object),
        },
      );
    }
    return { informers, unsubscribe };
  }

  async #waitForSync(informers: ReadonlyMap<string, Informer>, stop: AbortSignal): Promise<void> {
    try {
      await Promise.all([...informers.values()].map((informer) => informer.waitForSync(stop)));
    } catch (error) {
      if (stop.aborted) return;
      throw new ControllerError(this.name, "caches did not sync", { cause: error });
    }
  }

  async #work(
    queue: WorkQueue<string>,
    stop: AbortSignal,
    abortInFlight: AbortSignal | undefined,
    deps: WorkerDeps,
  ): Promise<void> {
    const inFlight = new AbortController();
    const hardStop = () => inFlight.abort(abortInFlight?.reason ?? new Error("controller stopped"));
    if (abortInFlight?.aborted) hardStop();
    abortInFlight?.addEventListener("abort", hardStop, { once: true });
    const resyncMs = this.#options.resyncPeriodMs ?? 0;
    const resync = resyncMs > 0 ? setInterval(() => this.resync(), resyncMs) : undefined;
    const workers = Array.from({ length: this.#concurrency }, () =>
      this.#worker(queue, inFlight.signal, deps),
    );
    try {
      await new Promise<void>((resolve) => {
        if (stop.aborted) return resolve();
        stop.addEventListener("abort", () => resolve(), { once: true });
      });
      if (resync) clearInterval(resync);
      const drained = queue.shutdownWithDrain();
      if (queue.processing > 0 && !inFlight.signal.aborted) {
        deps.log.info("draining in-flight reconciles", { inFlight: queue.processing });
        const timeoutMs = this.#options.drainTimeoutMs ?? 30_000;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
          inFlight.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        await Promise.race([drained, timedOut]);
        clearTimeout(timer);
        if (queue.processing > 0) {
          deps.log.warn("in-flight reconciles did not finish in time; aborting them", {
            inFlight: queue.processing,
            drainTimeoutMs: timeoutMs,
          });
          hardStop();
        }
      }
      await Promise.all(workers);
    } finally {
      if (resync) clearInterval(resync);
      abortInFlight?.removeEventListener("abort", hardStop);
    }
  }

  async #worker(queue: WorkQueue<string>, signal: AbortSignal, deps: WorkerDeps): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await this.#reconcileKey(key, queue, signal, deps);
      } finally {
        queue.done(key);
      }
    }
  }

  async #reconcileKey(
    key: string,
    queue: WorkQueue<string>,
    signal: AbortSignal,
    { metrics, log }: WorkerDeps,
  ): Promise<void> {
    const ref = parseObjectKey(key);
    const keyLog = withFields(log, { key });
    const running = this.#running;
    const object = running?.primary.get(key);
    const ctx: ControllerContext<T> = {
      signal,
      log: keyLog,
      object,
      client: this.client,
      owned: <U extends KubeObject>(type: ResourceType) => this.#owned<U>(type, object),
    };
    metrics.workerStarted();
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const action = await this.#spec.reconcile(ref, ctx);
      checkAction(action);
      queue.forget(key);
      let result: ReconcileResult = "success";
      if (action.kind === "requeueAfter") {
        queue.addAfter(key, action.afterMs);
        result = "requeue_after";
      }
      const took = seconds();
      metrics.reconciled({ result, seconds: took });
      keyLog.debug("reconciled", {
        result,
        durationMs: round(took * 1000),
        ...(action.kind === "requeueAfter" ? { requeueAfterMs: action.afterMs } : {}),
      });
    } catch (error) {
      const took = seconds();
      const terminal = isTerminalError(error);
      const retries = queue.retries(key);
      const next = this.#decide(error, ref, retries, keyLog);
      if (next === "backoff") queue.addRateLimited(key);
      else if (next.kind === "requeueAfter") queue.addAfter(key, next.afterMs);
      else queue.forget(key);
      metrics.reconciled({ result: "error", seconds: took, terminal });
      if (signal.aborted) {
        // Cut short by shutdown or a lost lease; the next leader reconciles it.
        keyLog.info("reconcile aborted", { durationMs: round(took * 1000) });
        return;
      }
      keyLog.error("reconcile failed", {
        error,
        terminal,
        retries,
        durationMs: round(took * 1000),
        next: next === "backoff" ? "backoff" : next.kind,
      });
    } finally {
      metrics.workerFinished();
    }
  }

  #decide(error: unknown, ref: ObjectRef, retries: number, log: Logger): Action | "backoff" {
    try {
      return (this.#options.errorPolicy ?? defaultErrorPolicy)(error, ref, retries);
    } catch (policyError) {
      log.error("the error policy threw; backing off", { error: policyError });
      return "backoff";
    }
  }

  #owned<U extends KubeObject>(type: ResourceType, owner: T | undefined): U[] {
    const informer = this.#informerOf(type);
    if (!informer || !(this.#spec.owns ?? []).some((t) => typeId(t) === typeId(type))) {
      throw new ControllerError(
        this.name,
        `does not own ${type.apiVersion} ${type.kind}; add .owns() for it`,
      );
    }
    const uid = owner?.metadata.uid;
    if (!uid) return [];
    return informer
      .byIndex(ownerIndex, uid)
      .filter((object) =>
        object.metadata.ownerReferences?.some(
          (r) => r.uid === uid && r.controller === true && refersTo(r, this.primary),
        ),
      ) as U[];
  }
}

interface WorkerDeps {
  metrics: ReturnType<MetricsRegistry["controller"]>;
  log: Logger;
}

function checkAction(action: unknown): asserts action is Action {
  const kind = (action as { kind?: unknown } | null | undefined)?.kind;
  if (kind !== "done" && kind !== "requeueAfter") {
    throw new TypeError(
      `a reconciler must return Action.done() or Action.requeueAfter(ms), got ${JSON.stringify(action)}`,
    );
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * Handlers that log their own failures under the controller's name (a
 * predicate or a `watches()` mapping threw): the log of a shared informer
 * could not say whose handler it was.
 */
function guarded<T extends KubeObject>(
  handlers: Required<EventHandlers<T>>,
  kind: string,
  log: Logger,
): EventHandlers<T> {
  const call = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      log.error("an event handler threw", { kind, error });
    }
  };
  return {
    onAdd: (object) => call(() => handlers.onAdd(object)),
    onUpdate: (previous, current) => call(() => handlers.onUpdate(previous, current)),
    onDelete: (object, info) => call(() => handlers.onDelete(object, info)),
  };
}
