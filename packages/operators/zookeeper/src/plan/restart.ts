/**
 * May member X restart now? ZooKeeper's rules for the roll:
 *
 * 1. Never while the ensemble is unhealthy: no leader, a voter (other than
 *    X) not serving, or the leader counting fewer synced voting followers
 *    than it has. Restarting X then could cost the quorum.
 * 2. Followers (and non-voters) first, in id order; the leader last, so the
 *    ensemble elects a new leader once, not once per member.
 * 3. The member restarted last must be back before the next: answering,
 *    in broadcast, a voter again if it was one, and the leader counting
 *    every voting follower synced (`zk_synced_followers`).
 */
import type { Blocker } from "./blockers.ts";
import { ensembleBlockers } from "./health.ts";
import { type EnsembleObservation, serving } from "./state.ts";

export type RestartDecision = { restart: number } | { wait: Blocker[] };

export function chooseNextRestart(
  pending: readonly number[],
  obs: EnsembleObservation,
): RestartDecision {
  const ordered = [...pending].sort((a, b) => {
    const leaderLast = Number(a === obs.leader) - Number(b === obs.leader);
    return leaderLast || a - b;
  });
  const candidate = ordered[0];
  if (candidate === undefined) return { wait: [] };
  const blockers = ensembleBlockers(obs, candidate);
  return blockers.length > 0 ? { wait: blockers } : { restart: candidate };
}

/** Why the member restarted last is not back yet; empty when it is. */
export function restartedBlockers(
  id: number,
  obs: EnsembleObservation,
  wasVoter = true,
): Blocker[] {
  const report = obs.reports.get(id);
  if (!report?.reachable) return [{ kind: "NotBack", id, why: "down" }];
  if (!serving(report)) return [{ kind: "NotBack", id, why: "not-serving" }];
  if (wasVoter && obs.voters && !obs.voters.includes(id))
    return [{ kind: "NotBack", id, why: "not-a-voter" }];
  return ensembleBlockers(obs);
}
