/**
 * The one multi-step operation a member set runs at a time, as recorded in
 * `.status.operation`: a tagged union, so code narrows on `type` instead of
 * casting, and an operator killed at any line resumes from what it says.
 *
 * `OperationStatus()` is the schema every operator puts in its CRD (the API
 * server sees one object with `type` an enum and a rule per member);
 * `operationProgress()` is the one place that says how far along it is, for
 * the status summary, the metrics and the CLI alike.
 */
import Type, { type Static } from "typebox";
import type { MemberId } from "../members/ids.ts";

const common = {
  reason: Type.String({ description: "Why the operation runs, e.g. upgrade to 4.1.0." }),
  startedAt: Type.String({ description: "When it started (RFC 3339)." }),
  waitingFor: Type.Optional(
    Type.String({ description: "What the operation waits for now, if anything." }),
  ),
  summary: Type.String({ description: "One word and a count, e.g. Roll 2/3." }),
};

const ids = (description: string) => Type.Array(Type.Integer({ minimum: 0 }), { description });
const moves = {
  movesTotal: Type.Optional(
    Type.Integer({ minimum: 0, description: "Data moves (partitions, ranges) started so far." }),
  ),
  movesRemaining: Type.Optional(
    Type.Integer({ minimum: 0, description: "Data moves still to finish." }),
  ),
};

export const RollOperationSchema = Type.Object({
  type: Type.Literal("Roll", { description: "Roll, ScaleUp or ScaleDown." }),
  ...common,
  pending: ids("Roll: members still to restart."),
  done: ids("Roll: members restarted so far."),
  current: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: "Roll: the member restarted last, until it is back and caught up.",
    }),
  ),
  restartedPod: Type.Optional(
    Type.String({
      description:
        "Roll: uid of the pod deleted to restart `current`; its replacement has another uid.",
    }),
  ),
});

export const ScaleUpOperationSchema = Type.Object({
  type: Type.Literal("ScaleUp"),
  ...common,
  adding: ids("Scale: members being added."),
  ...moves,
});

export const ScaleDownOperationSchema = Type.Object({
  type: Type.Literal("ScaleDown"),
  ...common,
  removing: ids("Scale: members being drained and removed."),
  drained: Type.Optional(
    Type.Boolean({
      description:
        "ScaleDown: no data is left on the members being removed; they are stopped and forgotten next.",
    }),
  ),
  ...moves,
});

/** The schema of `.status.operation`. */
export function OperationStatus() {
  return Type.Union([RollOperationSchema, ScaleUpOperationSchema, ScaleDownOperationSchema], {
    description:
      "The multi-step operation in progress, one at a time; resumed after an operator restart.",
  });
}

export type RollOperation = Static<typeof RollOperationSchema>;
export type ScaleUpOperation = Static<typeof ScaleUpOperationSchema>;
export type ScaleDownOperation = Static<typeof ScaleDownOperationSchema>;
export type Operation = RollOperation | ScaleUpOperation | ScaleDownOperation;
export type OperationType = Operation["type"];
export const operationTypes: readonly OperationType[] = ["Roll", "ScaleUp", "ScaleDown"];

export interface Progress {
  done: number;
  total: number;
  /** done / total, 0 when there is nothing to count yet. */
  ratio: number;
}

/**
 * How far along: members restarted of all that need it for a roll, data
 * moves finished of those started for a scale operation.
 */
export function operationProgress(op: Operation | undefined): Progress {
  if (!op) return { done: 0, total: 0, ratio: 0 };
  if (op.type === "Roll") {
    const total = new Set([
      ...op.done,
      ...op.pending,
      ...(op.current === undefined ? [] : [op.current]),
    ]).size;
    const done = op.done.length;
    return { done, total, ratio: total === 0 ? 0 : done / total };
  }
  const total = op.movesTotal ?? 0;
  const done = Math.max(0, total - (op.movesRemaining ?? total));
  return { done, total, ratio: total === 0 ? 0 : done / total };
}

/** `Roll 2/3`, `ScaleUp 10/24`, or the bare type before anything is counted. */
export function operationSummary(op: Operation): string {
  const { done, total } = operationProgress(op);
  return total === 0 ? op.type : `${op.type} ${done}/${total}`;
}

/** A new operation's fields common to every type. */
export function startOperation(reason: string, now: Date): { reason: string; startedAt: string } {
  return { reason, startedAt: now.toISOString() };
}

/** The operation with its summary recomputed: call after every change to it. */
export function withSummary<O extends Operation>(op: O): O {
  return { ...op, summary: operationSummary(op) };
}

export type { MemberId };
