/**
 * Which members a set has: decided once per change of the desired count and
 * recorded in status before anything is created or removed, so an operator
 * restarted at any line finds the same ids and the same removals under way.
 * Pure: the controller writes what `planMembership` returns.
 *
 * The rules every system shares:
 * 1. No members recorded yet: the system's initial list.
 * 2. Scale-up first takes back members still draining (their data is still
 *    there), then adds the lowest free ids.
 * 3. Scale-down marks the newest removable members `removing`; they are
 *    drained, stopped and forgotten later (see `scale/scale-down.ts`).
 * 4. A scale-down that would need a member the system cannot remove
 *    (a Kafka controller, ...) is refused with a message saying what to set.
 */
import { assignIds, type MemberId } from "./ids.ts";

/** What status records of every member; systems add their own fields (roles, ...). */
export interface Member {
  readonly id: MemberId;
  /** Being drained for removal: still a member until it is forgotten. */
  readonly removing?: boolean;
}

export interface MembershipPolicy<M extends Member> {
  /** The members of a new set. */
  initial(): M[];
  /** How many members the spec asks for (counted by `counts`). */
  desired: number;
  /** Whether a member counts against `desired` (Kafka: brokers). @default every member */
  counts?(member: M): boolean;
  /** Whether a member may be removed by a scale-down. @default every member */
  removable?(member: M): boolean;
  /** The lowest id a new member may get (ZooKeeper: 1). @default 0 */
  firstId?: number;
  /** A new member with this id. */
  create(id: MemberId): M;
  /** The refusal, when fewer removable members exist than a scale-down needs. */
  refusal(have: number, removable: number): string;
}

export type MembershipChange<M extends Member> =
  | { kind: "none" }
  | { kind: "create"; members: M[] }
  | { kind: "add"; members: M[]; added: MemberId[] }
  | { kind: "remove"; members: M[]; removing: MemberId[] }
  | { kind: "refuse"; message: string };

/** Members that stay and count: the ones `desired` is compared with. */
export function activeMembers<M extends Member>(
  members: readonly M[],
  counts: (m: M) => boolean = () => true,
): M[] {
  return members.filter((m) => counts(m) && !m.removing);
}

export function planMembership<M extends Member>(
  current: readonly M[] | undefined,
  policy: MembershipPolicy<M>,
): MembershipChange<M> {
  if (!current || current.length === 0) return { kind: "create", members: policy.initial() };
  const counts = policy.counts ?? (() => true);
  const active = activeMembers(current, counts);
  const want = policy.desired;
  if (want === active.length) return { kind: "none" };

  if (want > active.length) {
    let missing = want - active.length;
    const members = current.map((m) => ({ ...m }));
    const kept: MemberId[] = [];
    for (const member of members.filter((m) => m.removing).sort(byId)) {
      if (missing === 0) break;
      delete (member as { removing?: boolean }).removing;
      kept.push(member.id);
      missing--;
    }
    const ids = assignIds(
      members.map((m) => m.id),
      missing,
      policy.firstId ?? 0,
    );
    for (const id of ids) members.push(policy.create(id));
    return { kind: "add", members: members.sort(byId), added: [...kept, ...ids] };
  }

  const excess = active.length - want;
  const removable = active.filter((m) => policy.removable?.(m) ?? true).sort((a, b) => b.id - a.id);
  if (removable.length < excess) {
    return { kind: "refuse", message: policy.refusal(active.length, removable.length) };
  }
  const removing = removable.slice(0, excess).map((m) => m.id);
  const members = current.map((m) => (removing.includes(m.id) ? { ...m, removing: true } : m));
  return { kind: "remove", members, removing };
}

function byId(a: Member, b: Member): number {
  return a.id - b.id;
}
