/**
 * An owned object the API server refused to create or update: invalid (422),
 * forbidden (403: RBAC, a ResourceQuota, a terminating namespace), a bad
 * request (400) or too large (413). Retrying does not help until someone
 * changes something, so it is not an exception that only logs: it becomes
 * `Degraded=True, ObjectRejected` with the server's own message, naming the
 * object, and the set is looked at again slowly.
 *
 * What is transient (a conflict, 429, 5xx, a lost connection) stays the
 * error it was, for the work queue's backoff.
 */
import {
  Action,
  type Condition,
  type ConditionUpdate,
  KubeApiError,
  type KubeObject,
  setCondition,
} from "@ballast/runtime";

/** How long to wait before trying a refused object again: a person has to change something. */
export const rejectedRetryMs = 30_000;

const refusedCodes = new Set([400, 403, 413, 422]);

/** The object a sync step refused, with the API server's answer. */
export class ObjectRejectedError extends Error {
  override name = "ObjectRejectedError";
  /** e.g. "Service", "Pod". */
  readonly kind: string;
  readonly objectName: string;
  /** The HTTP status code of the refusal. */
  readonly code: number;
  /** The API server's reason: "Invalid", "Forbidden", … */
  readonly reason: string;
  /** The API server's message, as it sent it. */
  readonly serverMessage: string;

  constructor(verb: "create" | "apply", object: KubeObject, cause: KubeApiError) {
    const kind = object.kind ?? "object";
    const name = object.metadata.name ?? "";
    const serverMessage = cause.status.message ?? cause.message;
    super(`the API server refused to ${verb} ${kind} ${name}: ${serverMessage}`, { cause });
    this.kind = kind;
    this.objectName = name;
    this.code = cause.code;
    this.reason = cause.reason;
    this.serverMessage = serverMessage;
  }
}

/** True for an answer that retrying the same request cannot change. */
export function isRefusal(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && refusedCodes.has(err.code);
}

/** `err` as an `ObjectRejectedError` when it is a refusal of `object`; otherwise `err` itself. */
export function asRejection(err: unknown, verb: "create" | "apply", object: KubeObject): unknown {
  return isRefusal(err) ? new ObjectRejectedError(verb, object, err) : err;
}

const maxMessage = 2000;

/** The `Degraded` condition that says which object was refused, why, and what to do. */
export function rejectedCondition(
  err: ObjectRejectedError,
): ConditionUpdate & { reason: string; message: string } {
  const hint =
    err.code === 403
      ? "check the operator's RBAC and the namespace's ResourceQuota"
      : "fix the spec (or name) it is derived from";
  const text = `${err.message} (${err.reason || `HTTP ${err.code}`}); ${hint}`;
  return {
    type: "Degraded",
    status: "True",
    reason: "ObjectRejected",
    message: text.length > maxMessage ? `${text.slice(0, maxMessage - 1)}…` : text,
  };
}

/**
 * `conditions` with `Degraded` set to the refusal (at `generation`), or
 * `undefined` when `Degraded` already says exactly that (no write then).
 */
export function withRejection(
  conditions: readonly Condition[] | undefined,
  generation: number | undefined,
  err: ObjectRejectedError,
  now: Date,
): Condition[] | undefined {
  const update = {
    ...rejectedCondition(err),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
  const current = conditions?.find((c) => c.type === "Degraded");
  if (
    current?.status === update.status &&
    current.reason === update.reason &&
    current.message === update.message &&
    current.observedGeneration === update.observedGeneration
  )
    return undefined;
  return setCondition(conditions, update, now);
}

/**
 * Runs an object sync step; an object the API server refused is reported
 * through `report` (the kind's own status writer, so there is one writer of
 * its conditions) and the set is looked at again in `rejectedRetryMs`. Any
 * other error is the error it was.
 */
export async function syncReportingRejection<T>(
  sync: () => Promise<T>,
  report: (reason: string, message: string) => Promise<unknown>,
): Promise<{ synced: T } | { retry: Action }> {
  try {
    return { synced: await sync() };
  } catch (err) {
    if (!(err instanceof ObjectRejectedError)) throw err;
    const { reason, message } = rejectedCondition(err);
    await report(reason, message);
    return { retry: Action.requeueAfter(rejectedRetryMs) };
  }
}
