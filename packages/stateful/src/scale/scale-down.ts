/**
 * Scale-down: drain, stop, forget, delete the volume — in that order, and
 * resumable after an operator kill at any line.
 *
 * 1. Drain: the system moves data off the members being removed (`drain`
 *    hook, asked every reconcile until it says finished). Their pods are
 *    kept running meanwhile (and recreated if something deletes one), since
 *    the data can only leave from a running member. A drain that finds it
 *    cannot finish without losing data (Kafka: a topic that needs more
 *    brokers than would stay, created or first seen after the removal was
 *    recorded) refuses: the removal is called off, members kept, operation
 *    cleared. Nothing has stopped yet, so that loses nothing; the next
 *    reconcile plans the membership again, and the system's own start check
 *    reports why the scale-down is refused.
 * 2. Record `drained: true` in the operation, before any pod is stopped: a
 *    restarted operator must not mistake a stopped member for a drained one,
 *    or a drained one for one still holding data.
 * 3. Stop each member's pod (`beforeStop` hook first), one at a time, and
 *    wait until it is gone.
 * 4. Forget each member in the data system (`forget` hook, idempotent), then
 *    delete its volume — only now, when nothing can need its data — and
 *    record the member list without them, with the operation cleared.
 */
import { Action, type ControllerContext, isNotFound } from "@ballast/runtime";
import type { Member } from "../members/membership.ts";
import {
  type Operation,
  type ScaleDownOperation,
  startOperation,
  withSummary,
} from "../operation/operation.ts";
import { deleteMemberPod } from "../pods/delete.ts";
import type { PodLike } from "../pods/pods.ts";
import type { StepResult } from "../roll/roll.ts";
import { type DataMoves, movesProgress } from "./data-moves.ts";
import type { MemberSetIO } from "./membership-change.ts";

/** The drain cannot finish without losing data; `message` says what is in the way. */
export interface DrainRefused {
  kind: "refused";
  message: string;
}

export interface ScaleDownHooks<M extends Member> {
  /**
   * Moves data off `removing` onto `staying`; "finished" once none is left
   * on them, "refused" when it never can be (the removal is called off).
   */
  drain(
    removing: readonly M[],
    staying: readonly M[],
    op: ScaleDownOperation,
  ): Promise<DataMoves | DrainRefused>;
  /** Just before a drained member's pod is deleted. */
  beforeStop?(member: M): Promise<void>;
  /** After its pod is gone: the data system forgets the member. Called again after a kill: idempotent. */
  forget(member: M): Promise<void>;
  /** The member's PersistentVolumeClaim, deleted last. */
  claimName(member: M): string;
  name(member: M): string;
}

export type ScaleDownStep<M> =
  | { kind: "none" }
  | {
      kind: "drain";
      members: readonly M[];
      removing: M[];
      staying: M[];
      operation: ScaleDownOperation;
    }
  | { kind: "stop"; member: M; pod: PodLike; operation: ScaleDownOperation }
  | { kind: "await-stop"; member: M; operation: ScaleDownOperation }
  | { kind: "forget"; removing: M[]; staying: M[]; operation: ScaleDownOperation };

/** Pure: where a scale-down stands, from the members, their pods and the operation. */
export function planScaleDown<M extends Member>(
  members: readonly M[],
  pods: ReadonlyMap<number, PodLike>,
  recorded: Operation | undefined,
  now: Date,
): ScaleDownStep<M> {
  const removing = members.filter((m) => m.removing);
  if (removing.length === 0) return { kind: "none" };
  const staying = members.filter((m) => !m.removing);
  // Members marked removing by an older operator, or an operation lost: start over at the drain.
  const operation: ScaleDownOperation =
    recorded?.type === "ScaleDown"
      ? recorded
      : withSummary({
          type: "ScaleDown",
          ...startOperation(`removing ${removing.map((m) => m.id).join(", ")}`, now),
          summary: "",
          removing: removing.map((m) => m.id),
        });
  if (!operation.drained) return { kind: "drain", members, removing, staying, operation };
  for (const member of removing) {
    const pod = pods.get(member.id);
    if (pod && !pod.metadata.deletionTimestamp) return { kind: "stop", member, pod, operation };
    if (pod) return { kind: "await-stop", member, operation };
  }
  return { kind: "forget", removing, staying, operation };
}

/** `members` with every removal taken back. */
export function keepAll<M extends Member>(members: readonly M[]): M[] {
  return members.map((m) => {
    if (!m.removing) return m;
    const kept = { ...m };
    delete (kept as { removing?: boolean }).removing;
    return kept;
  });
}

/** Whether a member needs a running pod: every member, except one drained for removal. */
export function needsPod(member: Member, operation: Operation | undefined): boolean {
  return !member.removing || !(operation?.type === "ScaleDown" && operation.drained);
}

export async function actOnScaleDown<M extends Member>(
  step: ScaleDownStep<M>,
  hooks: ScaleDownHooks<M>,
  io: MemberSetIO<M> & { ctx: Pick<ControllerContext, "client" | "signal">; namespace: string },
): Promise<StepResult> {
  switch (step.kind) {
    case "none":
      return "continue";
    case "drain": {
      const moves = await hooks.drain(step.removing, step.staying, step.operation);
      if (moves.kind === "refused") {
        // Step 1's refusal: drained is not recorded, so no pod has stopped.
        io.event({
          reason: "ScaleDownCalledOff",
          action: "ScaleDown",
          note: `keeping ${step.removing.map(hooks.name).join(", ")}: ${moves.message}`,
        });
        await io.recordMembers(keepAll(step.members), null);
        return Action.requeueAfter(0);
      }
      if (moves.kind === "moving") {
        await io.record(withSummary({ ...step.operation, ...movesProgress(moves) }));
        return Action.requeueAfter(io.busyRequeueMs);
      }
      // Step 2: recorded before anything stops.
      await io.record(
        withSummary({
          ...step.operation,
          drained: true,
          waitingFor: `${step.removing.map(hooks.name).join(", ")} to stop`,
        }),
      );
      return Action.requeueAfter(0);
    }
    case "stop":
      await hooks.beforeStop?.(step.member);
      await deleteMemberPod(io.ctx, step.pod);
      await io.record(
        withSummary({ ...step.operation, waitingFor: `${hooks.name(step.member)} to stop` }),
      );
      return Action.requeueAfter(io.busyRequeueMs);
    case "await-stop":
      await io.record(
        withSummary({ ...step.operation, waitingFor: `${hooks.name(step.member)} to stop` }),
      );
      return Action.requeueAfter(io.busyRequeueMs);
    case "forget": {
      for (const member of step.removing) {
        await hooks.forget(member);
        try {
          await io.ctx.client.delete(
            { apiVersion: "v1", kind: "PersistentVolumeClaim" },
            { namespace: io.namespace, name: hooks.claimName(member) },
            { signal: io.ctx.signal },
          );
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      io.event({
        reason: "ScaleDownComplete",
        action: "ScaleDown",
        note: `removed ${step.removing.map(hooks.name).join(", ")}`,
      });
      await io.recordMembers(step.staying, null);
      return Action.requeueAfter(0);
    }
  }
}
