/**
 * The ZooKeeperEnsemble controller: observe → plan → act, as an ordered
 * pipeline, at most one disruptive act (one pod deleted, one reconfig) per
 * reconcile, each recorded in `.status` BEFORE it is taken, so an operator
 * killed at any line resumes where it was.
 *
 * The ensemble is read fresh from the API server, not from the cache: a
 * decision to restart a member must not rest on a copy that has not yet
 * seen the last status write.
 *
 * Why this order:
 * 1. Member ids (create, add, remove), recorded before any pod for them
 *    exists or goes. A removal is only recorded here; every voter change
 *    waits for the reconfig plan in step 7.
 * 2. The superuser (credentials.ts): its Secret read, or created once,
 *    before any pod is made or compared (its digest is in every pod).
 * 3. Objects: shared ones applied where drifted, missing claims and pods
 *    created — before looking at ZooKeeper, so an ensemble whose pods are
 *    all gone (quorum loss) comes back with its ids and volumes.
 * 4. Observe ZooKeeper through every member that answers.
 * 5. Readiness gates, from what ZooKeeper says, before anything reads readiness.
 * 6. The roll (roll.ts), which yields to a scale operation in progress and
 *    never starts without a quorum.
 * 7. The scale operation in progress (scale.ts): one reconfig per reconcile.
 * 8. Status, when nothing else wrote it. Quorum loss is reported there
 *    (Degraded); membership is never rewritten to "fix" it.
 */
import { Action, type ControllerOptions, type KubeClient } from "@ballast/runtime";
import {
  loadCredentials,
  memberSetController,
  recordMembership,
  syncReportingRejection,
} from "@ballast/stateful";
import { ZooKeeperEnsemble } from "../api.ts";
import { serving } from "../plan/state.ts";
import { loadSuperUser } from "./credentials.ts";
import { planMembership } from "./membership.ts";
import { syncObjects } from "./objects.ts";
import { observeEnsemble, setServingGates } from "./observe.ts";
import { roll } from "./roll.ts";
import { scale } from "./scale.ts";
import { type EnsembleControllerDeps, EnsembleScope } from "./scope.ts";

export type { EnsembleControllerDeps } from "./scope.ts";

export function zooKeeperEnsembleController(
  client: KubeClient,
  deps: EnsembleControllerDeps,
  options: ControllerOptions = {},
) {
  return memberSetController(
    client,
    ZooKeeperEnsemble,
    {
      name: "zookeeperensemble",
      deleted: (ref) => deps.metrics?.forget(ref.namespace ?? "default", ref.name),
      reconcile: async (live, ctx) => {
        const scope = new EnsembleScope(live, ctx, deps);
        try {
          return await reconcileEnsemble(scope);
        } finally {
          // Also after a failed step: what was observed before it is still true.
          deps.metrics?.record(scope.e, scope.observation);
        }
      },
    },
    options,
  );
}

/** The pipeline; see the module comment for why the steps come in this order. */
export async function reconcileEnsemble(s: EnsembleScope): Promise<Action> {
  // 1.
  const change = planMembership(s.e, s.members());
  const recorded = await recordMembership(
    change,
    s.operation,
    s.io(),
    (id) => `member ${id}`,
    s.now(),
  );
  if (recorded !== "continue") return recorded;
  const members = s.members() ?? [];
  const ids = members.map((m) => m.id);
  // 2.
  const loaded = await loadCredentials(
    s,
    () => loadSuperUser(s),
    (reason, message) => s.writeStatus({ degraded: { reason, message } }),
  );
  if (loaded !== "continue") return loaded;
  // 3. An object the API server refuses is Degraded with its message.
  const synced = await syncReportingRejection(
    () => syncObjects(s, members),
    (reason, message) => s.writeStatus({ degraded: { reason, message } }),
  );
  if ("retry" in synced) return synced.retry;
  const created = synced.synced;
  // 4.
  const obs = await observeEnsemble(s, ids);
  s.observation = obs;
  // 5.
  await setServingGates(s, ids, obs);
  // 6.
  const rolled = await roll(s, members, obs);
  if (rolled !== "continue") return rolled;
  // 7.
  const scaled = await scale(s, members, obs);
  if (scaled !== "continue") return scaled;
  // 8.
  await s.writeStatus({});
  // Settled only when every member serves: a member that answers but is
  // still syncing gets no pod event when it starts serving (its TCP probe
  // passed long before), so only a soon look sets its readiness gate.
  const settled =
    obs.leader !== undefined &&
    !created &&
    members.every((m) => m.removing || serving(obs.reports.get(m.id)));
  return Action.requeueAfter(settled ? s.idleMs : s.busyMs);
}
