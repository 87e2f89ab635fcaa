/**
 * When a change of membership may start, and recording it. One operation
 * runs at a time; a membership change may cut in only where that is safe:
 *
 * - nothing runs, or a roll is between two members (no pod is down; the roll
 *   is planned again from the pods' templates once the scale is over);
 * - a scale-up may take back members of a scale-down that is still draining:
 *   their data is still on them, which is the point of taking them back.
 *
 * Otherwise it waits: never while a rolled member is still catching up, and
 * never once a scale-down has drained its members (their pods may be
 * stopping).
 */
import { Action } from "@ballast/runtime";
import type { Member, MembershipChange } from "../members/membership.ts";
import { type Operation, startOperation, withSummary } from "../operation/operation.ts";
import type { OperationIO, StepResult } from "../roll/roll.ts";

export function membershipMayChange(
  change: MembershipChange<Member>,
  operation: Operation | undefined,
): boolean {
  if (change.kind === "none" || change.kind === "refuse") return false;
  if (change.kind === "create" || !operation) return true;
  if (operation.type === "Roll") return operation.current === undefined;
  if (operation.type === "ScaleDown") return change.kind === "add" && !operation.drained;
  return false;
}

export interface MemberSetIO<M extends Member> extends OperationIO {
  /** Writes the member list and the operation (null clears it) to status together. */
  recordMembers(members: readonly M[], operation: Operation | null): Promise<void>;
}

/**
 * Records a create, add or remove (ids in status before any pod exists or
 * goes), with the operation it starts. "continue" when there is nothing to
 * record, or when the change must wait (see the module comment).
 */
export async function recordMembership<M extends Member>(
  change: MembershipChange<M>,
  operation: Operation | undefined,
  io: MemberSetIO<M>,
  name: (id: number) => string,
  now: Date = new Date(),
): Promise<StepResult> {
  if (!membershipMayChange(change, operation)) return "continue";
  switch (change.kind) {
    case "create":
      await io.recordMembers(change.members, operation ?? null);
      return Action.requeueAfter(0);
    case "add": {
      const what = `adding ${change.added.map(name).join(", ")}`;
      await io.recordMembers(
        change.members,
        withSummary({
          type: "ScaleUp",
          ...startOperation(what, now),
          summary: "",
          adding: change.added,
        }),
      );
      io.event({ reason: "ScaleUp", action: "AddMembers", note: what });
      return Action.requeueAfter(0);
    }
    case "remove": {
      const what = `removing ${change.removing.map(name).join(", ")}`;
      await io.recordMembers(
        change.members,
        withSummary({
          type: "ScaleDown",
          ...startOperation(what, now),
          summary: "",
          removing: change.removing,
        }),
      );
      io.event({ reason: "ScaleDown", action: "DrainMembers", note: `draining before ${what}` });
      return Action.requeueAfter(0);
    }
    default:
      return "continue";
  }
}
