/**
 * One short-lived, authenticated connection per call, shared by the
 * Sentinel port (`admin.ts`) and the Cluster port (`cluster-admin.ts`).
 *
 * Connect, `AUTH`, the command(s), disconnect. The operator asks Redis
 * something a few times per reconcile, not in a loop, so a pool would save
 * little and cost much: a pooled connection outlives a failover, keeps a
 * pod IP that a restart has changed behind the same hostname, and
 * reconnects on its own. Here nothing reconnects (`retryStrategy` returns
 * null), nothing queues while offline, and connect and every command are
 * bounded by short timeouts, so an unreachable member costs one timeout.
 *
 * `AUTH` is sent explicitly as the first command rather than through
 * ioredis's `password` option: ioredis reports a refused password as
 * "Stream isn't writeable" on the next command, where an explicit `AUTH`
 * fails with Redis's own `WRONGPASS` and is told apart as `reason: "auth"`.
 * Every message has the secrets replaced by `<password>`, and no ioredis
 * error is kept as `cause` (its `command.args` would carry the password).
 */
import { Redis } from "ioredis";
import {
  endpoint,
  type Failure,
  type FailureReason,
  type RedisAddress,
  RedisPortError,
} from "./port.ts";

export interface SessionOptions {
  /** The ACL user to authenticate as. @default "default" (`AUTH password`) */
  username?: string | undefined;
  /** @default 2000 */
  connectTimeoutMs?: number | undefined;
  /** How long one command may take. @default 3000 */
  commandTimeoutMs?: number | undefined;
}

export interface SessionTarget {
  address: RedisAddress;
  /** Empty: no `AUTH`. */
  password: string;
  /** How messages name it, e.g. "member 2". */
  what: string;
}

export class Sessions {
  readonly #options: SessionOptions;
  readonly #secrets: string[];

  constructor(secrets: readonly string[], options: SessionOptions = {}) {
    this.#options = options;
    this.#secrets = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  }

  /** Every secret (and `extra`, e.g. a CONFIG SET value) replaced by `<password>`. */
  redact(text: string, extra?: string): string {
    let out = text;
    for (const secret of extra ? [extra, ...this.#secrets] : this.#secrets) {
      out = out.replaceAll(secret, "<password>");
    }
    return out;
  }

  failure(err: unknown): Failure {
    if (err instanceof RedisPortError) return { reason: err.reason, message: err.message };
    return { reason: "error", message: this.redact(errorText(err)) };
  }

  /** Runs `work` on a fresh authenticated connection to `target`, then closes it. */
  async run<T>(
    target: SessionTarget,
    command: string,
    work: (conn: Redis) => Promise<T>,
    secret?: string,
  ): Promise<T> {
    const session = await this.open(target, command, secret);
    try {
      return await session.do(command, work);
    } finally {
      session.close();
    }
  }

  /**
   * An authenticated connection to `target` kept for several commands (a
   * reshard's hundreds of slot moves), closed by the caller. Failures are
   * RedisPortErrors as with `run`.
   */
  async open(target: SessionTarget, command: string, secret?: string): Promise<Session> {
    const conn = new Redis({
      host: target.address.host,
      port: target.address.port,
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      reconnectOnError: () => false,
      connectTimeout: this.#options.connectTimeoutMs ?? 2000,
      commandTimeout: this.#options.commandTimeoutMs ?? 3000,
    });
    let lastEvent: unknown;
    // Without a listener ioredis prints "Unhandled error event" for each failure.
    conn.on("error", (err) => {
      lastEvent = err;
    });
    const where = `${target.what} (${endpoint(target.address)})`;
    const fail = (reason: FailureReason, what: string, err: unknown) =>
      new RedisPortError(
        reason,
        endpoint(target.address),
        this.redact(`${what} on ${where}: ${errorText(err)}`, secret),
      );
    try {
      try {
        await conn.connect();
      } catch (err) {
        const why = lastEvent ?? err;
        throw fail(
          /ETIMEDOUT|timed? ?out/i.test(errorText(why)) ? "timeout" : "unreachable",
          command,
          why,
        );
      }
      if (target.password) {
        const user = this.#options.username;
        try {
          await conn.call("AUTH", user ? [user, target.password] : [target.password]);
        } catch (err) {
          throw fail(classify(err, lastEvent, "auth"), command, lastEvent ?? err);
        }
      }
    } catch (err) {
      conn.disconnect();
      throw err;
    }
    return {
      async do<T>(what: string, work: (c: Redis) => Promise<T>): Promise<T> {
        try {
          return await work(conn);
        } catch (err) {
          if (err instanceof RedisPortError) throw err;
          throw fail(classify(err, lastEvent, "error"), what, err);
        }
      },
      close: () => conn.disconnect(),
    };
  }
}

/** An open connection: `do` runs commands on it, their failures as RedisPortErrors. */
export interface Session {
  do<T>(what: string, work: (c: Redis) => Promise<T>): Promise<T>;
  close(): void;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function classify(err: unknown, lastEvent: unknown, otherwise: FailureReason): FailureReason {
  const message = `${errorText(err)} ${lastEvent ? errorText(lastEvent) : ""}`;
  if (/timed out|ETIMEDOUT/i.test(message)) return "timeout";
  if (/Connection is closed|ECONNRESET|EPIPE|Stream isn't writeable/i.test(message)) {
    return "unreachable";
  }
  return otherwise;
}
