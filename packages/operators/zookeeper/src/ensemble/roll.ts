/**
 * ZooKeeper's rolling restart, on the shared roll state machine
 * (`@ballast/stateful` planRoll → actOnRoll). What ZooKeeper adds:
 *
 * 1. Which pods are stale: built from another template (image, zoo.cfg,
 *    JVM, resources, a restart request).
 * 2. Which member may restart next (plan/restart.ts): followers first, the
 *    leader last, never while another voter is down or the leader counts
 *    fewer synced voting followers than it has.
 * 3. Whether the member restarted last is back: answering, in broadcast,
 *    still a voter if it was one, every voting follower synced again.
 */
import {
  actOnRoll,
  type Member,
  type PodLike,
  planRoll,
  type RollHooks,
  type StepResult,
} from "@ballast/stateful";
import { describeBlocker } from "../plan/blockers.ts";
import { chooseNextRestart, restartedBlockers } from "../plan/restart.ts";
import type { EnsembleObservation } from "../plan/state.ts";
import { annotations, image, templateHash } from "../resources.ts";
import { type EnsembleScope, memberName } from "./scope.ts";

export function rollHooks(
  recordedVoters: readonly number[],
): RollHooks<Member, EnsembleObservation> {
  return {
    chooseNext(pending, obs) {
      const decision = chooseNextRestart(
        pending.map((m) => m.id),
        obs,
      );
      if ("restart" in decision) {
        const member = pending.find((m) => m.id === decision.restart);
        if (member) return { kind: "restart", member };
      }
      return {
        kind: "wait",
        blockers: "wait" in decision ? decision.wait.map(describeBlocker) : [],
      };
    },
    caughtUp: (member, obs) =>
      restartedBlockers(member.id, obs, recordedVoters.includes(member.id)).map(describeBlocker),
  };
}

export function isStale(s: EnsembleScope, pod: PodLike): boolean {
  return pod.metadata.annotations?.[annotations.templateHash] !== templateHash(s.e, s.superDigest);
}

function rollReason(s: EnsembleScope, pending: readonly Member[]): string {
  const images = new Set(pending.map((m) => s.pods.get(m.id)?.spec?.containers?.[0]?.image ?? ""));
  if (!images.has(image(s.e))) return `upgrade to ZooKeeper ${s.e.spec.version}`;
  const requested = s.e.metadata.annotations?.[annotations.restartRequested];
  if (requested) return `restart requested (${requested})`;
  return "configuration change";
}

export async function roll(
  s: EnsembleScope,
  members: readonly Member[],
  obs: EnsembleObservation,
): Promise<StepResult> {
  const plan = planRoll<Member, EnsembleObservation>({
    operation: s.operation,
    members,
    pods: s.pods,
    stale: (_member, pod) => isStale(s, pod),
    observed: obs,
    hooks: rollHooks(s.recordedVoters()),
    reason: (pending) => rollReason(s, pending),
    name: memberName,
    now: s.now(),
  });
  return actOnRoll(plan, s.io());
}
