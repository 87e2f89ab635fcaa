/**
 * The informer: a watcher feeding a store, with event handlers on top. One
 * informer serves every controller that reads the same kind in the same
 * scope (`SharedInformers` hands it out), so handlers and indexes are added,
 * never assumed to be the only ones.
 *
 * Guarantees to handlers:
 * - `onUpdate` gets the previous and the new object, and is not called when
 *   the resourceVersion did not change (a relist that finds an object as it
 *   was is silent) — except on resync, which replays every object.
 * - `onDelete` gets the last state the cache knew. When the deletion was
 *   inferred from a relist (the watch was down when it happened),
 *   `finalStateUnknown` is true: the object may have changed before it went.
 * - Handlers run synchronously, in event order, after the store is updated,
 *   so a handler reading the cache sees the new state.
 *
 * Objects in the cache are shared: treat them as read-only.
 */
import type { KubeClient } from "../client/client.ts";
import type { KubeObject, ObjectKey, ResourceType } from "../client/types.ts";
import { objectKey } from "../client/types.ts";
import { Watcher, type WatcherEvent, type WatcherOptions } from "../watch/watcher.ts";
import { type IndexFunc, namespaceIndex, Store } from "./store.ts";

export interface EventHandlers<T extends KubeObject = KubeObject> {
  onAdd?(object: T): void;
  onUpdate?(previous: T, current: T): void;
  onDelete?(lastKnown: T, info: { finalStateUnknown: boolean }): void;
}

export interface InformerOptions<T extends KubeObject = KubeObject> extends WatcherOptions {
  /** Custom indexes by name, on top of the built-in `namespace` and `owner`. */
  indexers?: Record<string, IndexFunc<T>>;
  /** Replays every cached object to `onUpdate` this often; 0 turns it off. @default 0 */
  resyncPeriodMs?: number;
  /** A handler threw. @default logs to stderr */
  onHandlerError?: (error: unknown) => void;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly type: ResourceType;
  readonly watcher: Watcher<T>;
  readonly #store: Store<T>;
  readonly #handlers = new Set<EventHandlers<T>>();
  readonly #options: InformerOptions<T>;
  #synced = false;
  readonly #sync: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void };

  constructor(client: KubeClient, type: ResourceType, options: InformerOptions<T> = {}) {
    this.type = type;
    this.#options = options;
    this.watcher = new Watcher<T>(client, type, options);
    this.#store = new Store<T>(options.indexers);
    this.#sync = Promise.withResolvers<void>();
    // Nobody may be waiting; a failed run must not become an unhandled rejection.
    this.#sync.promise.catch(() => {});
  }

  /** Lists, watches and keeps the cache current until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const resync = this.#options.resyncPeriodMs ?? 0;
    const timer = resync > 0 ? setInterval(() => this.#resync(), resync) : undefined;
    try {
      await this.watcher.run((event) => this.#apply(event), signal);
      if (!this.#synced)
        this.#sync.reject(signal.reason ?? new Error("informer stopped before it synced"));
    } catch (error) {
      this.#sync.reject(error);
      throw error;
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  /** True once the first list is in the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the cache; rejects if the informer stops first. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    if (!signal) return this.#sync.promise;
    signal.throwIfAborted();
    const { promise, reject } = Promise.withResolvers<void>();
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await Promise.race([this.#sync.promise, promise]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  get(key: string | ObjectKey): T | undefined {
    return this.#store.get(typeof key === "string" ? key : objectKey(key));
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    return namespace === undefined
      ? this.#store.list()
      : this.#store.byIndex(namespaceIndex, namespace);
  }

  byIndex(index: string, value: string): T[] {
    return this.#store.byIndex(index, value);
  }

  /**
   * Adds an index unless one of that name exists, and says whether it did.
   * Idempotent by name because an informer may be shared: every controller
   * that needs an index asks for it, and the first definition stays; so a
   * name must say what the index computes (`owner`, `spec.nodeName`), never
   * who asked for it.
   */
  addIndexer(name: string, fn: IndexFunc<T>): boolean {
    if (this.#store.hasIndex(name)) return false;
    this.#store.addIndexer(name, fn);
    return true;
  }

  /**
   * Registers handlers; a late registrant first gets `onAdd` for everything
   * already cached, so it sees the same world as the others. Returns the
   * function that unregisters them.
   */
  addEventHandler(handlers: EventHandlers<T>): () => void {
    this.#handlers.add(handlers);
    if (this.#synced && handlers.onAdd) {
      for (const object of this.#store.list()) this.#call(() => handlers.onAdd?.(object));
    }
    return () => {
      this.#handlers.delete(handlers);
    };
  }

  #apply(event: WatcherEvent<T>): void {
    switch (event.type) {
      case "added":
      case "modified":
        this.#upsert(event.object);
        break;
      case "deleted": {
        const lastKnown = this.#store.remove(objectKey(event.object.metadata));
        // The server sends the object's final state; prefer it over ours.
        if (lastKnown) this.#emitDelete(event.object, false);
        break;
      }
      case "relisted":
        this.#replace(event.objects);
        if (!this.#synced) {
          this.#synced = true;
          this.#sync.resolve();
        }
        break;
      case "bookmark":
        break;
    }
  }

  #upsert(object: T): void {
    const previous = this.#store.upsert(object);
    if (!previous) this.#emitAdd(object);
    else if (previous.metadata.resourceVersion !== object.metadata.resourceVersion) {
      this.#emitUpdate(previous, object);
    }
  }

  /** A relist: the store becomes exactly `objects`, and the differences become events. */
  #replace(objects: T[]): void {
    const seen = new Set<string>();
    for (const object of objects) {
      seen.add(objectKey(object.metadata));
      this.#upsert(object);
    }
    const gone: string[] = [];
    for (const key of this.#store.keys()) if (!seen.has(key)) gone.push(key);
    for (const key of gone) {
      const lastKnown = this.#store.remove(key);
      if (lastKnown) this.#emitDelete(lastKnown, true);
    }
  }

  #resync(): void {
    if (!this.#synced) return;
    for (const object of this.#store.list()) this.#emitUpdate(object, object);
  }

  #emitAdd(object: T): void {
    for (const h of this.#handlers) if (h.onAdd) this.#call(() => h.onAdd?.(object));
  }

  #emitUpdate(previous: T, current: T): void {
    for (const h of this.#handlers)
      if (h.onUpdate) this.#call(() => h.onUpdate?.(previous, current));
  }

  #emitDelete(lastKnown: T, finalStateUnknown: boolean): void {
    for (const h of this.#handlers) {
      if (h.onDelete) this.#call(() => h.onDelete?.(lastKnown, { finalStateUnknown }));
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (this.#options.onHandlerError) this.#options.onHandlerError(error);
      else console.error(`an event handler of the ${this.type.kind} informer threw:`, error);
    }
  }
}
