/**
 * Errors of the Kubernetes client. `KubeApiError` carries the API server's
 * `Status` so callers branch on `reason`/`code` (through `isNotFound` and its
 * siblings) instead of parsing messages; its message names the object, so a
 * log line says which ConfigMap conflicted, not just that something did.
 */
import type { Status, StatusCause } from "./types.ts";

/** What the failed request was about, for the message. */
export interface ErrorSubject {
  kind?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  /** `GET /api/v1/...`, when no object is involved. */
  request?: string | undefined;
}

const reasonWords: Record<string, string> = {
  NotFound: "not found",
  AlreadyExists: "already exists",
  Conflict: "conflict",
  Forbidden: "forbidden",
  Unauthorized: "unauthorized",
  Invalid: "invalid",
  Gone: "gone",
  Expired: "expired",
  BadRequest: "bad request",
  MethodNotAllowed: "method not allowed",
  NotAcceptable: "not acceptable",
  UnsupportedMediaType: "unsupported media type",
  TooManyRequests: "too many requests",
  RequestEntityTooLarge: "request entity too large",
  InternalError: "internal error",
  ServiceUnavailable: "service unavailable",
  Timeout: "timeout",
  ServerTimeout: "server timeout",
};

function describeSubject(subject: ErrorSubject): string {
  if (subject.kind && subject.name) {
    const where = subject.namespace ? `${subject.namespace}/${subject.name}` : subject.name;
    return `${subject.kind} ${where}`;
  }
  if (subject.kind)
    return subject.namespace ? `${subject.kind} in ${subject.namespace}` : subject.kind;
  return subject.request ?? "request";
}

/** An answer of the API server other than success, with its `Status`. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  /** The HTTP status code (same as `status.code` when the server sent a Status). */
  readonly code: number;
  /** `NotFound`, `Conflict`, `Invalid`, … or `""` when the server gave none. */
  readonly reason: string;
  readonly status: Status;
  readonly subject: ErrorSubject;

  constructor(status: Status, httpCode: number, subject: ErrorSubject, options?: ErrorOptions) {
    const code = status.code ?? httpCode;
    const reason = status.reason ?? "";
    const word = reasonWords[reason] ?? (reason ? reason : `HTTP ${code}`);
    super(`${describeSubject(subject)}: ${word}: ${status.message ?? "(no message)"}`, options);
    this.code = code;
    this.reason = reason;
    this.status = status;
    this.subject = subject;
  }

  /** The field-level causes of an `Invalid` (422) answer, e.g. `spec.replicas`. */
  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }
}

/** The kind named by `apiVersion`/`kind` is not served by the cluster (even after rediscovery). */
export class NoKindMatchError extends Error {
  override name = "NoKindMatchError";
  readonly apiVersion: string;
  readonly kind: string;
  constructor(apiVersion: string, kind: string, options?: ErrorOptions) {
    super(
      `no resource for kind ${kind} in ${apiVersion}: the API server does not serve it`,
      options,
    );
    this.apiVersion = apiVersion;
    this.kind = kind;
  }
}

/** The connection failed before any answer (refused, reset, TLS, timeout). */
export class KubeConnectionError extends Error {
  override name = "KubeConnectionError";
  readonly request: string;
  constructor(request: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`${request}: no answer from the API server: ${why}`, { cause });
    this.request = request;
  }
}

function isApi(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError;
}

export function isNotFound(error: unknown): boolean {
  return (
    isApi(error) && (error.reason === "NotFound" || (error.reason === "" && error.code === 404))
  );
}

/** A 409: an optimistic-concurrency conflict, an SSA field conflict, or AlreadyExists. */
export function isConflict(error: unknown): boolean {
  return isApi(error) && error.code === 409;
}

export function isAlreadyExists(error: unknown): boolean {
  return isApi(error) && error.reason === "AlreadyExists";
}

export function isForbidden(error: unknown): boolean {
  return isApi(error) && error.code === 403;
}

export function isInvalid(error: unknown): boolean {
  return isApi(error) && error.code === 422;
}

/** A 410: the resourceVersion asked for is older than the server keeps. */
export function isGone(error: unknown): boolean {
  return (
    isApi(error) && (error.code === 410 || error.reason === "Expired" || error.reason === "Gone")
  );
}

/** Rethrows anything but NotFound; NotFound becomes `undefined`. */
export function ignoreNotFound(error: unknown): undefined {
  if (isNotFound(error)) return undefined;
  throw error;
}
