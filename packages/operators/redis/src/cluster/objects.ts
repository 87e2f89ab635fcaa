/**
 * Object sync for a RedisCluster. Steps:
 *
 * 1. Apply the shared objects that are missing or drifted on a field we
 *    set: the ConfigMap first (a pod created next mounts what it says),
 *    the headless and client Services, the budget.
 * 2. Create the claim (unless persistence is none), then the pod, of every
 *    member that needs a running pod and has none. A claim that exists is
 *    adopted as it is: its nodes.conf is how the member comes back as the
 *    same Redis node.
 */
import { createIfMissing, needsPod, syncMembers } from "@ballast/stateful";
import type { ClusterMember } from "./plan/view.ts";
import {
  clusterBudget,
  clusterClaim,
  clusterClientService,
  clusterConfigMap,
  clusterHeadless,
  clusterPod,
} from "./resources.ts";
import type { ClusterScope } from "./scope.ts";

/** True when it created a pod (the cluster is looked at again sooner). */
export async function syncClusterObjects(
  s: ClusterScope,
  members: readonly ClusterMember[],
): Promise<boolean> {
  const shared = [
    clusterConfigMap(s.r),
    clusterHeadless(s.r),
    clusterClientService(s.r),
    clusterBudget(s.r, members.length),
  ];
  const pod = (m: ClusterMember) => clusterPod(s.r, m.id, m.shard);
  const claim = (m: ClusterMember) => clusterClaim(s.r, m.id);
  if (s.r.spec.persistence.mode !== "none") {
    return syncMembers(s.ctx, {
      shared,
      members,
      pods: s.pods,
      operation: s.operation,
      claim,
      pod,
    });
  }
  await syncMembers(s.ctx, {
    shared,
    members: [],
    pods: s.pods,
    operation: s.operation,
    claim,
    pod,
  });
  let created = false;
  for (const m of members) {
    if (s.pods.has(m.id) || !needsPod(m, s.operation)) continue;
    if ((await createIfMissing(s.ctx, pod(m))) === "created") created = true;
  }
  return created;
}
