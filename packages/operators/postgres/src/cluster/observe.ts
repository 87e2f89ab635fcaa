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
 *    never added to a fenced instance's pod) — or it can take no
 *    acknowledged write through the operator's Services: its pod is being
 *    deleted, it does not answer, and its node has stopped reporting (the
 *    pod can be neither removed nor restarted there; a machine gone).
 *    Such a server, if it still runs cut off, is out of every Service,
 *    and under synchronous replication commits nothing once its standbys
 *    have left it, which the failover waits for (plan/failover.ts, step
 *    4). Without synchronous replication, a client still connected to it
 *    directly may have writes acknowledged that the rejoin discards: the
 *    price of asynchronous commit, counted (WalDiscarded) when it comes
 *    back. docs/failover.md says more.
 * 4. The primary's timeline history, read only when an instance is on an
 *    older timeline than the primary (the rejoin plan needs it to place
 *    that instance; otherwise it is not read).
 */
import type { PodLike } from "@ballast/stateful";
import { containersReady, nodeStoppedReporting } from "@ballast/stateful";
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
    const probed = pod ? containersReady(pod) : false;
    if (report?.reachable) {
      const base = { id, kubeletReportsUp: probed };
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
      // A stopped node's pods keep their last conditions: ask the node only then.
      const kubeletReportsUp = pod && probed ? !(await nodeStoppedReporting(s.ctx, pod)) : false;
      const base = { id, kubeletReportsUp };
      instances.push({ ...base, reachable: false, unreachableForMs: nowMs - since, fenced: false });
    }
  }
  const status = s.pg;
  for (const i of instances) {
    const pod = s.pod(i.id);
    const nodeLost =
      pod && fenceNeedsNode(status, i, pod) ? await nodeStoppedReporting(s.ctx, pod) : false;
    i.fenced = isFenced(status, i, pod, names.pod(s.r, i.id), nodeLost);
  }
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

/** Whether `isFenced` turns on the pod's node: only a fenced, silent instance whose pod is being deleted asks. */
function fenceNeedsNode(
  status: PostgresStatus,
  i: InstanceObservation,
  pod: PodLike | undefined,
): boolean {
  return fencedId(status) === i.id && !i.reachable && pod?.metadata.deletionTimestamp !== undefined;
}

/** See step 3 of the module comment; `nodeLost`: the pod's node has stopped reporting. */
export function isFenced(
  status: PostgresStatus,
  i: InstanceObservation,
  pod: PodLike | undefined,
  podName: string,
  nodeLost = false,
): boolean {
  if (fencedId(status) !== i.id) return false;
  if (i.reachable && i.inRecovery) return true;
  if (!pod) return true;
  // A pod being deleted may still run its server: fenced once it is gone,
  // or once its node is lost and the server does not answer.
  if (pod.metadata.deletionTimestamp) return !i.reachable && nodeLost;
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

/**
 * Whether instance `id` serves: THE primary taking writes, or a standby
 * streaming from it — and the kubelet's own probe passes, so Ready (the
 * Services' endpoints) and the roll's "back" agree with what users see.
 * `role` is what the server is, probe or not.
 */
export function serving(
  obs: ClusterObservation | undefined,
  id: number,
): { serving: boolean; role?: "primary" | "standby"; why: string } {
  const i = obs?.instances.find((x) => x.id === id);
  if (!obs || !i) return { serving: false, why: "not observed" };
  if (!i.reachable) return { serving: false, why: "does not answer" };
  if (i.systemIdentifier !== obs.status.systemIdentifier)
    return { serving: false, why: "holds another cluster's data" };
  const state = serverState(obs, i);
  if (state.serving && !i.kubeletReportsUp)
    return { ...state, serving: false, why: `${state.why}, but its pod's probe has not passed` };
  return state;
}

function serverState(
  obs: ClusterObservation,
  i: InstanceObservation & { reachable: true },
): { serving: boolean; role: "primary" | "standby"; why: string } {
  const primary = obs.status.primary?.id;
  // In `repointing` status already names the elected primary, and -rw
  // follows it (service.ts): its gate must say it serves, or -rw is empty
  // until the last standby is repointed (4 s of refused writes in bench P2).
  const election = obs.status.election;
  if (!i.inRecovery) {
    return primary === i.id && (!election || election.phase === "repointing")
      ? { serving: true, role: "primary", why: "the primary" }
      : { serving: false, role: "primary", why: "takes writes but is not the primary" };
  }
  if (primary !== undefined && i.streamingFrom === primary)
    return { serving: true, role: "standby", why: `streaming from instance ${primary}` };
  return { serving: false, role: "standby", why: "not streaming from the primary" };
}
