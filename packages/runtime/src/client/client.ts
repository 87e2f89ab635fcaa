/**
 * `KubeClient`: typed CRUD, server-side apply, patches and raw requests
 * against the API server, addressed by `{ apiVersion, kind }`.
 *
 * One client per operator: it holds the keep-alive connections, the
 * discovery cache, the rate limiter and the operator's field manager, so
 * every server-side apply from the operator is owned by the same name.
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import { type ClientConfig, inClusterConfig } from "./config.ts";
import { RestMapper, type RestMapping } from "./discovery.ts";
import { type ErrorSubject, KubeApiError } from "./errors.ts";
import { loadKubeconfig } from "./kubeconfig.ts";
import { ClientRateLimiter, type RateLimitOptions } from "./rate-limit.ts";
import { type OpenStream, Transport } from "./transport.ts";
import type { KubeList, KubeObject, ObjectKey, ObjectMeta, ResourceType, Status } from "./types.ts";

export interface KubeClientOptions {
  /**
   * The field manager of every apply and write; one per operator, so field
   * ownership says which operator set a field. @default "ballast"
   */
  fieldManager?: string;
  /**
   * Client-side rate limit (token buckets). The default matches
   * controller-runtime's: 20 QPS with a burst of 30 for each API resource;
   * `false` turns it off.
   * @default { qps: 20, burst: 30, per: "resource" }
   */
  rateLimit?: RateLimitOptions | false;
}

export interface KubeconfigClientOptions extends KubeClientOptions {
  /** The kubeconfig context to use instead of its `current-context` (kubectl's `--context`). */
  context?: string;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RawRequest {
  method?: string;
  /** An absolute API path, e.g. `/apis/apps/v1/namespaces/x/deployments`. */
  path: string;
  query?: Query;
  body?: unknown;
  /** @default "application/json" when there is a body */
  contentType?: string;
  signal?: AbortSignal;
  /** Names the object in error messages. */
  subject?: ErrorSubject;
}

export interface ReadOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends ReadOptions {
  /** Omit for cluster-wide lists of namespaced kinds. */
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** Page size; the answer's `metadata.continue` fetches the next page. */
  limit?: number | undefined;
  continue?: string | undefined;
  /** `""` (the default) reads from etcd, consistently; `"0"` accepts the server's cache. */
  resourceVersion?: string | undefined;
  resourceVersionMatch?: "Exact" | "NotOlderThan" | undefined;
}

export interface WriteOptions extends ReadOptions {
  dryRun?: boolean;
  /** Overrides the client's field manager for this call. */
  fieldManager?: string;
}

export interface ApplyOptions extends WriteOptions {
  /** Take fields owned by other managers instead of failing with a 409 conflict. */
  force?: boolean;
}

export interface DeleteOptions extends ReadOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  /** Delete only if the object still has this uid / resourceVersion (409 otherwise). */
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export type PatchType = "merge" | "json" | "strategic";

export interface PatchOptions extends WriteOptions {
  /** @default "merge" */
  type?: PatchType;
}

/** What apply accepts: a partial object carrying its identity. */
export type ApplyObject =
  | (ResourceType & { metadata: ObjectMeta & { name: string } })
  // The open form lets literals carry `data`, `spec`, … without a declared type.
  | (ResourceType & { metadata: ObjectMeta & { name: string }; [field: string]: unknown });

const patchContentTypes: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};
const applyContentType = "application/apply-patch+yaml";

/** An HTTP/1.1 upgrade (WebSocket) request; see `openUpgrade`. */
export interface UpgradeRequest {
  /** An absolute API path, without the query (the rate limiter's key). */
  path: string;
  /** `?a=1&b=2`, already encoded (exec repeats `command=`), or `""`. */
  search: string;
  /** `Connection`, `Upgrade` and the protocol's own headers. */
  headers: OutgoingHttpHeaders;
  signal?: AbortSignal | undefined;
  subject?: ErrorSubject | undefined;
}

/** The server switched protocols: the 101 response's headers and the raw socket, now the caller's. */
export interface Upgraded {
  headers: OpenStream["response"]["headers"];
  socket: Duplex;
  /** Bytes the server sent after the 101 head, already read off the socket. */
  head: Buffer;
}

let upgradeThrough: (client: KubeClient, req: UpgradeRequest) => Promise<Upgraded>;

/**
 * Opens an upgraded connection through `client`, with its credentials, TLS
 * and rate limit. Internal to the runtime (exec uses it; the package does not
 * export it), so KubeClient's public surface stays the CRUD one. Throws
 * `KubeApiError` when the server answers without upgrading (403, 404, ...).
 */
export function openUpgrade(client: KubeClient, req: UpgradeRequest): Promise<Upgraded> {
  return upgradeThrough(client, req);
}

export class KubeClient {
  static {
    upgradeThrough = (client, req) => client.#upgrade(req);
  }

  readonly fieldManager: string;
  readonly mapper: RestMapper;
  readonly #transport: Transport;
  readonly #limiter: ClientRateLimiter | undefined;

  private constructor(transport: Transport, options: KubeClientOptions) {
    this.#transport = transport;
    this.fieldManager = options.fieldManager ?? "ballast";
    this.#limiter =
      options.rateLimit === false ? undefined : new ClientRateLimiter(options.rateLimit);
    this.mapper = new RestMapper(async (path) => {
      try {
        return await this.request({ path, subject: { request: `discovery ${path}` } });
      } catch (error) {
        if (error instanceof KubeApiError && error.code === 404) return undefined;
        throw error;
      }
    });
  }

  /**
   * From a kubeconfig file; without `path`, from $KUBECONFIG or
   * `~/.kube/config`, or inside a pod with neither, from its service account.
   */
  static async fromKubeconfig(
    path?: string,
    options: KubeconfigClientOptions = {},
  ): Promise<KubeClient> {
    const { context, ...clientOptions } = options;
    return KubeClient.fromConfig(await loadKubeconfig(path, { context }), clientOptions);
  }

  /** Inside a pod: the service account's token (re-read as it rotates) and CA. */
  static async fromCluster(options: KubeClientOptions = {}): Promise<KubeClient> {
    return KubeClient.fromConfig(inClusterConfig(), options);
  }

  /** From a `ClientConfig` the caller built (e.g. a server and a bearer token). */
  static async fromConfig(
    config: ClientConfig,
    options: KubeClientOptions = {},
  ): Promise<KubeClient> {
    return new KubeClient(Transport.create(config), options);
  }

  get server(): string {
    return this.#transport.server.href;
  }

  /** The URL path of a type (and optionally one object and subresource). */
  async path(
    type: ResourceType,
    target: {
      namespace?: string | undefined;
      name?: string | undefined;
      subresource?: string;
    } = {},
  ): Promise<string> {
    return buildPath(await this.mapper.resolve(type), target);
  }

  async get<T extends KubeObject = KubeObject>(
    type: ResourceType,
    key: ObjectKey,
    options: ReadOptions = {},
  ): Promise<T> {
    const mapping = await this.mapper.resolve(type);
    return this.request<T>({
      path: buildPath(mapping, key),
      subject: subjectOf(type.kind, key),
      ...signalOf(options),
    });
  }

  /** One page; follow `metadata.continue` for the next, or use `listAll`. */
  async list<T extends KubeObject = KubeObject>(
    type: ResourceType,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const mapping = await this.mapper.resolve(type);
    const list = await this.request<KubeList<T>>({
      path: buildPath(mapping, { namespace: options.namespace }),
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
        resourceVersionMatch: options.resourceVersionMatch,
      },
      subject: { kind: type.kind, namespace: options.namespace },
      ...signalOf(options),
    });
    // Items of a list come without their type; put it back so each stands alone.
    list.items ??= [];
    for (const item of list.items) {
      item.apiVersion ??= type.apiVersion;
      item.kind ??= type.kind;
    }
    return list;
  }

  /**
   * The pages of a list, one at a time, each fetched when the previous one
   * has been taken: a consumer that trims or indexes each page as it comes
   * never holds the whole answer in its raw form. `resourceVersion` is the
   * first page's (the snapshot's) on every page.
   */
  async *listPages<T extends KubeObject = KubeObject>(
    type: ResourceType,
    options: Omit<ListOptions, "continue"> = {},
  ): AsyncGenerator<{ items: T[]; resourceVersion: string }> {
    const first = await this.list<T>(type, options);
    const resourceVersion = first.metadata.resourceVersion;
    yield { items: first.items, resourceVersion };
    let next = first.metadata.continue;
    while (next) {
      const page = await this.list<T>(type, { ...options, continue: next });
      yield { items: page.items, resourceVersion };
      next = page.metadata.continue;
    }
  }

  /** Every page of a list, with the resourceVersion of the first page (the snapshot's). */
  async listAll<T extends KubeObject = KubeObject>(
    type: ResourceType,
    options: Omit<ListOptions, "continue"> = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let resourceVersion = "";
    for await (const page of this.listPages<T>(type, options)) {
      for (const item of page.items) items.push(item);
      resourceVersion = page.resourceVersion;
    }
    return { items, resourceVersion };
  }

  async create<T extends KubeObject>(object: T, options: WriteOptions = {}): Promise<T> {
    const mapping = await this.mapper.resolve(object);
    const namespace = mapping.namespaced ? object.metadata.namespace : undefined;
    return this.request<T>({
      method: "POST",
      path: buildPath(mapping, { namespace }),
      query: this.#writeQuery(options),
      body: object,
      subject: subjectOf(object.kind, {
        namespace,
        name: object.metadata.name ?? `${object.metadata.generateName ?? ""}*`,
      }),
      ...signalOf(options),
    });
  }

  /** PUT: replaces the whole object; `metadata.resourceVersion` guards against lost updates. */
  async replace<T extends KubeObject>(object: T, options: WriteOptions = {}): Promise<T> {
    return this.#put(object, undefined, options);
  }

  async replaceStatus<T extends KubeObject>(object: T, options: WriteOptions = {}): Promise<T> {
    return this.#put(object, "status", options);
  }

  async delete(
    type: ResourceType,
    key: ObjectKey,
    options: DeleteOptions = {},
  ): Promise<KubeObject | Status> {
    const mapping = await this.mapper.resolve(type);
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.preconditions) body.preconditions = options.preconditions;
    if (options.gracePeriodSeconds !== undefined)
      body.gracePeriodSeconds = options.gracePeriodSeconds;
    if (options.dryRun) body.dryRun = ["All"];
    return this.request<KubeObject | Status>({
      method: "DELETE",
      path: buildPath(mapping, key),
      body,
      subject: subjectOf(type.kind, key),
      ...signalOf(options),
    });
  }

  /**
   * Server-side apply: the server merges `object` into the live one and
   * records this client's field manager as the owner of every field given.
   * Without `force`, taking a field another manager owns is a 409 conflict.
   */
  async apply<T extends KubeObject = KubeObject>(
    object: ApplyObject,
    options: ApplyOptions = {},
  ): Promise<T> {
    return this.#apply<T>(object, undefined, options);
  }

  /** Server-side apply of the status subresource (only `.status` is taken). */
  async applyStatus<T extends KubeObject = KubeObject>(
    object: ApplyObject,
    options: ApplyOptions = {},
  ): Promise<T> {
    return this.#apply<T>(object, "status", options);
  }

  async patch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    key: ObjectKey,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<T> {
    return this.#patch<T>(type, key, patch, undefined, options);
  }

  async patchStatus<T extends KubeObject = KubeObject>(
    type: ResourceType,
    key: ObjectKey,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<T> {
    return this.#patch<T>(type, key, patch, "status", options);
  }

  /**
   * Any API request. Answers 2xx with the parsed JSON body (or the text, if
   * not JSON); throws `KubeApiError` for anything else.
   */
  async request<T = unknown>(req: RawRequest): Promise<T> {
    const path = withQuery(req.path, req.query);
    const method = req.method ?? "GET";
    if (this.#limiter) await this.#limiter.take(req.path, req.signal);
    const response = await this.#transport.send({
      method,
      path,
      body:
        req.body === undefined
          ? undefined
          : typeof req.body === "string"
            ? req.body
            : JSON.stringify(req.body),
      contentType: req.contentType,
      signal: req.signal,
    });
    const body = parseBody(response.text);
    if (response.status >= 200 && response.status < 300) return body as T;
    throw new KubeApiError(
      toStatus(body, response.status),
      response.status,
      req.subject ?? { request: `${method} ${path}` },
    );
  }

  /**
   * Opens a streaming GET (a watch) and hands back the live response; the
   * caller reads and ends it. Non-2xx answers are read and thrown as
   * `KubeApiError`, so the caller only ever sees a 200 stream.
   */
  async stream(
    path: string,
    query: Query,
    signal: AbortSignal,
    subject?: ErrorSubject,
  ): Promise<OpenStream> {
    const full = withQuery(path, query);
    if (this.#limiter) await this.#limiter.take(path, signal);
    const open = await this.#transport.open({ method: "GET", path: full, signal });
    if (open.status === 200) return open;
    throw await errorOf(open, subject ?? { request: `GET ${full}` });
  }

  async #upgrade(req: UpgradeRequest): Promise<Upgraded> {
    const full = `${req.path}${req.search}`;
    if (this.#limiter) await this.#limiter.take(req.path, req.signal);
    const open = await this.#transport.open({
      method: "GET",
      path: full,
      headers: req.headers,
      signal: req.signal,
    });
    if (open.upgrade) {
      return {
        headers: open.response.headers,
        socket: open.upgrade.socket,
        head: open.upgrade.head,
      };
    }
    throw await errorOf(open, req.subject ?? { request: `GET ${full}` });
  }

  /** Releases idle connections. */
  close(): void {
    this.#transport.close();
  }

  async #put<T extends KubeObject>(
    object: T,
    subresource: string | undefined,
    options: WriteOptions,
  ): Promise<T> {
    const mapping = await this.mapper.resolve(object);
    const key = keyOf(mapping, object);
    return this.request<T>({
      method: "PUT",
      path: buildPath(mapping, { ...key, ...(subresource ? { subresource } : {}) }),
      query: this.#writeQuery(options),
      body: object,
      subject: subjectOf(object.kind, key),
      ...signalOf(options),
    });
  }

  async #apply<T extends KubeObject>(
    object: ApplyObject,
    subresource: string | undefined,
    options: ApplyOptions,
  ): Promise<T> {
    const mapping = await this.mapper.resolve(object);
    const key = keyOf(mapping, object as KubeObject);
    return this.request<T>({
      method: "PATCH",
      path: buildPath(mapping, { ...key, ...(subresource ? { subresource } : {}) }),
      query: { ...this.#writeQuery(options), force: options.force ? true : undefined },
      // JSON is YAML: the apply content type takes it as is.
      body: object,
      contentType: applyContentType,
      subject: subjectOf(object.kind, key),
      ...signalOf(options),
    });
  }

  async #patch<T extends KubeObject>(
    type: ResourceType,
    key: ObjectKey,
    patch: unknown,
    subresource: string | undefined,
    options: PatchOptions,
  ): Promise<T> {
    const mapping = await this.mapper.resolve(type);
    return this.request<T>({
      method: "PATCH",
      path: buildPath(mapping, { ...key, ...(subresource ? { subresource } : {}) }),
      query: this.#writeQuery(options),
      body: patch,
      contentType: patchContentTypes[options.type ?? "merge"],
      subject: subjectOf(type.kind, key),
      ...signalOf(options),
    });
  }

  #writeQuery(options: WriteOptions): Query {
    return {
      fieldManager: options.fieldManager ?? this.fieldManager,
      dryRun: options.dryRun ? "All" : undefined,
    };
  }
}

function signalOf(options: ReadOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

function subjectOf(kind: string, key: ObjectKey): ErrorSubject {
  return { kind, namespace: key.namespace, name: key.name };
}

function keyOf(mapping: RestMapping, object: KubeObject): ObjectKey {
  const name = object.metadata.name;
  if (!name) throw new TypeError(`${object.kind} has no metadata.name: cannot address it`);
  return { name, namespace: mapping.namespaced ? object.metadata.namespace : undefined };
}

export function buildPath(
  mapping: RestMapping,
  target: {
    namespace?: string | undefined;
    name?: string | undefined;
    subresource?: string | undefined;
  },
): string {
  const base = mapping.apiVersion.includes("/")
    ? `/apis/${mapping.apiVersion}`
    : `/api/${mapping.apiVersion}`;
  let path = base;
  if (mapping.namespaced && target.namespace)
    path += `/namespaces/${encodeURIComponent(target.namespace)}`;
  else if (mapping.namespaced && target.name) {
    throw new TypeError(`${mapping.kind} ${target.name} is namespaced: give its namespace`);
  }
  path += `/${mapping.resource}`;
  if (target.name !== undefined) path += `/${encodeURIComponent(target.name)}`;
  if (target.subresource) path += `/${target.subresource}`;
  return path;
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  let out = "";
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === "") continue;
    out += `${out ? "&" : ""}${name}=${encodeURIComponent(String(value))}`;
  }
  if (!out) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${out}`;
}

/** Reads a failed answer's body into the error it stands for. */
async function errorOf(open: OpenStream, subject: ErrorSubject): Promise<KubeApiError> {
  const chunks: Buffer[] = [];
  for await (const chunk of open.response) chunks.push(chunk as Buffer);
  const body = parseBody(Buffer.concat(chunks).toString("utf8"));
  return new KubeApiError(toStatus(body, open.status), open.status, subject);
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toStatus(body: unknown, httpStatus: number): Status {
  if (body && typeof body === "object" && (body as Status).kind === "Status") return body as Status;
  return {
    kind: "Status",
    status: "Failure",
    code: httpStatus,
    message: typeof body === "string" && body ? body.trim() : `HTTP ${httpStatus}`,
  };
}
