/**
 * Status conditions (`status.conditions`, the `metav1.Condition` shape).
 *
 * `lastTransitionTime` says when `status` last flipped, not when the condition
 * was last written: `kubectl wait` and users read it as "Ready since …". So
 * setting a condition again with the same status keeps the old time, and
 * setting it to exactly what it is changes nothing, which lets a reconcile
 * that found nothing to do skip its status write.
 */

export type ConditionStatus = "True" | "False" | "Unknown";

export const ConditionStatus = Object.freeze({
  True: "True",
  False: "False",
  Unknown: "Unknown",
} as const);

/** The condition types every Ballast resource reports. */
export const ConditionType = Object.freeze({
  /** The resource does what its spec asks and serves traffic. */
  Ready: "Ready",
  /** A change is being rolled out (a restart, a scale, an upgrade). */
  Progressing: "Progressing",
  /** Something needs a human: bad input, a stuck operation. The message says what. */
  Degraded: "Degraded",
} as const);

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** The `.metadata.generation` the condition was computed from. */
  readonly observedGeneration?: number;
  /** RFC 3339 with whole seconds, as the API server stores it. */
  readonly lastTransitionTime: string;
  /** A CamelCase word for machines: `BrokersRolling`, `InvalidSpec`. */
  readonly reason: string;
  /** A sentence for humans; for failures, say what to fix. */
  readonly message: string;
}

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  /** @default "" */
  message?: string;
  /** Omit to leave the condition without one. */
  observedGeneration?: number;
}

/** A condition Kubernetes would reject; names the field and the bad value. */
export class InvalidConditionError extends Error {
  override name = "InvalidConditionError";
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, rule: string) {
    super(`invalid condition ${field} ${preview(value)}: ${rule}`);
    this.field = field;
    this.value = value;
  }
}

function preview(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  const short = text.length > 80 ? `${text.slice(0, 80)}… (${text.length} chars)` : text;
  return JSON.stringify(short);
}

// The limits of metav1.Condition's OpenAPI schema: a status write breaking
// them is rejected by the API server, far from the code that caused it.
const TYPE_PATTERN =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const TYPE_MAX = 316;
const REASON_PATTERN = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const REASON_MAX = 1024;
const MESSAGE_MAX = 32768;
const STATUSES: ReadonlySet<string> = new Set(Object.values(ConditionStatus));

/** Throws `InvalidConditionError` unless the API server would accept `update`. */
export function validateCondition(update: ConditionUpdate): void {
  const { type, status, reason, message = "", observedGeneration } = update;
  if (type.length > TYPE_MAX || !TYPE_PATTERN.test(type)) {
    throw new InvalidConditionError(
      "type",
      type,
      `must be a qualified name like "Ready" or "example.com/Ready", at most ${TYPE_MAX} characters`,
    );
  }
  if (!STATUSES.has(status)) {
    throw new InvalidConditionError("status", status, 'must be "True", "False" or "Unknown"');
  }
  if (reason.length > REASON_MAX || !REASON_PATTERN.test(reason)) {
    throw new InvalidConditionError(
      "reason",
      reason,
      `must be CamelCase (${REASON_PATTERN.source}), 1 to ${REASON_MAX} characters`,
    );
  }
  // Kubernetes counts characters (code points); UTF-16 length is an upper bound.
  if (message.length > MESSAGE_MAX && [...message].length > MESSAGE_MAX) {
    throw new InvalidConditionError(
      "message",
      message,
      `must be at most ${MESSAGE_MAX} characters`,
    );
  }
  if (
    observedGeneration !== undefined &&
    !(Number.isSafeInteger(observedGeneration) && observedGeneration >= 0)
  ) {
    throw new InvalidConditionError(
      "observedGeneration",
      observedGeneration,
      "must be an integer >= 0",
    );
  }
}

/**
 * RFC 3339 in UTC with whole seconds. The API server drops fractions of a
 * second, so writing them would make every comparison with the stored
 * status differ.
 */
export function formatConditionTime(time: Date): string {
  if (Number.isNaN(time.getTime())) {
    throw new InvalidConditionError("lastTransitionTime", time, "must be a valid date");
  }
  return time.toISOString().replace(/\.\d+Z$/, "Z");
}

/** The condition of `type`, if present. */
export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/** True if the condition of `type` is present with status "True". */
export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: string,
): boolean {
  return findCondition(conditions, type)?.status === "True";
}

/**
 * A new list with the condition of `update.type` added or replaced. Its
 * `lastTransitionTime` becomes `now` only when the condition is new or its
 * status changed. The input is never modified; conditions that did not change
 * are the same objects as before.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
): Condition[] {
  validateCondition(update);
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === update.type);
  const existing = list[index];
  const lastTransitionTime =
    existing && existing.status === update.status && existing.lastTransitionTime
      ? existing.lastTransitionTime
      : formatConditionTime(now);
  const next: Condition = {
    type: update.type,
    status: update.status,
    ...(update.observedGeneration === undefined
      ? {}
      : { observedGeneration: update.observedGeneration }),
    lastTransitionTime,
    reason: update.reason,
    message: update.message ?? "",
  };
  if (!existing) return [...list, next];
  if (!sameCondition(existing, next)) list[index] = next;
  return list;
}

/** A new list without the condition of `type`. */
export function removeCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}

function sameCondition(a: Condition, b: Condition): boolean {
  return (
    a.type === b.type &&
    a.status === b.status &&
    a.observedGeneration === b.observedGeneration &&
    a.lastTransitionTime === b.lastTransitionTime &&
    a.reason === b.reason &&
    a.message === b.message
  );
}
