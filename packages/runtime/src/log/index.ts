/**
 * log: a structured JSON logger implementing the reconcile `Logger`, with
 * child loggers, a level filter and credential redaction.
 */
export {
  createLogger,
  InvalidLogLevelError,
  type JsonLoggerOptions,
  type LogLevel,
  type LogThreshold,
  logLevelEnv,
  parseLogLevel,
  REDACTED,
  type StructuredLogger,
  withFields,
} from "./logger.ts";
