/**
 * Looking at Redis: every member and every sentinel whose pod has an IP
 * is asked for its report through the port, all in parallel (one that
 * does not answer costs one timeout, not one per member). A member with
 * no pod yet is in the observation without a report: the plans treat it
 * as not answering. How long a member has not answered comes from status
 * (`unreachableSince`), so a restarted operator counts from the same
 * moment.
 *
 * Then each member pod's readiness gate is set from `servingState`.
 */
import { setReadinessGates } from "@ballast/stateful";
import type { MemberReport, SentinelReport } from "../admin/port.ts";
import type { MasterDecision } from "../plan/master.ts";
import type { Observed, ReplicationObservation } from "../plan/state.ts";
import {
  bootstrapMaster,
  memberAddress,
  names,
  sentinelAddress,
  sentinelIds,
  servingGate,
} from "../resources.ts";
import type { ReplicationScope } from "./scope.ts";
import { servingState } from "./serving.ts";

export async function observeReplication(
  s: ReplicationScope,
  ids: readonly number[],
): Promise<ReplicationObservation> {
  const since = new Map((s.status.members ?? []).map((m) => [m.id, m.unreachableSince]));
  const now = s.now().getTime();
  const masterName = names.masterName(s.r);
  const members = Promise.all(
    ids.map(async (id): Promise<Observed<MemberReport>> => {
      const a = s.address(id);
      const report = a ? await s.redis.report(a) : undefined;
      const down = since.get(id);
      return {
        id,
        address: memberAddress(s.r, id),
        ...(report ? { report } : {}),
        ...(down && report?.reachable !== true
          ? { unreachableForMs: Math.max(0, now - Date.parse(down)) }
          : {}),
      };
    }),
  );
  const sentinels = Promise.all(
    sentinelIds(s.r).map(async (id): Promise<Observed<SentinelReport>> => {
      const a = s.sentinel(id);
      const report = a ? await s.redis.sentinelReport(a, masterName) : undefined;
      return { id, address: sentinelAddress(s.r, id), ...(report ? { report } : {}) };
    }),
  );
  return {
    members: await members,
    sentinels: await sentinels,
    expectedSentinels: s.r.spec.sentinels,
    // Before any master is recorded, the bootstrap member is the last master:
    // a replica that answers before member 0 does is not promoted in its
    // place (chooseMaster rule 4 waits promoteAfterMs for the last master).
    lastMaster: s.status.master ?? bootstrapMaster,
  };
}

/** Each member's readiness gate: the master accepting writes, or a replica in sync with it. */
export async function setServingGates(
  s: ReplicationScope,
  ids: readonly number[],
  obs: ReplicationObservation,
  decision: MasterDecision,
): Promise<void> {
  const members = ids.flatMap((id) => {
    const pod = s.pods.get(id);
    return pod ? [{ member: id, pod }] : [];
  });
  await setReadinessGates(
    s.ctx,
    servingGate,
    members,
    (id) => {
      const state = servingState(obs, decision, id);
      return state.serving
        ? { running: true, reason: "Serving", message: `member ${id} serves as ${state.as}` }
        : { running: false, reason: "NotServing", message: `member ${id} ${state.why}` };
    },
    s.now(),
  );
}
