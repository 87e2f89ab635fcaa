/**
 * The object store behind an informer: objects keyed by `ns/name`, plus
 * inverted indexes (index value → keys) kept in step on every write, so
 * "all pods owned by X" is a lookup rather than a scan.
 */
import type { KubeObject } from "../client/types.ts";
import { objectKey } from "../client/types.ts";

/** The values an object is filed under in one index (none: not indexed). */
export type IndexFunc<T extends KubeObject = KubeObject> = (object: T) => string[];

/** Built in: objects by namespace (`""` for cluster-scoped ones). */
export const namespaceIndex = "namespace";
/** Built in: objects by the uid of each of their owners. */
export const ownerIndex = "owner";

const builtInIndexers: Record<string, IndexFunc> = {
  [namespaceIndex]: (object) => [object.metadata.namespace ?? ""],
  [ownerIndex]: (object) => (object.metadata.ownerReferences ?? []).map((ref) => ref.uid),
};

export class UnknownIndexError extends Error {
  override name = "UnknownIndexError";
  constructor(index: string) {
    super(`no index named ${JSON.stringify(index)}: register it with addIndexer() first`);
  }
}

export class Store<T extends KubeObject = KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  readonly #indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    for (const [name, fn] of Object.entries(builtInIndexers))
      this.addIndexer(name, fn as IndexFunc<T>);
    for (const [name, fn] of Object.entries(indexers)) this.addIndexer(name, fn);
  }

  get size(): number {
    return this.#items.size;
  }

  /** Registers (or replaces) an index; existing objects are indexed at once. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.#indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.#indices.set(name, index);
    for (const [key, object] of this.#items) addToIndex(index, fn(object), key);
  }

  hasIndex(name: string): boolean {
    return this.#indexers.has(name);
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  keys(): IterableIterator<string> {
    return this.#items.keys();
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  byIndex(name: string, value: string): T[] {
    const index = this.#indices.get(name);
    if (!index) throw new UnknownIndexError(name);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const object = this.#items.get(key);
      if (object) out.push(object);
    }
    return out;
  }

  /** Inserts or replaces; returns what was there before. */
  upsert(object: T): T | undefined {
    const key = objectKey(object.metadata);
    const previous = this.#items.get(key);
    if (previous) this.#unindex(key, previous);
    this.#items.set(key, object);
    for (const [name, fn] of this.#indexers) {
      const index = this.#indices.get(name);
      if (index) addToIndex(index, fn(object), key);
    }
    return previous;
  }

  /** Removes; returns the object that was there. */
  remove(key: string): T | undefined {
    const previous = this.#items.get(key);
    if (!previous) return undefined;
    this.#unindex(key, previous);
    this.#items.delete(key);
    return previous;
  }

  #unindex(key: string, object: T): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indices.get(name);
      if (!index) continue;
      for (const value of fn(object)) {
        const keys = index.get(value);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(value);
      }
    }
  }
}

function addToIndex(index: Map<string, Set<string>>, values: string[], key: string): void {
  for (const value of values) {
    let keys = index.get(value);
    if (!keys) {
      keys = new Set();
      index.set(value, keys);
    }
    keys.add(key);
  }
}
