/**
 * The one health rule every ZooKeeper plan starts from: a leader in
 * broadcast, every voter serving, and the leader counting every voting
 * follower as synced. `except` leaves out a member the plan is about (the
 * one to restart may itself be down; restarting it costs nothing more).
 */
import type { Blocker } from "./blockers.ts";
import { type EnsembleObservation, serving } from "./state.ts";

export function ensembleBlockers(obs: EnsembleObservation, except?: number): Blocker[] {
  if (obs.leader === undefined || !obs.voters) return [{ kind: "NoQuorum" }];
  const blockers: Blocker[] = [];
  for (const id of obs.voters) {
    if (id !== except && !serving(obs.reports.get(id)))
      blockers.push({ kind: "VoterNotServing", id });
  }
  // A down voter left out (the one to restart or remove) cannot be synced: not expected.
  const downExcept =
    except !== undefined &&
    except !== obs.leader &&
    obs.voters.includes(except) &&
    !serving(obs.reports.get(except));
  const expected = obs.voters.length - 1 - (downExcept ? 1 : 0);
  const synced = obs.reports.get(obs.leader)?.syncedVotingFollowers ?? 0;
  if (blockers.length === 0 && synced < expected)
    blockers.push({ kind: "FollowersNotSynced", synced, expected });
  return blockers;
}
