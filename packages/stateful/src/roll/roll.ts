/**
 * The roll, act side: carries out what `planRoll` decided. The one
 * ordering that matters is step 5 of the plan: the operation (with the
 * member and the uid of its pod) is written to status BEFORE the delete.
 */
import { Action, type ControllerContext } from "@ballast/runtime";
import type { Member } from "../members/membership.ts";
import type { Operation } from "../operation/operation.ts";
import { deleteMemberPod } from "../pods/delete.ts";
import type { RollEvent, RollPlan } from "./plan.ts";

/** How the act side reaches the world; the controller supplies it (tests fake it). */
export interface OperationIO {
  ctx: Pick<ControllerContext, "client" | "signal">;
  /** Writes `.status.operation` (null clears it) and whatever status goes with it. */
  record(operation: Operation | null): Promise<void>;
  event(e: { reason: string; action: string; note: string }): void;
  /** How soon a set with an operation under way is looked at again. */
  busyRequeueMs: number;
}

/** An Action to return now, or "continue" with the next step of the pipeline. */
export type StepResult = Action | "continue";

export async function actOnRoll<M extends Member>(
  plan: RollPlan<M>,
  io: OperationIO,
): Promise<StepResult> {
  switch (plan.kind) {
    case "idle":
    case "yield":
      return "continue";
    case "wait":
      await io.record(plan.operation);
      emit(io, plan.events);
      return Action.requeueAfter(io.busyRequeueMs);
    case "restart":
      // Recorded first: an operator killed right after the delete still
      // waits for this member when it comes back.
      await io.record(plan.operation);
      await deleteMemberPod(io.ctx, plan.pod);
      emit(io, plan.events);
      return Action.requeueAfter(io.busyRequeueMs);
    case "complete":
      emit(io, plan.events);
      await io.record(null);
      return Action.requeueAfter(0);
  }
}

function emit(io: OperationIO, events: readonly RollEvent[]): void {
  for (const e of events) io.event(e);
}
