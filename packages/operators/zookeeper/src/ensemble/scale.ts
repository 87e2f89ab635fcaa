/**
 * Scaling a ZooKeeperEnsemble, on the shared scale state machines
 * (`@ballast/stateful`), by dynamic reconfiguration, one voter at a time.
 *
 * Scale-up (after the new member ids are recorded and their pods created;
 * each starts as a non-voting follower):
 * 1. Plan the next addition (plan/reconfig.ts): the lowest id not yet a
 *    voter, once it follows the leader and every voter serves.
 * 2. `reconfig -add` it through a serving voter; the outcome is read back
 *    from the ensemble's configuration, never taken from the CLI's exit.
 * 3. Record how many are added so far; the next reconcile adds the next.
 *    A jump 3 → 7 is four of these, and status says which one runs.
 *
 * Scale-down (members being removed recorded first):
 * 1. Drain = `reconfig -remove`, highest id first, one at a time, never
 *    the last voter, only while every staying voter serves.
 * 2. Once no member being removed is listed, the shared machine records
 *    drained, stops their pods, forgets them (nothing to do: the ensemble
 *    no longer lists them) and deletes their volumes — so a later
 *    scale-up with the same id starts with a clean volume.
 */
import {
  actOnScaleDown,
  actOnScaleUp,
  type DataMoves,
  type Member,
  planScaleDown,
  type ScaleDownHooks,
  type StepResult,
} from "@ballast/stateful";
import type { MemberAddress, ReconfigChange } from "../admin/port.ts";
import { describeBlocker } from "../plan/blockers.ts";
import { nextAddition, nextRemoval, type ReconfigStep } from "../plan/reconfig.ts";
import { type EnsembleObservation, serving } from "../plan/state.ts";
import { names, serverLine } from "../resources.ts";
import { type EnsembleScope, memberName } from "./scope.ts";

export async function scale(
  s: EnsembleScope,
  members: readonly Member[],
  obs: EnsembleObservation,
): Promise<StepResult> {
  if (members.some((m) => m.removing)) {
    const step = planScaleDown(members, s.pods, s.operation, s.now());
    return actOnScaleDown(step, scaleDownHooks(s, members, obs), s.io());
  }
  return actOnScaleUp<Member>(
    s.operation,
    members,
    {
      name: memberName,
      settle: (added) => {
        const adding = added.map((m) => m.id);
        return reconfigure(s, members, obs, adding, nextAddition(adding, obs), "adding");
      },
    },
    s.io(),
  );
}

function scaleDownHooks(
  s: EnsembleScope,
  members: readonly Member[],
  obs: EnsembleObservation,
): ScaleDownHooks<Member> {
  return {
    name: memberName,
    claimName: (m) => names.claim(s.e, m.id),
    drain: (removing) => {
      const ids = removing.map((m) => m.id);
      return reconfigure(s, members, obs, ids, nextRemoval(ids, obs), "removing");
    },
    // The ensemble stopped listing it before its pod was stopped: nothing left to forget.
    forget: async () => {},
  };
}

/** One reconfig step (or none), as the shared machines' `DataMoves`: a voter change is a "move". */
async function reconfigure(
  s: EnsembleScope,
  members: readonly Member[],
  obs: EnsembleObservation,
  ids: readonly number[],
  step: ReconfigStep,
  verb: "adding" | "removing",
): Promise<DataMoves> {
  if (step.kind === "done") return { kind: "finished" };
  const voters = obs.voters ?? [];
  const remaining = ids.filter((id) =>
    verb === "adding" ? !voters.includes(id) : voters.includes(id),
  );
  const oneAtATime = ids.length > 1 ? ` (one voter at a time: ${ids.join(", ")})` : "";
  const progress = { movesTotal: ids.length, movesRemaining: remaining.length };
  if (step.kind === "wait") {
    const next = remaining[0];
    const about = next === undefined ? "" : `${verb} member ${next}${oneAtATime}: `;
    return {
      kind: "moving",
      waitingFor: `${about}${step.blockers.map(describeBlocker).join("; ")}`,
      ...progress,
    };
  }
  const change: ReconfigChange =
    step.kind === "add"
      ? { kind: "add", id: step.id, line: serverLine(s.e, step.id) }
      : { kind: "remove", id: step.id };
  const via = reconfigVia(s, obs, step.id);
  const superUser = s.superUser;
  if (!via || !superUser)
    return { kind: "moving", waitingFor: `no serving voter to reconfigure through`, ...progress };
  const readBack = members.flatMap((m) => {
    const a = s.address(m.id);
    return a ? [a] : [];
  });
  const outcome = await s.deps.zookeeper.reconfig(via, change, readBack, superUser);
  const what = `${step.kind === "add" ? "added" : "removed"} member ${step.id} as a voter`;
  if (outcome.applied) {
    // The status written next must show the voters this change left, not
    // the ones observed before it ("removed member 5" beside member 5 still
    // flagged a voter, until the next reconcile looked again).
    if (outcome.voters) s.observation = { ...obs, voters: outcome.voters };
    s.event(
      verb === "adding" ? "ScaleUp" : "ScaleDown",
      "Reconfig",
      `${what}; voters now ${outcome.voters?.join(", ")}`,
    );
    const left = remaining.filter((id) => id !== step.id).length;
    return {
      kind: "moving",
      waitingFor: `${what}${oneAtATime}; ${left} to go`,
      movesTotal: ids.length,
      movesRemaining: left,
    };
  }
  s.event(
    verb === "adding" ? "ScaleUp" : "ScaleDown",
    "ReconfigNotApplied",
    `${verb} member ${step.id}: ${outcome.detail}`,
    "Warning",
  );
  return {
    kind: "moving",
    waitingFor: `${verb} member ${step.id}${oneAtATime}: not applied yet (${outcome.detail})`,
    ...progress,
  };
}

/**
 * The member to run zkCli.sh in: a serving voter other than the one
 * changing (so the CLI's own session survives a removal), the leader if
 * it is the only one.
 */
function reconfigVia(
  s: EnsembleScope,
  obs: EnsembleObservation,
  changing: number,
): MemberAddress | undefined {
  const candidates = (obs.voters ?? []).filter((id) => serving(obs.reports.get(id)));
  const preferred = candidates.find((id) => id !== changing) ?? candidates[0];
  return preferred === undefined ? undefined : s.address(preferred);
}
