/**
 * API discovery: maps `{ apiVersion, kind }` to the URL of its resource.
 *
 * Discovery is read per group-version (`/api/v1`, `/apis/<group>/<version>`)
 * only when a kind of that group-version is first used, and cached. A kind
 * missing from the cached answer triggers one re-read, because CRDs are
 * installed while operators run; re-reads of one group-version are spaced out
 * so a typo in a kind does not turn every call into a discovery request.
 */
import { NoKindMatchError } from "./errors.ts";
import type { ResourceType } from "./types.ts";

export interface RestMapping {
  apiVersion: string;
  kind: string;
  /** The plural resource name in the URL, e.g. `configmaps`. */
  resource: string;
  namespaced: boolean;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

interface ApiResourceList {
  resources?: ApiResource[];
}

/** Reads one discovery document; resolves `undefined` when the server answers 404. */
export type DiscoveryFetch = (path: string) => Promise<ApiResourceList | undefined>;

const minRediscoveryMs = 1_000;

export class RestMapper {
  readonly #fetch: DiscoveryFetch;
  readonly #mappings = new Map<string, RestMapping>();
  readonly #loaded = new Map<string, Promise<void>>();
  readonly #loadedAt = new Map<string, number>();

  constructor(fetch: DiscoveryFetch) {
    this.#fetch = fetch;
  }

  /** Declares a mapping up front, skipping discovery for it (tests, benchmarks, bootstrap). */
  register(mapping: RestMapping): void {
    this.#mappings.set(mappingKey(mapping), mapping);
  }

  /** The mapping if already known; never does I/O. */
  peek(type: ResourceType): RestMapping | undefined {
    return this.#mappings.get(mappingKey(type));
  }

  async resolve(type: ResourceType): Promise<RestMapping> {
    const known = this.#mappings.get(mappingKey(type));
    if (known) return known;
    await this.#load(type.apiVersion, false);
    const found = this.#mappings.get(mappingKey(type));
    if (found) return found;
    await this.#load(type.apiVersion, true);
    const refreshed = this.#mappings.get(mappingKey(type));
    if (refreshed) return refreshed;
    throw new NoKindMatchError(type.apiVersion, type.kind);
  }

  /** Forgets one group-version, e.g. after a CRD changed its scope. */
  invalidate(apiVersion?: string): void {
    for (const [key, mapping] of this.#mappings) {
      if (apiVersion === undefined || mapping.apiVersion === apiVersion) this.#mappings.delete(key);
    }
    if (apiVersion === undefined) {
      this.#loaded.clear();
      this.#loadedAt.clear();
    } else {
      this.#loaded.delete(apiVersion);
      this.#loadedAt.delete(apiVersion);
    }
  }

  #load(apiVersion: string, refresh: boolean): Promise<void> {
    const current = this.#loaded.get(apiVersion);
    const at = this.#loadedAt.get(apiVersion) ?? Number.NEGATIVE_INFINITY;
    if (current && (!refresh || performance.now() - at < minRediscoveryMs)) return current;
    const loading = (async () => {
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const list = await this.#fetch(path);
      for (const r of list?.resources ?? []) {
        // `pods/status` and friends are subresources, not kinds of their own.
        if (r.name.includes("/")) continue;
        this.register({ apiVersion, kind: r.kind, resource: r.name, namespaced: r.namespaced });
      }
    })();
    this.#loaded.set(apiVersion, loading);
    this.#loadedAt.set(apiVersion, performance.now());
    // A failed read must not be cached: the next call tries again.
    loading.catch(() => {
      if (this.#loaded.get(apiVersion) === loading) this.#loaded.delete(apiVersion);
    });
    return loading;
  }
}

function mappingKey(type: ResourceType): string {
  return `${type.apiVersion}|${type.kind}`;
}
