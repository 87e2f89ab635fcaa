/**
 * Rolling the sentinels: a sentinel pod built from another template
 * (`sentinelTemplateHash`: image, quorum, down-after, failover-timeout,
 * resources, the Secret's name) is replaced, one at a time. Steps:
 *
 * 1. Stale sentinel pods, by id; none: nothing to do.
 * 2. `chooseSentinelRestart` (plan/sentinel-restart.ts): nothing else in
 *    progress (no member operation, switchover or failover), every
 *    sentinel back, monitoring and naming the master and knowing its
 *    peers, and the others able to fail over without the one restarted.
 * 3. Recorded first (`lastRepair: restart sentinel N`), then its pod
 *    deleted. The objects step recreates it from the current template;
 *    its start script monitors the master the other sentinels name.
 * 4. The next one waits (rule 2) until the new pod monitors the master
 *    and the others know it.
 *
 * Sentinels hold no data (their config is written at each start), so
 * nothing is moved or drained.
 */
import { Action } from "@ballast/runtime";
import { deleteMemberPod, type StepResult } from "@ballast/stateful";
import { chooseSentinelRestart } from "../plan/sentinel-restart.ts";
import type { ReplicationObservation } from "../plan/state.ts";
import { annotations, sentinelIds, sentinelTemplateHash } from "../resources.ts";
import type { ReplicationScope } from "./scope.ts";

export async function rollSentinels(
  s: ReplicationScope,
  obs: ReplicationObservation,
): Promise<StepResult> {
  // 1.
  const want = sentinelTemplateHash(s.r);
  const stale = sentinelIds(s.r).filter((id) => {
    const pod = s.sentinelPods.get(id);
    return (
      pod !== undefined &&
      !pod.metadata.deletionTimestamp &&
      pod.metadata.annotations?.[annotations.templateHash] !== want
    );
  });
  if (stale.length === 0) return "continue";
  // 2.
  const busy = s.operation
    ? `the ${s.operation.type} of the members comes first`
    : s.status.switchover
      ? "a controlled failover is under way"
      : undefined;
  const options =
    s.deps.promoteAfterMs === undefined ? {} : { promoteAfterMs: s.deps.promoteAfterMs };
  const replicas = (s.members() ?? [])
    .filter((m) => !m.removing && m.id !== s.master)
    .map((m) => m.id);
  const decision = chooseSentinelRestart(stale, obs, busy, replicas, options);
  // Waiting is not Degraded: the members serve; the next reconcile looks again.
  if (decision.kind !== "restart") return "continue";
  // 3.
  const pod = s.sentinelPods.get(decision.id);
  if (!pod) return "continue";
  const action = `restart sentinel ${decision.id}`;
  const reason = `its pod was built from another template (stale: sentinels ${stale.join(", ")})`;
  await s.writeStatus({ lastRepair: { action, reason, at: s.now().toISOString() } });
  await deleteMemberPod(s.ctx, pod);
  s.event("SentinelRestarted", "RollSentinels", `${action}: ${reason}`);
  return Action.requeueAfter(s.busyMs);
}
