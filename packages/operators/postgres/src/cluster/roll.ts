/**
 * PostgreSQL's rolling restart (an upgrade, a parameter change, a restart
 * asked for), on the shared roll state machine (`@ballast/stateful`
 * planRoll → actOnRoll) with the plan's `nextRestart` as its rule. Steps:
 *
 * 1. Stale pods: built from another template (image, postgresql.conf,
 *    pg_hba.conf, the start script, resources, a restart request).
 * 2. Standbys first, one at a time in id order; with spec.synchronous a
 *    standby restarts only while `any` other listed standbys stream, so
 *    commits never stall on it. Each is recorded in status as `current`
 *    before its pod is deleted (the shared machine), and is back when it
 *    streams from the primary again (`caughtUp`).
 * 3. Only the primary left: a switchover to the most advanced standby
 *    (switchover.ts), never a restart of a primary. The old primary's pod
 *    is replaced during the switchover, from the current template: once
 *    it streams from the new primary the roll finds nothing stale.
 */
import { actOnRoll, type Member, type PodLike, planRoll, type StepResult } from "@ballast/stateful";
import { describeBlocker } from "../plan/blockers.ts";
import { nextRestart, type SwitchoverRequest } from "../plan/switchover.ts";
import type { ClusterObservation } from "../plan/types.ts";
import { annotations, image, templateHash } from "../resources.ts";
import { serving } from "./observe.ts";
import { instanceName, type PostgresScope } from "./scope.ts";
import { switchover } from "./switchover.ts";

export function isStale(s: PostgresScope, pod: PodLike): boolean {
  return pod.metadata.annotations?.[annotations.templateHash] !== templateHash(s.r);
}

function rollReason(s: PostgresScope, pending: readonly Member[]): string {
  const images = new Set(pending.map((m) => s.pods.get(m.id)?.spec?.containers?.[0]?.image ?? ""));
  if (!images.has(image(s.r))) return `upgrade to ${image(s.r)}`;
  const requested = s.r.metadata.annotations?.[annotations.restartRequested];
  if (requested) return `restart requested (${requested})`;
  return "configuration change";
}

export async function roll(s: PostgresScope, members: readonly Member[]): Promise<StepResult> {
  const obs = s.observation;
  if (!obs) return "continue";
  let handover: SwitchoverRequest | undefined;
  const plan = planRoll<Member, ClusterObservation>({
    operation: s.operation,
    members: members.filter((m) => !m.removing),
    pods: s.pods,
    stale: (_m, pod) => isStale(s, pod),
    observed: obs,
    hooks: {
      chooseNext(pending, o) {
        const d = nextRestart(
          pending.map((m) => m.id),
          o,
        );
        if (d.kind === "restart") {
          const member = pending.find((m) => m.id === d.id);
          if (member) return { kind: "restart", member };
        }
        if (d.kind === "switchover") {
          handover = { to: d.to };
          return {
            kind: "wait",
            blockers: [`a switchover to instance ${d.to} before the primary restarts`],
          };
        }
        return { kind: "wait", blockers: d.kind === "wait" ? d.blockers.map(describeBlocker) : [] };
      },
      caughtUp(member, o) {
        const state = serving(o, member.id);
        return state.serving ? [] : [`instance ${member.id} ${state.why}`];
      },
    },
    reason: (pending) => rollReason(s, pending),
    name: instanceName,
    now: s.now(),
  });
  const result = await actOnRoll(plan, s.io());
  if (handover) return (await switchover(s, handover)).result;
  return result;
}
