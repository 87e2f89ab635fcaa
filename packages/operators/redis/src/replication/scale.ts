/**
 * Scaling the replicas of a RedisReplication, on the shared scale state
 * machines (`@ballast/stateful`). Replicas hold no data of their own (all
 * read the master's one stream), so there is nothing to move either way.
 *
 * Scale-up (the new member ids recorded, their claims and pods created;
 * each starts as a replica of the master the sentinels name):
 * 1. Settled once every added member is a replica in sync with the master
 *    (`syncState`); until then status says which one is not and why.
 *
 * Scale-down (the newest members that are not the master recorded as
 * removing, see membership.ts):
 * 1. Drain: nothing to move; finished at once unless a member being
 *    removed has become the master since (a failover picked it): then it
 *    waits, naming it — the master is never removed.
 * 2. The shared machine records drained, stops each pod, then deletes its
 *    volume — the volume only after the pod is gone.
 * 3. Forget: nothing to send; the sentinels remember the removed replicas
 *    as down, and the repair step resets them one at a time
 *    (plan/repairs.ts: ghosts).
 */
import {
  actOnScaleDown,
  actOnScaleUp,
  type DataMoves,
  type Member,
  planScaleDown,
  type StepResult,
} from "@ballast/stateful";
import { describeBlocker } from "../plan/blockers.ts";
import { type ReplicationObservation, syncState } from "../plan/state.ts";
import { names } from "../resources.ts";
import { memberName, type ReplicationScope } from "./scope.ts";

export async function scale(
  s: ReplicationScope,
  members: readonly Member[],
  obs: ReplicationObservation,
): Promise<StepResult> {
  if (members.some((m) => m.removing)) {
    const step = planScaleDown(members, s.pods, s.operation, s.now());
    return actOnScaleDown(
      step,
      {
        name: memberName,
        claimName: (m) => names.claim(s.r, m.id),
        drain: async (removing) => drain(s, removing),
        forget: async () => {},
      },
      s.io(),
    );
  }
  return actOnScaleUp<Member>(
    s.operation,
    members,
    { name: memberName, settle: async (added) => settle(s, added, obs) },
    s.io(),
  );
}

function settle(
  s: ReplicationScope,
  added: readonly Member[],
  obs: ReplicationObservation,
): DataMoves {
  const master = s.master;
  const progress = { movesTotal: added.length };
  if (master === undefined)
    return {
      kind: "moving",
      waitingFor: "the set has no master to sync from",
      ...progress,
      movesRemaining: added.length,
    };
  const behind = added.flatMap((m) => {
    const state = syncState(obs, m.id, master);
    return state.inSync
      ? []
      : [describeBlocker({ kind: "ReplicaNotInSync", id: m.id, why: state.why })];
  });
  if (behind.length === 0) return { kind: "finished" };
  return {
    kind: "moving",
    waitingFor: behind.join("; "),
    ...progress,
    movesRemaining: behind.length,
  };
}

function drain(s: ReplicationScope, removing: readonly Member[]): DataMoves {
  const master = s.master ?? s.status.master;
  const isMaster = removing.find((m) => m.id === master);
  if (isMaster)
    return {
      kind: "moving",
      waitingFor: `member ${isMaster.id} is being removed but is the master: it is not removed while it is (a failover to another member comes first)`,
    };
  return { kind: "finished" };
}
