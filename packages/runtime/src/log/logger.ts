/**
 * A structured logger: one JSON object per line (`time`, `level`, `msg`,
 * then fields), which is what log collectors in a cluster parse without
 * configuration.
 *
 * Why redaction lives here and not at call sites: a reconciler that logs an
 * object or an error carrying a request can leak a Secret's data or a token
 * without anyone noticing. Every field whose name looks like a credential is
 * replaced before the line is written, however deep it is nested.
 */
import type { LogFields, Logger } from "../reconcile/reconciler.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

/** `silent` drops every line. */
export type LogThreshold = LogLevel | "silent";

const RANK: Record<LogThreshold, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** The environment variable read when no `level` is given. */
export const logLevelEnv = "BALLAST_LOG_LEVEL";

/** Field names that hold credentials; matched case-insensitively, anywhere in the name. */
const DEFAULT_REDACT =
  /pass(word|wd|phrase)?|secret|token|api[-_]?key|credential|authorization|private[-_]?key|cookie/i;

export const REDACTED = "[REDACTED]";

/** Thrown for a log level that does not exist; names the bad value. */
export class InvalidLogLevelError extends Error {
  override name = "InvalidLogLevelError";
  readonly level: string;
  constructor(level: string, source: string) {
    super(
      `invalid log level ${JSON.stringify(level)} from ${source}: expected debug, info, warn, error or silent`,
    );
    this.level = level;
  }
}

export interface JsonLoggerOptions {
  /**
   * Lines below this level are dropped.
   * @default $BALLAST_LOG_LEVEL, else "info"
   */
  level?: LogThreshold;
  /** Fields written on every line (e.g. `{ controller: "kafka" }`). */
  fields?: LogFields;
  /**
   * Receives each finished line (without the newline).
   * @default writes to stderr
   */
  write?: (line: string) => void;
  /** @default () => new Date() */
  now?: () => Date;
  /**
   * Field names to redact.
   * @default names containing password, secret, token, apiKey, credential, authorization, privateKey, cookie
   */
  redact?: RegExp;
}

/** A `Logger` that can also bind fields for everything logged through a child. */
export interface StructuredLogger extends Logger {
  readonly level: LogThreshold;
  /** A logger writing to the same place with `fields` added to every line. */
  child(fields: LogFields): StructuredLogger;
  /** False when a line at `level` would be dropped; skip building expensive fields. */
  enabled(level: LogLevel): boolean;
}

/** Reads a level from a string (e.g. the environment), rejecting unknown ones. */
export function parseLogLevel(value: string, source = "the configuration"): LogThreshold {
  const level = value.trim().toLowerCase();
  if (level in RANK) return level as LogThreshold;
  throw new InvalidLogLevelError(value, source);
}

/** A JSON-lines logger. */
export function createLogger(options: JsonLoggerOptions = {}): StructuredLogger {
  const fromEnv = process.env[logLevelEnv];
  const level = options.level ?? (fromEnv ? parseLogLevel(fromEnv, `$${logLevelEnv}`) : "info");
  const sink: Sink = {
    threshold: level,
    write: options.write ?? ((line) => process.stderr.write(`${line}\n`)),
    now: options.now ?? (() => new Date()),
    redact: options.redact ?? DEFAULT_REDACT,
  };
  return bound(sink, options.fields ?? {});
}

/**
 * `logger` with `fields` bound: its own `child` when it has one, otherwise a
 * wrapper, so any `Logger` the user brings works.
 */
export function withFields(logger: Logger, fields: LogFields): Logger {
  const maybe = logger as Partial<StructuredLogger>;
  if (typeof maybe.child === "function") return maybe.child(fields);
  const merge = (extra?: LogFields) => (extra ? { ...fields, ...extra } : fields);
  return {
    debug: (msg, extra) => logger.debug(msg, merge(extra)),
    info: (msg, extra) => logger.info(msg, merge(extra)),
    warn: (msg, extra) => logger.warn(msg, merge(extra)),
    error: (msg, extra) => logger.error(msg, merge(extra)),
  };
}

interface Sink {
  readonly threshold: LogThreshold;
  readonly write: (line: string) => void;
  readonly now: () => Date;
  readonly redact: RegExp;
}

function bound(sink: Sink, fields: LogFields): StructuredLogger {
  const log = (level: LogLevel) => (msg: string, extra?: LogFields) => {
    if (RANK[level] < RANK[sink.threshold]) return;
    const record: Record<string, unknown> = { time: sink.now().toISOString(), level, msg };
    // The three reserved keys stay first and cannot be overwritten by a field.
    for (const [key, value] of Object.entries({ ...fields, ...extra })) {
      if (key in record) continue;
      record[key] = clean(key, value, sink.redact, new WeakSet());
    }
    sink.write(safeStringify(record));
  };
  return {
    level: sink.threshold,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (more) => bound(sink, { ...fields, ...more }),
    enabled: (level) => RANK[level] >= RANK[sink.threshold],
  };
}

/** A JSON-safe copy of `value`, with credentials, cycles and errors made printable. */
function clean(key: string, value: unknown, redact: RegExp, seen: WeakSet<object>): unknown {
  if (redact.test(key)) return REDACTED;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function" || typeof value === "symbol") return String(value);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (value instanceof Error) return errorFields(value, redact, seen);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => clean("", item, redact, seen));
  if (value instanceof Map) return clean(key, Object.fromEntries(value), redact, seen);
  if (value instanceof Set) return clean(key, [...value], redact, seen);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = clean(k, v, redact, seen);
  return out;
}

function errorFields(error: Error, redact: RegExp, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  // Own enumerable extras (a Kubernetes error's `code` and `reason`) help triage.
  for (const [k, v] of Object.entries(error)) if (!(k in out)) out[k] = clean(k, v, redact, seen);
  if (error.stack) out.stack = error.stack;
  if (error.cause !== undefined) out.cause = clean("cause", error.cause, redact, seen);
  return out;
}

function safeStringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record);
  } catch (error) {
    return JSON.stringify({
      time: record.time,
      level: record.level,
      msg: record.msg,
      logError: `could not serialize fields: ${String(error)}`,
    });
  }
}
