/**
 * Observe: ask every instance for its report (`pg_is_in_recovery()` on
 * EVERY instance, each reconcile: a second writer is only seen that way),
 * and turn the reports, the pods and status into the plans' input
 * (`ClusterObservation`). Steps:
 *
 * 1. Report each instance whose pod has an IP, all at once (the port
 *    never throws from `report`; each call is bounded by its timeouts).
 * 2. Since when each silent instance has not answered: kept in memory
 *    across reconciles. An operator restarted forgets it and waits a full
 *    failoverDelay again — later, never sooner.
 * 3. `fenced`, per instance: a fence is recorded for it (the election's
 *    or the switchover's `from`) AND it cannot be writing — it answers in
 *    recovery, or its pod is gone, or its pod does not carry the marker
 *    (a pod without the marker starts only in recovery, and the marker is
 *    never added to a fenced instance's pod).
 * 4. The primary's timeline history, read only when an instance is on an
 *    older timeline than the primary (the rejoin plan needs it to place
 *    that instance; otherwise it is not read).
 */
import type { PodLike } from "@ballast/stateful";
import { podReady } from "@ballast/stateful";
import type { InstanceReport } from "../admin/port.ts";
import { failoverDelayMs, synchronousOf } from "../api.ts";
import { parseLsn } from "../plan/lsn.ts";
import type {
  ClusterObservation,
  InstanceObservation,
  PostgresStatus,
  TimelineSwitch,
} from "../plan/types.ts";
import { annotations, instanceHost, names } from "../resources.ts";
import type { PostgresScope } from "./scope.ts";

export async function observe(
  s: PostgresScope,
  ids: readonly number[],
): Promise<ClusterObservation> {
  const reports = await Promise.all(
    ids.map(async (id): Promise<[number, InstanceReport | undefined]> => {
      const address = s.address(id);
      return [id, address ? await s.postgres.report(address) : undefined];
    }),
  );
  const nowMs = s.now().getTime();
  const silence = s.deps.silence ?? new Map<string, number>();
  const instances: InstanceObservation[] = [];
  for (const [id, report] of reports) {
    if (report) s.reports.set(id, report);
    const pod = s.pod(id);
    const key = `${s.key}/${id}`;
    const base = { id, podReady: pod ? podReady(pod) && !pod.metadata.deletionTimestamp : false };
    if (report?.reachable) {
      silence.delete(key);
      instances.push({
        ...base,
        reachable: true,
        inRecovery: report.inRecovery,
        timeline: report.timeline,
        systemIdentifier: report.systemIdentifier,
        checkpointLsn: parseLsn(report.checkpointLsn),
        checkpointTimeline: report.checkpointTimeline,
        ...(report.role === "primary"
          ? { currentLsn: parseLsn(report.currentLsn) }
          : {
              ...(report.receivedLsn ? { receivedLsn: parseLsn(report.receivedLsn) } : {}),
              ...(report.replayedLsn ? { replayedLsn: parseLsn(report.replayedLsn) } : {}),
              ...streamingFrom(s, report),
            }),
        fenced: false,
      });
    } else {
      const since = silence.get(key) ?? nowMs;
      silence.set(key, since);
      instances.push({ ...base, reachable: false, unreachableForMs: nowMs - since, fenced: false });
    }
  }
  const status = s.pg;
  for (const i of instances) i.fenced = isFenced(status, i, s.pod(i.id), names.pod(s.r, i.id));
  const obs: ClusterObservation = {
    instances,
    synchronous: synchronousOf(s.r.spec),
    failoverDelayMs: failoverDelayMs(s.r.spec),
    status,
  };
  const history = await primaryHistory(s, obs);
  return history ? { ...obs, primaryHistory: history } : obs;
}

/** The instance a standby's WAL receiver streams from, when it streams from one of the cluster's. */
function streamingFrom(
  s: PostgresScope,
  report: InstanceReport & { role: "replica" },
): { streamingFrom?: number } {
  const receiver = report.receiver;
  if (!receiver?.streaming || !receiver.senderHost) return {};
  const id = instanceOfHost(s, receiver.senderHost);
  return id === undefined ? {} : { streamingFrom: id };
}

function instanceOfHost(s: PostgresScope, host: string): number | undefined {
  for (const m of s.members() ?? []) {
    if (instanceHost(s.r, m.id) === host) return m.id;
  }
  return undefined;
}

/** The instance a fence is recorded for, if any. */
export function fencedId(status: PostgresStatus): number | undefined {
  if (status.election) return status.election.from;
  const sw = status.switchover;
  if (sw && sw.phase !== "checkpointing") return sw.from;
  return undefined;
}

/** See step 3 of the module comment. */
export function isFenced(
  status: PostgresStatus,
  i: InstanceObservation,
  pod: PodLike | undefined,
  podName: string,
): boolean {
  if (fencedId(status) !== i.id) return false;
  if (i.reachable && i.inRecovery) return true;
  if (!pod) return true;
  // A pod being deleted may still run its server: fenced once it is gone.
  if (pod.metadata.deletionTimestamp) return false;
  return pod.metadata.annotations?.[annotations.primary] !== podName;
}

async function primaryHistory(
  s: PostgresScope,
  obs: ClusterObservation,
): Promise<TimelineSwitch[] | undefined> {
  const p = obs.status.primary;
  const primary = obs.instances.find((i) => i.id === p?.id);
  if (!p || !primary?.reachable || primary.inRecovery) return undefined;
  const older = obs.instances.some((i) => i.reachable && i.timeline < primary.timeline);
  const address = s.address(p.id);
  if (!older || !address || primary.timeline <= 1) return undefined;
  try {
    const switches = await s.postgres.timelineHistory(address, primary.timeline);
    return switches.map((h) => ({ timeline: h.timeline, switchpoint: parseLsn(h.switchpoint) }));
  } catch {
    return undefined;
  }
}

/** Whether instance `id` serves: THE primary taking writes, or a standby streaming from it. */
export function serving(
  obs: ClusterObservation | undefined,
  id: number,
): { serving: boolean; role?: "primary" | "standby"; why: string } {
  const i = obs?.instances.find((x) => x.id === id);
  if (!obs || !i) return { serving: false, why: "not observed" };
  if (!i.reachable) return { serving: false, why: "does not answer" };
  if (i.systemIdentifier !== obs.status.systemIdentifier)
    return { serving: false, why: "holds another cluster's data" };
  const primary = obs.status.primary?.id;
  if (!i.inRecovery) {
    return primary === id && !obs.status.election
      ? { serving: true, role: "primary", why: "the primary" }
      : { serving: false, role: "primary", why: "takes writes but is not the primary" };
  }
  if (primary !== undefined && i.streamingFrom === primary)
    return { serving: true, role: "standby", why: `streaming from instance ${primary}` };
  return { serving: false, role: "standby", why: "not streaming from the primary" };
}
