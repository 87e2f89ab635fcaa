/**
 * Scale-up, after the new members are recorded and their pods created:
 * the system settles them (`settle` hook: Kafka moves partitions onto them,
 * ZooKeeper adds them as voters, ...), asked every reconcile until it says
 * finished; then the operation is cleared.
 */
import { Action } from "@ballast/runtime";
import type { Member } from "../members/membership.ts";
import { type Operation, type ScaleUpOperation, withSummary } from "../operation/operation.ts";
import type { OperationIO, StepResult } from "../roll/roll.ts";
import { type DataMoves, movesProgress } from "./data-moves.ts";

export interface ScaleUpHooks<M extends Member> {
  settle(added: readonly M[], members: readonly M[], op: ScaleUpOperation): Promise<DataMoves>;
  name(member: M): string;
}

export async function actOnScaleUp<M extends Member>(
  operation: Operation | undefined,
  members: readonly M[],
  hooks: ScaleUpHooks<M>,
  io: OperationIO,
): Promise<StepResult> {
  if (operation?.type !== "ScaleUp") return "continue";
  const added = members.filter((m) => operation.adding.includes(m.id));
  const moves = await hooks.settle(added, members, operation);
  if (moves.kind === "moving") {
    await io.record(withSummary({ ...operation, ...movesProgress(moves) }));
    return Action.requeueAfter(io.busyRequeueMs);
  }
  io.event({
    reason: "ScaleUpComplete",
    action: "ScaleUp",
    note: `${added.map(hooks.name).join(", ") || "new members"} settled`,
  });
  await io.record(null);
  return Action.requeueAfter(0);
}
