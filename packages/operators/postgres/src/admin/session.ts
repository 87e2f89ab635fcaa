/**
 * One short-lived, authenticated session per call: connect, the
 * statement(s), disconnect.
 *
 * The operator asks PostgreSQL something a few times per reconcile, not in
 * a loop, so a pool would save little and cost much: a pooled session
 * outlives a failover (it would keep talking to a demoted or fenced
 * server), keeps a pod IP that a restart has changed behind the same
 * hostname, and holds one of `max_connections` between reconciles. Here
 * every call opens its own `pg.Client` with a connect timeout and a
 * server-side `statement_timeout` (with a client-side read timeout a little
 * longer, for a server that stopped answering altogether), and nothing
 * retries: an unreachable server costs one timeout.
 *
 * Failures become PostgresPortErrors classified by SQLSTATE or socket error
 * (see `classify`); every message has the password replaced by
 * `<password>`, and no `pg` error is kept as `cause`.
 */
import { Client, DatabaseError } from "pg";
import {
  endpoint,
  type Failure,
  type FailureReason,
  type InstanceAddress,
  PostgresPortError,
} from "./port.ts";

export interface SessionOptions {
  /** The role to connect as. @default "postgres" */
  user?: string | undefined;
  password: string;
  /** @default "postgres" */
  database?: string | undefined;
  /** @default 2000 */
  connectTimeoutMs?: number | undefined;
  /** `statement_timeout` of each session. @default 3000 */
  statementTimeoutMs?: number | undefined;
  /** How the port's sessions appear in `pg_stat_activity`. @default "ballast-operator" */
  applicationName?: string | undefined;
}

/** How long `end()` may wait for the server to close a session before the socket is destroyed. */
const endTimeoutMs = 1000;
/** The client-side read timeout's margin over `statement_timeout`: the server cancels first. */
const readTimeoutMarginMs = 1000;

export class Sessions {
  readonly #options: SessionOptions;

  constructor(options: SessionOptions) {
    this.#options = options;
  }

  get applicationName(): string {
    return this.#options.applicationName ?? "ballast-operator";
  }

  /** The password replaced by `<password>`. */
  redact(text: string): string {
    const secret = this.#options.password;
    return secret ? text.replaceAll(secret, "<password>") : text;
  }

  failure(err: unknown): Failure {
    if (err instanceof PostgresPortError) {
      return {
        reason: err.reason,
        message: err.message,
        ...(err.sqlState ? { sqlState: err.sqlState } : {}),
      };
    }
    return { reason: "error", message: this.redact(errorText(err)) };
  }

  /** A PostgresPortError for `what` on `instance`, the message redacted. */
  error(
    instance: InstanceAddress,
    reason: FailureReason,
    what: string,
    detail: string,
    sqlState?: string,
  ): PostgresPortError {
    return new PostgresPortError(
      reason,
      endpoint(instance),
      this.redact(`${what} on instance ${instance.id} (${endpoint(instance)}): ${detail}`),
      sqlState,
    );
  }

  /**
   * Runs `work` in a fresh session to `instance`, then closes it. Every
   * failure is a PostgresPortError naming `what`.
   */
  async run<T>(
    instance: InstanceAddress,
    what: string,
    work: (client: Client) => Promise<T>,
    { statementTimeoutMs }: { statementTimeoutMs?: number } = {},
  ): Promise<T> {
    const statementTimeout = statementTimeoutMs ?? this.#options.statementTimeoutMs ?? 3000;
    const client = new Client({
      host: instance.host,
      port: instance.port,
      user: this.#options.user ?? "postgres",
      password: this.#options.password,
      database: this.#options.database ?? "postgres",
      application_name: this.applicationName,
      connectionTimeoutMillis: this.#options.connectTimeoutMs ?? 2000,
      statement_timeout: statementTimeout,
      query_timeout: statementTimeout + readTimeoutMarginMs,
    });
    // A session ended by the server (a terminated backend, a shutdown) is
    // also emitted as an event; without a listener it would crash the process.
    client.on("error", () => {});
    const fail = (err: unknown) => {
      if (err instanceof PostgresPortError) return err;
      const { reason, sqlState } = classify(err);
      return this.error(instance, reason, what, errorText(err), sqlState);
    };
    try {
      await client.connect();
    } catch (err) {
      close(client);
      throw fail(err);
    }
    try {
      return await work(client);
    } catch (err) {
      throw fail(err);
    } finally {
      close(client);
    }
  }
}

/**
 * Ends the session without waiting on the server: `end()` waits for the
 * server to close the socket, which a stopped (SIGSTOP) or partitioned
 * server never does, so the socket is destroyed after a short wait.
 */
function close(client: Client): void {
  const timer = setTimeout(() => client.connection.stream.destroy(), endTimeoutMs);
  timer.unref();
  client.end().then(
    () => clearTimeout(timer),
    () => {
      clearTimeout(timer);
      client.connection.stream.destroy();
    },
  );
}

export function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    // Node's happy-eyeballs connect (a name with IPv4 and IPv6 addresses) fails with one per address.
    return err.errors.map(errorText).join("; ");
  }
  if (err instanceof Error) return err.message || String((err as { code?: unknown }).code ?? err);
  return String(err);
}

/** SQLSTATEs (https://www.postgresql.org/docs/15/errcodes-appendix.html) that are not plain errors. */
const sqlStateReasons: Readonly<Record<string, FailureReason>> = {
  "28000": "auth", // invalid_authorization_specification: no pg_hba.conf entry
  "28P01": "auth", // invalid_password
  "57014": "timeout", // query_canceled: the port's statement_timeout (it never cancels otherwise)
  "55P03": "timeout", // lock_not_available: lock_timeout
  "57P01": "unreachable", // admin_shutdown: the server is shutting down, or the backend was terminated
  "57P02": "unreachable", // crash_shutdown
  "57P03": "unreachable", // cannot_connect_now: starting up, shutting down, in crash recovery
  "53300": "unreachable", // too_many_connections
};

const socketReasons: Readonly<Record<string, FailureReason>> = {
  ECONNREFUSED: "unreachable",
  ECONNRESET: "unreachable",
  EPIPE: "unreachable",
  ENOTFOUND: "unreachable",
  EAI_AGAIN: "unreachable",
  EHOSTUNREACH: "unreachable",
  ENETUNREACH: "unreachable",
  ETIMEDOUT: "timeout",
};

/** The reason for a `pg` or socket error, and its SQLSTATE when the server sent one. */
export function classify(err: unknown): { reason: FailureReason; sqlState?: string } {
  if (err instanceof DatabaseError && err.code) {
    return { reason: sqlStateReasons[err.code] ?? "error", sqlState: err.code };
  }
  const codes = (err instanceof AggregateError ? err.errors : [err]).map(
    (e) => (e as { code?: unknown } | undefined)?.code,
  );
  for (const code of codes) {
    const reason = typeof code === "string" ? socketReasons[code] : undefined;
    if (reason) return { reason };
  }
  const message = errorText(err);
  // pg's own messages: its connect timeout, its read timeout, a socket closed under it.
  if (/timeout expired|connection timeout|Query read timeout/i.test(message)) {
    return { reason: "timeout" };
  }
  if (/Connection terminated/i.test(message)) return { reason: "unreachable" };
  return { reason: "error" };
}
