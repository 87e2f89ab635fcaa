/**
 * What `.status` says of the operation: the operation itself after a
 * step's update, and the `Progressing` condition, the same sentence for
 * every system: True with what the operation waits for, False when idle.
 */
import type { ConditionUpdate } from "@ballast/runtime";
import { type Operation, withSummary } from "./operation.ts";

/**
 * The operation after `update`: null clears it, undefined keeps the one
 * recorded. Its summary is recomputed, never trusted as written.
 */
export function nextOperation(
  update: Operation | null | undefined,
  recorded: Operation | undefined,
): Operation | undefined {
  const op = update === null ? undefined : (update ?? recorded);
  return op ? withSummary(op) : undefined;
}

export function progressingCondition(operation: Operation | undefined): ConditionUpdate {
  return operation
    ? {
        type: "Progressing",
        status: "True",
        reason: operation.type,
        message: operation.waitingFor ?? operation.reason,
      }
    : { type: "Progressing", status: "False", reason: "Idle", message: "no operation in progress" };
}
