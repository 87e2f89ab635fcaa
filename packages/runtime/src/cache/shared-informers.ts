/**
 * The informers of one process, shared: every controller of a Manager that
 * asks for a kind in a scope (namespace and label selector) gets the same
 * `Informer`, so five operators that all own Pods cost one Pod list, one
 * Pod watch and one copy of each Pod in memory, not five.
 *
 * Lifecycle: an informer starts on the first request for it and runs until
 * `stop()`. The manager makes one set per leadership term and stops it only
 * after its controllers have stopped, so a draining reconcile still reads a
 * live cache, and a new term lists everything afresh. A controller run
 * without a manager makes a private set for each run.
 *
 * Scopes match exactly: an all-namespaces informer does not serve a request
 * for one namespace, because the two need different permissions (an
 * operator confined to its namespace may not list cluster-wide).
 */
import type { KubeClient } from "../client/client.ts";
import type { KubeObject, ResourceType } from "../client/types.ts";
import { createLogger } from "../log/logger.ts";
import type { Logger } from "../reconcile/reconciler.ts";
import type { WatcherStatus } from "../watch/watcher.ts";
import { Informer } from "./informer.ts";

/** Which objects of a kind an informer holds. */
export interface InformerScope {
  /** @default all namespaces (or a cluster-scoped kind) */
  namespace?: string | undefined;
  /** @default every object */
  labelSelector?: string | undefined;
}

export interface SharedInformersOptions {
  /**
   * Where watch failures and handler errors of every informer are logged.
   * @default a JSON logger on stderr
   */
  logger?: Logger;
}

/** Thrown when an informer is asked of a set that was stopped. */
export class SharedInformersStoppedError extends Error {
  override name = "SharedInformersStoppedError";
  constructor(type: ResourceType) {
    super(
      `cannot start a ${type.apiVersion} ${type.kind} informer: the shared informers were stopped`,
    );
  }
}

export class SharedInformers {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #byScope = new Map<string, Informer>();
  readonly #runs = new Map<Informer, Promise<void>>();
  readonly #stop = new AbortController();

  constructor(client: KubeClient, options: SharedInformersOptions = {}) {
    this.#client = client;
    this.#log = options.logger ?? createLogger();
  }

  /** How many informers have been started. */
  get size(): number {
    return this.#byScope.size;
  }

  /**
   * The informer of `type` in `scope`: made and started on the first
   * request, the same object on every later one. Add handlers and indexes
   * to it; do not run it (it is running).
   */
  informer<T extends KubeObject = KubeObject>(
    type: ResourceType,
    scope: InformerScope = {},
  ): Informer<T> {
    if (this.#stop.signal.aborted) throw new SharedInformersStoppedError(type);
    const namespace = scope.namespace || undefined;
    const labelSelector = scope.labelSelector || undefined;
    const key = JSON.stringify([type.apiVersion, type.kind, namespace ?? "", labelSelector ?? ""]);
    let informer = this.#byScope.get(key);
    if (!informer) {
      const kind = { apiVersion: type.apiVersion, kind: type.kind };
      const fields = { kind: type.kind, ...(namespace === undefined ? {} : { namespace }) };
      informer = new Informer(this.#client, kind, {
        namespace,
        labelSelector,
        onHandlerError: (error) => this.#log.error("an event handler threw", { ...fields, error }),
        onStatus: (status) => this.#logStatus(status, fields),
      });
      const run = informer.run(this.#stop.signal);
      // Observed through done(); nobody may be asking.
      run.catch(() => {});
      this.#byScope.set(key, informer);
      this.#runs.set(informer, run);
    }
    return informer as unknown as Informer<T>;
  }

  /**
   * Settles when `informer` stops: resolves once `stop()` stopped it, rejects
   * with the reason if it failed (the kind does not exist, a handler broke
   * the watch). Every user of a shared informer should watch this.
   */
  done<T extends KubeObject>(informer: Informer<T>): Promise<void> {
    const run = this.#runs.get(informer as unknown as Informer);
    if (!run) throw new RangeError(`the ${informer.type.kind} informer is not one of these`);
    return run;
  }

  /** Stops every informer and resolves once all have stopped; no informer starts afterwards. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#runs.values());
  }

  #logStatus(status: WatcherStatus, fields: Record<string, unknown>): void {
    // Reconnects are routine (server timeouts); only failures deserve attention.
    if (status.state !== "disconnected" || status.reason === "closed") return;
    this.#log.warn("watch disconnected", {
      ...fields,
      reason: status.reason,
      retryInMs: status.retryInMs,
      ...(status.error === undefined ? {} : { error: status.error }),
    });
  }
}
