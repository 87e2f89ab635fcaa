/**
 * Scaling the standbys of a PostgresCluster, on the shared scale state
 * machines (`@ballast/stateful`). Standbys hold copies of the primary's
 * one stream, so nothing moves either way.
 *
 * Scale-up (the new ids recorded, their claims and pods created; each
 * clones the primary through its slot and streams from it):
 * 1. Settled once every added instance streams from the primary.
 *
 * Scale-down (the newest instances that are not the primary recorded as
 * removing, membership.ts):
 * 1. Drain: finished once synchronous_standby_names no longer names them
 *    (synchronous.ts drops instances being removed first), so no commit
 *    waits for a standby that is about to stop.
 * 2. The shared machine records drained, stops each pod, then deletes its
 *    claim — the claim only after the pod is gone.
 * 3. Forget: the primary's slot for it is dropped by the slots step (an
 *    inactive slot of an instance the cluster no longer has).
 */
import {
  actOnScaleDown,
  actOnScaleUp,
  type DataMoves,
  type Member,
  planScaleDown,
  type StepResult,
} from "@ballast/stateful";
import { names } from "../resources.ts";
import { serving } from "./observe.ts";
import { instanceName, type PostgresScope } from "./scope.ts";

export async function scale(s: PostgresScope, members: readonly Member[]): Promise<StepResult> {
  if (members.some((m) => m.removing)) {
    const step = planScaleDown(members, s.pods, s.operation, s.now());
    return actOnScaleDown(
      step,
      {
        name: instanceName,
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
    { name: instanceName, settle: async (added) => settle(s, added) },
    s.io(),
  );
}

function drain(s: PostgresScope, removing: readonly Member[]): DataMoves {
  const listed = s.pg.synchronous?.standbys ?? [];
  const waiting = removing.filter((m) => listed.includes(m.id) || m.id === s.pg.primary?.id);
  if (waiting.length === 0) return { kind: "finished" };
  return {
    kind: "moving",
    waitingFor: `synchronous_standby_names still names instances ${waiting.map((m) => m.id).join(", ")}`,
    movesTotal: removing.length,
    movesRemaining: waiting.length,
  };
}

function settle(s: PostgresScope, added: readonly Member[]): DataMoves {
  const behind = added.filter((m) => !serving(s.observation, m.id).serving);
  if (behind.length === 0) return { kind: "finished" };
  return {
    kind: "moving",
    waitingFor: behind
      .map((m) => `instance ${m.id} ${serving(s.observation, m.id).why}`)
      .join("; "),
    movesTotal: added.length,
    movesRemaining: behind.length,
  };
}
