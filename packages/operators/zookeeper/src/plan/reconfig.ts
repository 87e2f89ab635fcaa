/**
 * May a voter be added or removed now? Membership changes by dynamic
 * reconfiguration, one voter at a time:
 *
 * Adding (scale-up, members recorded and their pods started as
 * non-voting followers):
 * 1. Done when every member being added is a voter and serving.
 * 2. Otherwise the lowest id not yet a voter is next, only once the
 *    ensemble is healthy (see health.ts) and that member is synced with
 *    the leader: a voter that cannot vote yet would count against the
 *    majority of the new configuration.
 *
 * Removing (scale-down):
 * 1. Done when no member being removed is a voter.
 * 2. Otherwise the highest id still a voter is next, only once the
 *    ensemble is healthy and it is not the last voter. Every staying
 *    voter serving means the new configuration has its majority at once.
 */
import type { Blocker } from "./blockers.ts";
import { ensembleBlockers } from "./health.ts";
import { type EnsembleObservation, serving } from "./state.ts";

export type ReconfigStep =
  | { kind: "done" }
  | { kind: "add"; id: number }
  | { kind: "remove"; id: number }
  | { kind: "wait"; blockers: Blocker[] };

export function nextAddition(adding: readonly number[], obs: EnsembleObservation): ReconfigStep {
  if (!obs.voters || obs.leader === undefined)
    return { kind: "wait", blockers: [{ kind: "NoQuorum" }] };
  const voters = obs.voters;
  const next = [...adding].sort((a, b) => a - b).find((id) => !voters.includes(id));
  if (next === undefined) {
    const notServing = adding.filter((id) => !serving(obs.reports.get(id)));
    if (notServing.length === 0) return { kind: "done" };
    return { kind: "wait", blockers: notServing.map((id) => ({ kind: "VoterNotServing", id })) };
  }
  const blockers = ensembleBlockers(obs);
  if (!serving(obs.reports.get(next))) blockers.push({ kind: "JoinerNotSynced", id: next });
  return blockers.length > 0 ? { kind: "wait", blockers } : { kind: "add", id: next };
}

export function nextRemoval(removing: readonly number[], obs: EnsembleObservation): ReconfigStep {
  if (!obs.voters || obs.leader === undefined)
    return { kind: "wait", blockers: [{ kind: "NoQuorum" }] };
  const voters = obs.voters;
  const next = [...removing].sort((a, b) => b - a).find((id) => voters.includes(id));
  if (next === undefined) return { kind: "done" };
  if (voters.length <= 1) return { kind: "wait", blockers: [{ kind: "LastVoter", id: next }] };
  // The member being removed may itself be down: removing it only helps.
  const blockers = ensembleBlockers(obs, next);
  return blockers.length > 0 ? { kind: "wait", blockers } : { kind: "remove", id: next };
}
