/**
 * Object sync for a RedisReplication. Steps:
 *
 * 1. Apply the shared objects (both ConfigMaps first, so a pod created
 *    next mounts what they say; the headless, master and replicas
 *    Services; both budgets) that are missing or drifted on a field we set.
 * 2. Create the claim (unless persistence is none), then the pod, of
 *    every member that needs a running pod and has none. A claim that
 *    exists is adopted as it is: its data is how a member comes back.
 * 3. Create each missing sentinel pod; delete those beyond
 *    `spec.sentinels` (sentinels hold no data; the others forget them by
 *    `SENTINEL RESET`, see plan/repairs.ts).
 *
 * Pods are made with the master the operator last recorded as their
 * start script's hint (member 0 at bring-up); the script prefers what the
 * sentinels say at every start.
 */
import {
  createIfMissing,
  deleteMemberPod,
  type Member,
  needsPod,
  syncMembers,
} from "@ballast/stateful";
import {
  bootstrapMaster,
  claim,
  configMap,
  disruptionBudget,
  headlessService,
  masterService,
  persistent,
  pod,
  replicasService,
  sentinelConfigMap,
  sentinelDisruptionBudget,
  sentinelIds,
  sentinelPod,
  sentinelService,
} from "../resources.ts";
import type { ReplicationScope } from "./scope.ts";

/** True when it created a pod (the set is looked at again sooner). */
export async function syncObjects(
  s: ReplicationScope,
  members: readonly Member[],
): Promise<boolean> {
  const hint = s.status.master ?? bootstrapMaster;
  const ids = members.map((m) => m.id);
  const shared = [
    configMap(s.r),
    sentinelConfigMap(s.r),
    headlessService(s.r),
    sentinelService(s.r),
    masterService(s.r),
    replicasService(s.r),
    disruptionBudget(s.r, members.length),
    sentinelDisruptionBudget(s.r),
  ];
  const memberPod = (m: Member) => pod(s.r, m.id, hint, ids);
  let created: boolean;
  if (persistent(s.r)) {
    created = await syncMembers(s.ctx, {
      shared,
      members,
      pods: s.pods,
      operation: s.operation,
      claim: (m) => claim(s.r, m.id),
      pod: memberPod,
    });
  } else {
    // No volumes: the shared sync with no members, then the pods alone.
    await syncMembers(s.ctx, {
      shared,
      members: [],
      pods: s.pods,
      operation: s.operation,
      claim: (m) => claim(s.r, m.id),
      pod: memberPod,
    });
    created = false;
    for (const m of members) {
      if (s.pods.has(m.id) || !needsPod(m, s.operation)) continue;
      if ((await createIfMissing(s.ctx, memberPod(m))) === "created") created = true;
    }
  }
  return (await syncSentinels(s, hint)) || created;
}

async function syncSentinels(s: ReplicationScope, hint: number): Promise<boolean> {
  const want = sentinelIds(s.r);
  let created = false;
  for (const id of want) {
    if (s.sentinelPods.has(id)) continue;
    if ((await createIfMissing(s.ctx, sentinelPod(s.r, id, hint))) === "created") created = true;
  }
  for (const [id, p] of s.sentinelPods) {
    if (!want.includes(id) && !p.metadata.deletionTimestamp) await deleteMemberPod(s.ctx, p);
  }
  return created;
}
