/**
 * The roll state machine, pure: given the operation recorded in status,
 * the members, their pods and what the data system reports, what happens
 * next. One member at a time:
 *
 * 1. Another operation (a scale) is recorded: the roll yields until it ends.
 * 2. A member restarted last (`current`) must be back before anything else:
 *    a NEW pod (not the uid we deleted: the cache may still show the old
 *    one), Ready, and caught up in the system's terms (`caughtUp` hook).
 *    Until then the roll waits, saying why.
 * 3. Members whose pod is stale (built from another template, or needing a
 *    restart for configuration) are pending. None left: the roll completes.
 * 4. The system chooses the next member (`chooseNext` hook: its safety
 *    rules, e.g. ISR ≥ min.insync.replicas without it) or says why none may
 *    restart yet.
 * 5. The choice is recorded in status as `current` (with the pod's uid)
 *    BEFORE the pod is deleted, so an operator killed between the two still
 *    waits for that member when it comes back — and deletes that pod, if
 *    it finds it still running and not being deleted (the kill came before
 *    the delete).
 *
 * The act side (`roll.ts`) records, deletes with a uid precondition and
 * emits the events this plan lists.
 */
import type { MemberId } from "../members/ids.ts";
import type { Member } from "../members/membership.ts";
import {
  type Operation,
  type OperationType,
  type RollOperation,
  startOperation,
  withSummary,
} from "../operation/operation.ts";
import { type PodLike, podReady, podStartProblem } from "../pods/pods.ts";

export type RollChoice<M> =
  | { kind: "restart"; member: M }
  | { kind: "wait"; blockers: readonly string[] };

/** What a system supplies to the roll: its safety rules. */
export interface RollHooks<M extends Member, O> {
  /**
   * The next of `pending` to restart, or why none may yet. `lastRestarted`
   * is the member restarted just before (back and caught up by now), for
   * rules that look at it again.
   */
  chooseNext(pending: readonly M[], observed: O, lastRestarted: M | undefined): RollChoice<M>;
  /** Why `member`, whose new pod is Ready, is not yet back in the system; empty when it is. */
  caughtUp(member: M, observed: O): readonly string[];
}

export interface RollInput<M extends Member, O> {
  operation: Operation | undefined;
  members: readonly M[];
  pods: ReadonlyMap<MemberId, PodLike>;
  /** Whether `pod` must be replaced for `member` to run what the spec says. */
  stale(member: M, pod: PodLike): boolean;
  observed: O;
  hooks: RollHooks<M, O>;
  /** Why a new roll starts (asked only when one does), e.g. "upgrade to Kafka 4.1.0". */
  reason(pending: readonly M[]): string;
  /** How messages name a member, e.g. "node 2". */
  name(member: M): string;
  now: Date;
}

export interface RollEvent {
  reason: "Rolling" | "RollComplete";
  action: "RestartMember" | "MemberRestarted" | "Roll";
  note: string;
}

export type RollPlan<M> =
  /** No pod is stale and no roll is recorded. */
  | { kind: "idle" }
  /** Another operation is recorded; the roll waits for it to end. */
  | { kind: "yield"; to: OperationType }
  /** Record `operation` (what the roll waits for) and look again soon. */
  | { kind: "wait"; operation: RollOperation; events: RollEvent[] }
  /** Record `operation` (with `member` as current), then delete `pod`. */
  | { kind: "restart"; operation: RollOperation; member: M; pod: PodLike; events: RollEvent[] }
  /** Every member runs what the spec says: clear the operation. */
  | { kind: "complete"; done: MemberId[]; events: RollEvent[] };

export function planRoll<M extends Member, O>(input: RollInput<M, O>): RollPlan<M> {
  const { operation: op, members, pods, hooks, observed, name } = input;
  if (op && op.type !== "Roll") return { kind: "yield", to: op.type };

  const events: RollEvent[] = [];
  const done = [...(op?.done ?? [])];
  let lastRestarted: M | undefined;
  if (op?.current !== undefined) {
    const member = members.find((m) => m.id === op.current);
    // A member removed from the set meanwhile is not waited for.
    if (member) {
      const pod = pods.get(member.id);
      if (pod && !pod.metadata.deletionTimestamp && isRecordedPod(input, member, pod, op)) {
        // Recorded but never deleted (the operator died in between): delete it now.
        return { kind: "restart", operation: op, member, pod, events };
      }
      if (pod && !pod.metadata.deletionTimestamp && !podReady(pod) && input.stale(member, pod)) {
        // Its new pod cannot start and the spec changed since (a version
        // typo, then fixed): replace that pod with one of the fixed spec
        // now, instead of waiting forever for the broken one. The member is
        // down already, so no second member goes down by this.
        events.push({
          reason: "Rolling",
          action: "RestartMember",
          note: `restarting ${name(member)} again: its new pod did not start and the spec has changed since`,
        });
        const operation = withSummary({
          ...op,
          ...(pod.metadata.uid ? { restartedPod: pod.metadata.uid } : {}),
          waitingFor: `${name(member)} is restarting with the changed spec`,
        });
        return { kind: "restart", operation, member, pod, events };
      }
      const blockers = restartedMemberBlockers(input, member, op);
      if (blockers.length > 0)
        return {
          kind: "wait",
          operation: withSummary({ ...op, waitingFor: blockers.join("; ") }),
          events,
        };
      lastRestarted = member;
      events.push({
        reason: "Rolling",
        action: "MemberRestarted",
        note: `${name(member)} is back and caught up`,
      });
    }
    if (!done.includes(op.current)) done.push(op.current);
  }

  const pending = members.filter((m) => {
    const pod = pods.get(m.id);
    return (
      !m.removing && pod !== undefined && !pod.metadata.deletionTimestamp && input.stale(m, pod)
    );
  });
  if (pending.length === 0) {
    if (!op) return { kind: "idle" };
    const names = members.filter((m) => done.includes(m.id)).map(name);
    events.push({
      reason: "RollComplete",
      action: "Roll",
      note: `restarted ${done.length}: ${names.join(", ") || "none still in the set"}`,
    });
    return { kind: "complete", done, events };
  }

  const base: RollOperation = op ?? {
    type: "Roll",
    ...startOperation(input.reason(pending), input.now),
    summary: "Roll",
    pending: [],
    done: [],
  };
  const { current: _current, restartedPod: _uid, waitingFor: _waiting, ...rest } = base;
  const choice = hooks.chooseNext(pending, observed, lastRestarted);
  const pendingIds = pending.map((m) => m.id);
  if (choice.kind === "wait") {
    return {
      kind: "wait",
      operation: withSummary({
        ...rest,
        pending: pendingIds,
        done,
        waitingFor: choice.blockers.join("; "),
      }),
      events,
    };
  }
  const member = choice.member;
  const pod = pods.get(member.id);
  if (!pod || !pendingIds.includes(member.id)) {
    throw new Error(`chooseNext returned ${name(member)}, which is not pending`);
  }
  const operation = withSummary({
    ...rest,
    pending: pendingIds.filter((id) => id !== member.id),
    done,
    current: member.id,
    ...(pod.metadata.uid ? { restartedPod: pod.metadata.uid } : {}),
    waitingFor: `${name(member)} is restarting`,
  });
  const { done: count, total } = { done: done.length + 1, total: done.length + pendingIds.length };
  events.push({
    reason: "Rolling",
    action: "RestartMember",
    note: `restarting ${name(member)} (${count}/${total})`,
  });
  return { kind: "restart", operation, member, pod, events };
}

/** Whether `pod` is the one the roll decided to delete (by uid; by staleness in older records). */
function isRecordedPod<M extends Member, O>(
  input: Pick<RollInput<M, O>, "stale">,
  member: M,
  pod: PodLike,
  op: RollOperation,
): boolean {
  return op.restartedPod ? pod.metadata.uid === op.restartedPod : input.stale(member, pod);
}

/**
 * The generic half of "is the member restarted last back?": its new pod
 * exists, is not the one deleted, and is Ready; then the system's half.
 */
export function restartedMemberBlockers<M extends Member, O>(
  input: Pick<RollInput<M, O>, "pods" | "stale" | "hooks" | "observed" | "name">,
  member: M,
  op: RollOperation,
): readonly string[] {
  const pod = input.pods.get(member.id);
  const who = input.name(member);
  if (!pod || pod.metadata.deletionTimestamp) return [`${who} is restarting`];
  if (isRecordedPod(input, member, pod, op)) return [`${who}'s old pod is still being replaced`];
  if (!podReady(pod)) return [startingMessage(who, pod)];
  return input.hooks.caughtUp(member, input.observed);
}

/** "node 2 is starting", or why it is not: a crash loop and its last message, an image that cannot be pulled. */
function startingMessage(who: string, pod: PodLike): string {
  const problem = podStartProblem(pod);
  return problem ? `${who} is not starting: ${problem}` : `${who} is starting`;
}
