/**
 * Errors of the Kafka admin client. One class: what failed is data (the
 * call, the resource, Kafka's error code and name), so callers can branch on
 * `codeName` ("UNKNOWN_TOPIC_OR_PARTITION", "NO_REASSIGNMENT_IN_PROGRESS", ...)
 * without parsing messages.
 */
import { protocolErrorsCodesById } from "@platformatic/kafka";

export interface KafkaAdminErrorDetails {
  /** The Kafka API or admin method that failed, e.g. "DescribeConfigs". */
  call: string;
  /** The resource Kafka blamed, e.g. `topic "orders"`, `broker 2`, `orders-3`. */
  resource?: string;
  /** Kafka's numeric error code, when Kafka answered with one. */
  code?: number;
  /** Kafka's name for `code`, e.g. "POLICY_VIOLATION". */
  codeName?: string;
  /** Kafka's own error message, when it sent one. */
  serverMessage?: string | null;
  cause?: unknown;
}

export class KafkaAdminError extends Error {
  override name = "KafkaAdminError";
  readonly call: string;
  readonly resource: string | undefined;
  readonly code: number | undefined;
  readonly codeName: string | undefined;
  readonly serverMessage: string | undefined;

  constructor(message: string, details: KafkaAdminErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.call = details.call;
    this.resource = details.resource;
    this.code = details.code;
    this.codeName = details.codeName;
    this.serverMessage = details.serverMessage ?? undefined;
  }
}

export function errorName(code: number): string {
  return (
    (protocolErrorsCodesById as Record<number, string | undefined>)[code] ??
    `UNKNOWN_ERROR_CODE_${code}`
  );
}

/** Throws a `KafkaAdminError` when `code` is non-zero. */
export function check(
  code: number,
  serverMessage: string | null | undefined,
  call: string,
  resource?: string,
): void {
  if (code === 0) return;
  const codeName = errorName(code);
  const where = resource ? ` for ${resource}` : "";
  const detail = serverMessage ? `: ${serverMessage}` : "";
  throw new KafkaAdminError(`${call} failed${where}: ${codeName}${detail}`, {
    call,
    code,
    codeName,
    serverMessage: serverMessage ?? null,
    ...(resource === undefined ? {} : { resource }),
  });
}
