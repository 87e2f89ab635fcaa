/**
 * May member X restart now? Redis's rules for the roll (a restart, an
 * upgrade, a configuration change that is not dynamic):
 *
 * 1. Never while the set is unsettled: `chooseMaster` must have one master
 *    with nothing to demote and no failover still finishing, and a
 *    majority of the sentinels must agree on it, so that Sentinel can
 *    still fail over if the master fails while a replica is down.
 * 2. Replicas first, one at a time, in id order, and only while every
 *    OTHER replica is in sync with the master (`syncState`: link up, listed
 *    online by the master, offset within the bound). The replica to restart
 *    may itself be down or behind: restarting it costs nothing more.
 * 3. The master never restarts as master. When it is the only member
 *    pending and every replica is in sync, the roll asks a sentinel for a
 *    controlled failover (`SENTINEL FAILOVER`) to the in-sync replica with
 *    the highest offset (`promotionCandidate`), through a sentinel that
 *    lists that replica as healthy (a sentinel that does not know it would
 *    abort with no good replica). Sentinel makes the final pick (replica
 *    priority, then the offsets it last saw, up to 10 s old, then run
 *    id), so the act layer (roll.ts) pauses writes and waits until every
 *    replica holds the paused master's offset (`caughtUp`) before asking:
 *    then every replica has the highest offset, and any pick keeps every
 *    write.
 * 4. The old master, now a replica, restarts last, by rule 2.
 *
 * A member restarted last is back (`restartedBlockers`) when it answers as
 * a replica in sync with the master.
 */

import { endpoint } from "../admin/port.ts";
import type { Blocker } from "./blockers.ts";
import { promotionCandidate } from "./candidate.ts";
import { chooseMaster, type MasterOptions } from "./master.ts";
import { sentinelAgreement } from "./sentinels.ts";
import {
  defaultSyncBound,
  memberAt,
  memberOf,
  monitoring,
  type ReplicationObservation,
  syncState,
} from "./state.ts";

export type RestartDecision =
  /** Nothing is pending. */
  | { kind: "done" }
  /** Delete replica `id`'s pod. */
  | { kind: "restart"; id: number }
  /** Ask sentinel `via` for `SENTINEL FAILOVER`, meant to promote `to`. */
  | { kind: "failover"; to: number; via: number }
  | { kind: "wait"; blockers: readonly Blocker[] };

/** The master, when the set is settled enough for a roll step; else why not. */
function settledMaster(
  obs: ReplicationObservation,
  options: MasterOptions,
): { master: number } | { blockers: Blocker[] } {
  const decision = chooseMaster(obs, options);
  if (decision.kind === "wait") {
    const demote: Blocker[] =
      decision.demote.length > 0 ? [{ kind: "DemotionPending", ids: decision.demote }] : [];
    return { blockers: [...decision.blockers, ...demote] };
  }
  if (decision.kind === "promote")
    return { blockers: [{ kind: "PromotionPending", id: decision.id }] };
  if (decision.demote.length > 0)
    return { blockers: [{ kind: "DemotionPending", ids: decision.demote }] };
  if (decision.finishing !== undefined)
    return { blockers: [{ kind: "FailoverInProgress", sentinel: decision.finishing }] };
  const agreement = sentinelAgreement(obs);
  if (agreement.master !== decision.id) {
    const agreeing = monitoring(obs).filter((s) => memberAt(obs, s.master) === decision.id).length;
    return { blockers: [{ kind: "SentinelsNotAgreeing", agreeing, needed: agreement.needed }] };
  }
  return { master: decision.id };
}

function notInSync(
  obs: ReplicationObservation,
  master: number,
  except: number | undefined,
  options: MasterOptions,
): Blocker[] {
  const blockers: Blocker[] = [];
  for (const m of obs.members) {
    if (m.id === master || m.id === except) continue;
    const state = syncState(obs, m.id, master, options.bound ?? defaultSyncBound);
    if (!state.inSync) blockers.push({ kind: "ReplicaNotInSync", id: m.id, why: state.why });
  }
  return blockers;
}

export function chooseNextRestart(
  pending: readonly number[],
  obs: ReplicationObservation,
  options: MasterOptions = {},
): RestartDecision {
  if (pending.length === 0) return { kind: "done" };
  const settled = settledMaster(obs, options);
  if ("blockers" in settled) return { kind: "wait", blockers: settled.blockers };
  const { master } = settled;

  const [next] = pending.filter((id) => id !== master).sort((a, b) => a - b);
  if (next !== undefined) {
    const blockers = notInSync(obs, master, next, options);
    return blockers.length > 0 ? { kind: "wait", blockers } : { kind: "restart", id: next };
  }

  // Only the master is pending: fail over first, never restart a master.
  const blockers = notInSync(obs, master, undefined, options);
  if (blockers.length > 0) return { kind: "wait", blockers };
  const to = promotionCandidate(obs, master, options.bound ?? defaultSyncBound);
  if (to === undefined) return { kind: "wait", blockers: [{ kind: "NoInSyncReplica" }] };
  const via = monitoring(obs).find(
    (s) =>
      memberAt(obs, s.master) === master &&
      !s.failoverInProgress &&
      s.replicas.some((r) => memberAt(obs, r.address) === to && !r.down && r.masterLinkOk),
  );
  if (!via) return { kind: "wait", blockers: [{ kind: "SentinelDoesNotKnowReplica", id: to }] };
  return { kind: "failover", to, via: via.id };
}

/** Why member `id`, restarted last, is not back yet; empty when it is. */
export function restartedBlockers(
  id: number,
  obs: ReplicationObservation,
  options: MasterOptions = {},
): Blocker[] {
  const decision = chooseMaster(obs, options);
  if (decision.kind === "wait") return [...decision.blockers];
  if (decision.kind === "promote") return [{ kind: "PromotionPending", id: decision.id }];
  if (decision.id === id) return [];
  const state = syncState(obs, id, decision.id, options.bound ?? defaultSyncBound);
  return state.inSync ? [] : [{ kind: "ReplicaNotInSync", id, why: state.why }];
}

/** Why a replica does not hold every write of the paused master yet. */
export type Behind =
  | "down"
  | "not-a-replica"
  | "following-another"
  | "syncing"
  | "other-history"
  | "behind";

export type CatchUp =
  | { ready: true; offset: number }
  | { ready: false; offset: number | undefined; behind: readonly { id: number; why: Behind }[] };

/**
 * Whether every one of `replicaIds` holds every write master `from`
 * accepted, read AFTER its writes were paused (its offset then stands
 * still): each answers as a replica of `from`, in the same replication
 * history, not loading or receiving a full resync, at an offset — the one
 * it has applied (`slave_repl_offset`) — at least the master's. Read from
 * the replicas themselves, not from the master's list of their
 * acknowledgements, which each refreshes only once a second: the same
 * answer, up to a second sooner.
 */
export function caughtUp(
  obs: ReplicationObservation,
  from: number,
  replicaIds: readonly number[],
): CatchUp {
  const master = memberOf(obs, from);
  const m = master?.report;
  if (!master || m?.role !== "master") {
    return { ready: false, offset: undefined, behind: [{ id: from, why: "not-a-replica" }] };
  }
  const behind = replicaIds.flatMap((id): { id: number; why: Behind }[] => {
    const r = memberOf(obs, id)?.report;
    if (!r?.reachable) return [{ id, why: "down" }];
    if (r.role !== "replica") return [{ id, why: "not-a-replica" }];
    if (endpoint(r.following) !== endpoint(master.address))
      return [{ id, why: "following-another" }];
    if (r.loading || r.syncInProgress) return [{ id, why: "syncing" }];
    if (r.replicationId !== m.replicationId) return [{ id, why: "other-history" }];
    return r.offset < m.offset ? [{ id, why: "behind" }] : [];
  });
  return behind.length === 0
    ? { ready: true, offset: m.offset }
    : { ready: false, offset: m.offset, behind };
}
