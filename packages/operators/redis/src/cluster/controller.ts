/**
 * The RedisCluster controller: observe → plan → act, as an ordered
 * pipeline. The cluster is read fresh from the API server (stateful's
 * `memberSetController`); every act that takes a node down or moves data
 * (a pod deleted, a CLUSTER FAILOVER, a slot moved) is recorded in
 * `.status` before it is taken, or found again in what the nodes report
 * (a slot marked MIGRATING), so an operator killed at any line resumes.
 *
 * Why this order:
 * 1. Member ids and shards (create, add, remove), recorded before any pod
 *    for them exists or goes. A scale-in the data could not fit after is
 *    refused here (membership.ts), before anything is marked.
 * 2. The password, before any pod is made (pods read it) or node asked.
 * 3. Objects: ConfigMap, Services, budget, missing claims and pods —
 *    before looking at Redis, so a cluster whose pods are gone comes back
 *    with its volumes (and so its node ids and slots).
 * 4. Observe every node and build the view (plan/view.ts): who owns which
 *    slot, each shard's master, moves in flight. Every later step reads it.
 * 5. Readiness gates, from the same view.
 * 6. Repairs (repair.ts): nodes meeting each other at their current
 *    addresses first — nothing else is planned from a cluster whose nodes
 *    cannot see each other — then bring-up slots, replicas, stale ids.
 * 6b. ACL users (users/sync.ts) on every node that answers, no restart.
 *    Before the roll: a rule Redis refuses stops the pipeline (Degraded)
 *    before any pod restarts for that spec, and a roll the first user
 *    starts restarts nodes onto a users' file already written.
 * 7. The roll (roll.ts), which yields to a scale operation in progress and
 *    restarts a master only after its shard failed over. It also awaits
 *    any recorded failover, 8's included.
 * 8. A removed replica that Redis promoted meanwhile hands its shard over
 *    (membership.ts `handOverFromRemoved`) before 9 drains or stops it: a
 *    shard that stays never loses its master to a scale-in.
 * 9. Scale (reshard.ts): slots moved with their keys, then nodes removed.
 * 10. Status, when nothing else wrote it.
 *
 * Metrics (metrics.ts) are recorded after every reconcile, also one that
 * failed: what was observed before the failing step is still true.
 */
import { Action, type ControllerOptions, type KubeClient } from "@ballast/runtime";
import {
  loadCredentials,
  memberSetController,
  recordMembership,
  syncReportingRejection,
} from "@ballast/stateful";
import { usersStep } from "../users/sync.ts";
import { RedisCluster } from "./api.ts";
import { loadClusterPassword } from "./credentials.ts";
import { clusterMembership, handOverFromRemoved } from "./membership.ts";
import type { RedisClusterMetrics } from "./metrics.ts";
import { syncClusterObjects } from "./objects.ts";
import { observeCluster, setClusterGates } from "./observe.ts";
import { notServing } from "./plan/view.ts";
import { repairCluster } from "./repair.ts";
import { scaleCluster } from "./reshard.ts";
import { clusterIdentity } from "./resources.ts";
import { rollCluster } from "./roll.ts";
import { type ClusterControllerDeps, ClusterScope, nodeName } from "./scope.ts";

export type { ClusterControllerDeps } from "./scope.ts";

export interface RedisClusterControllerDeps extends ClusterControllerDeps {
  /** The operator's Prometheus series of each cluster (metrics.ts); none in tests that do not look. */
  metrics?: RedisClusterMetrics;
}

export function redisClusterController(
  client: KubeClient,
  deps: RedisClusterControllerDeps,
  options: ControllerOptions = {},
) {
  return memberSetController(
    client,
    RedisCluster,
    {
      name: "rediscluster",
      deleted: (ref) => deps.metrics?.forget(ref.namespace ?? "default", ref.name),
      reconcile: async (live, ctx) => {
        const scope = new ClusterScope(live, ctx, deps);
        try {
          return await reconcileCluster(scope);
        } finally {
          const { observation, view } = scope;
          deps.metrics?.record(scope.r, observation && view ? { observation, view } : undefined);
        }
      },
    },
    options,
  );
}

export async function reconcileCluster(s: ClusterScope): Promise<Action> {
  // 2 before 1's refusal check needs an observation: the password first
  // only when members exist (a new cluster has nothing to observe).
  const loaded = await loadCredentials(
    s,
    () => loadClusterPassword(s),
    (reason, message) => s.writeStatus({ degraded: { reason, message } }),
  );
  if (loaded !== "continue") return loaded;
  // 1.
  const recordedMembers = s.members();
  const before = recordedMembers ? await observeCluster(s, recordedMembers) : undefined;
  const change = clusterMembership(s.r, recordedMembers, before);
  if (change.kind === "refuse") {
    s.observation = before?.observation;
    s.view = before?.view;
    await s.writeStatus({
      degraded: { reason: "ScaleInRefused", message: `spec.shards: ${change.message}` },
    });
    return Action.requeueAfter(s.idleMs);
  }
  const recorded = await recordMembership(
    change,
    s.operation,
    s.io(),
    (id) => `node ${id}`,
    s.now(),
  );
  if (recorded !== "continue") return recorded;
  const members = s.members() ?? [];
  // 3. An object the API server refuses is Degraded with its message.
  const synced = await syncReportingRejection(
    () => syncClusterObjects(s, members),
    (reason, message) => s.writeStatus({ degraded: { reason, message } }),
  );
  if ("retry" in synced) return synced.retry;
  const created = synced.synced;
  // 4.
  const { observation, view } = before ?? (await observeCluster(s, members));
  s.observation = observation;
  s.view = view;
  // 5.
  await setClusterGates(s);
  // 6.
  const repaired = await repairCluster(s);
  if (repaired !== "continue") {
    await s.writeStatus({});
    return repaired;
  }
  // 6b.
  const users = await usersStep(
    s,
    clusterIdentity,
    observation.nodes
      .filter((n) => !n.member.removing)
      .map((n) => ({ id: n.member.id, answers: n.answer?.reachable === true })),
    (id) => `node ${id}`,
  );
  if (users !== "continue") return users;
  // 7.
  const rolled = await rollCluster(s, members);
  if (rolled !== "continue") return rolled;
  // 8.
  const handedOver = await handOverFromRemoved(s, members);
  if (handedOver !== "continue") return handedOver;
  // 9.
  const scaled = await scaleCluster(s, members);
  if (scaled !== "continue") return scaled;
  // 10.
  await s.writeStatus({});
  const settled =
    !created &&
    s.status.formed === true &&
    observation.nodes.every((n) => n.member.removing || notServing(n, view).length === 0);
  return Action.requeueAfter(settled ? s.idleMs : s.busyMs);
}

export { nodeName };
