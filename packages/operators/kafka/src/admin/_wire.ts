/**
 * The one place that reaches below @platformatic/kafka's high-level clients.
 *
 * Its `Admin` class has no DescribeQuorum, DescribeCluster,
 * (List|Alter)PartitionReassignments or UnregisterBroker, but the package
 * exports every protocol API as `{ api }` modules (`describeQuorumV2`, ...)
 * whose `api.async(connection, ...args)` sends one request. What they need is
 * a `Connection`, which the public `Base#connections` pool hands out per
 * `{ host, port }`. So this module owns a `Base` client only for its pool,
 * and does the rest itself:
 *
 * - version negotiation per connection (ApiVersions v3, cached per
 *   connection): every call uses the highest version both the broker and the
 *   library implement, so a broker mid-upgrade is spoken to in its own terms;
 * - routing: `any()` tries known brokers in turn, `broker(id)` looks the
 *   broker up in Metadata (some requests, e.g. DescribeConfigs on a BROKER
 *   resource, are only answered by that broker);
 * - errors: the library's parsers throw a `ResponseError` as soon as any
 *   error code in the body is non-zero, carrying the parsed body. `send()`
 *   returns that body instead, so callers can name the exact topic,
 *   partition or config resource that failed.
 */
import {
  apiVersionsV3,
  Base,
  type Broker,
  type Connection,
  MultipleErrors,
  metadataV12,
  ResponseError,
} from "@platformatic/kafka";
import { KafkaAdminError } from "./errors.ts";

/** One protocol API implemented by the library in several versions. */
export interface Versions<Args extends unknown[], Resp> {
  readonly name: string;
  readonly key: number;
  /** Version number → the library's implementation, all with the same request signature. */
  readonly byVersion: ReadonlyMap<
    number,
    { async(connection: Connection, ...args: Args): Promise<Resp> }
  >;
}

export function versions<Args extends unknown[], Resp>(
  name: string,
  impls: readonly {
    api: {
      key: number;
      version: number;
      async(connection: Connection, ...args: Args): Promise<Resp>;
    };
  }[],
): Versions<Args, Resp> {
  const first = impls[0];
  if (!first) throw new TypeError(`no implementation of ${name}`);
  return { name, key: first.api.key, byVersion: new Map(impls.map((m) => [m.api.version, m.api])) };
}

function parseBroker(hostPort: string): Broker {
  const colon = hostPort.lastIndexOf(":");
  const port = Number(hostPort.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0) {
    throw new TypeError(`bootstrap address ${JSON.stringify(hostPort)} is not "host:port"`);
  }
  return { host: hostPort.slice(0, colon), port };
}

function isNetworkFailure(error: unknown): boolean {
  if (error instanceof KafkaAdminError) return isNetworkFailure(error.cause);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === "PLT_KFK_NETWORK" || code === "PLT_KFK_TIMEOUT") return true;
  if (error instanceof MultipleErrors) return error.errors.some(isNetworkFailure);
  return false;
}

export class Wire {
  readonly #client: Base;
  readonly #bootstrap: Broker[];
  /** Brokers learned from the last Metadata answer, tried after the bootstrap list. */
  #known = new Map<number, Broker>();
  #lastAnswered: Broker | undefined;
  readonly #apiVersions = new WeakMap<
    Connection,
    Promise<Map<number, { min: number; max: number }>>
  >();
  readonly timeoutMs: number;

  constructor(options: { bootstrap: string[]; clientId: string; timeoutMs: number }) {
    if (options.bootstrap.length === 0)
      throw new TypeError("bootstrap must list at least one broker");
    this.#bootstrap = options.bootstrap.map(parseBroker);
    this.timeoutMs = options.timeoutMs;
    this.#client = new Base({
      clientId: options.clientId,
      bootstrapBrokers: this.#bootstrap,
      requestTimeout: options.timeoutMs,
      connectTimeout: Math.min(options.timeoutMs, 5_000),
      retries: 0,
    });
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  /** Remembers where brokers are, so `any()` survives the loss of the bootstrap brokers. */
  learn(brokers: readonly { nodeId: number; host: string; port: number }[]): void {
    this.#known = new Map(brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]));
  }

  /** Sends `args` to any reachable broker, moving on to the next one on network failures. */
  async any<Args extends unknown[], Resp>(api: Versions<Args, Resp>, ...args: Args): Promise<Resp> {
    const seen = new Set<string>();
    const preferred = this.#lastAnswered === undefined ? [] : [this.#lastAnswered];
    const candidates = [...preferred, ...this.#bootstrap, ...this.#known.values()].filter((b) => {
      const key = `${b.host}:${b.port}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    let last: unknown;
    for (const broker of candidates) {
      try {
        const response = await this.send(broker, api, ...args);
        // Asked first next time, so a dead bootstrap broker costs one connect timeout, not one per call.
        this.#lastAnswered = broker;
        return response;
      } catch (error) {
        if (!isNetworkFailure(error)) throw error;
        if (this.#lastAnswered === broker) this.#lastAnswered = undefined;
        last = error;
      }
    }
    throw new KafkaAdminError(
      `no broker answered ${api.name} (tried ${candidates.map((b) => `${b.host}:${b.port}`).join(", ")})`,
      { call: api.name, cause: last },
    );
  }

  /**
   * Sends `args` to the broker with node id `id`, found through Metadata.
   * A broker that moved (a restarted pod gets a new IP) is looked up again
   * once before giving up.
   */
  async broker<Args extends unknown[], Resp>(
    id: number,
    api: Versions<Args, Resp>,
    ...args: Args
  ): Promise<Resp> {
    const cached = this.#known.get(id);
    if (cached) {
      try {
        return await this.send(cached, api, ...args);
      } catch (error) {
        if (!isNetworkFailure(error)) throw error;
      }
    }
    const metadata = await this.any(METADATA, [], false, false);
    this.learn(metadata.brokers);
    const target = this.#known.get(id);
    if (!target) {
      throw new KafkaAdminError(
        `broker ${id} is not in the cluster's metadata (not registered, or fenced)`,
        {
          call: api.name,
          resource: `broker ${id}`,
        },
      );
    }
    return await this.send(target, api, ...args);
  }

  async send<Args extends unknown[], Resp>(
    broker: Broker,
    api: Versions<Args, Resp>,
    ...args: Args
  ): Promise<Resp> {
    try {
      const connection = await this.#client.connections.get(broker);
      const version = await this.#negotiate(connection, api);
      const impl = api.byVersion.get(version);
      if (!impl) {
        throw new Error(
          `unreachable: negotiated ${api.name} v${version} without an implementation`,
        );
      }
      return await impl.async(connection, ...args);
    } catch (error) {
      // The body is complete; the caller decides which of its error codes matter.
      if (
        error instanceof ResponseError &&
        (error as { response?: unknown }).response !== undefined
      ) {
        return (error as unknown as { response: Resp }).response;
      }
      if (error instanceof KafkaAdminError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new KafkaAdminError(`${api.name} to ${broker.host}:${broker.port} failed: ${reason}`, {
        call: api.name,
        cause: error,
      });
    }
  }

  async #negotiate(connection: Connection, api: Versions<unknown[], unknown>): Promise<number> {
    let supported = this.#apiVersions.get(connection);
    if (!supported) {
      supported = apiVersionsV3.api
        .async(connection, "ballast-kafka-admin", "0.1.0")
        .then(
          (r) =>
            new Map(r.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }])),
        );
      this.#apiVersions.set(connection, supported);
      supported.catch(() => this.#apiVersions.delete(connection));
    }
    const range = (await supported).get(api.key);
    if (range !== undefined) {
      const usable = [...api.byVersion.keys()].filter((v) => v >= range.min && v <= range.max);
      if (usable.length > 0) return Math.max(...usable);
    }
    throw new KafkaAdminError(
      `the broker does not support any version of ${api.name} this client implements (${[...api.byVersion.keys()].join(", ")})`,
      { call: api.name, code: 35, codeName: "UNSUPPORTED_VERSION" },
    );
  }
}

export const METADATA = versions("Metadata", [metadataV12]);
