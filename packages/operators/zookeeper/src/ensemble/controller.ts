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
 *    waits for the reconfig plan in step 6.
 * 2. Objects: shared ones applied where drifted, missing claims and pods
 *    created — before looking at ZooKeeper, so an ensemble whose pods are
 *    all gone (quorum loss) comes back with its ids and volumes.
 * 3. Observe ZooKeeper through every member that answers.
 * 4. Readiness gates, from what ZooKeeper says, before anything reads readiness.
 * 5. The roll (roll.ts), which yields to a scale operation in progress and
 *    never starts without a quorum.
 * 6. The scale operation in progress (scale.ts): one reconfig per reconcile.
 * 7. Status, when nothing else wrote it. Quorum loss is reported there
 *    (Degraded); membership is never rewritten to "fix" it.
 */
import { Action, type ControllerOptions, type KubeClient } from "@ballast/runtime";
import { memberSetController, recordMembership } from "@ballast/stateful";
import { ZooKeeperEnsemble } from "../api.ts";
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
      reconcile: (live, ctx) => reconcileEnsemble(new EnsembleScope(live, ctx, deps)),
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
  const created = await syncObjects(s, members);
  // 3.
  const obs = await observeEnsemble(s, ids);
  s.observation = obs;
  // 4.
  await setServingGates(s, ids, obs);
  // 5.
  const rolled = await roll(s, members, obs);
  if (rolled !== "continue") return rolled;
  // 6.
  const scaled = await scale(s, members, obs);
  if (scaled !== "continue") return scaled;
  // 7.
  await s.writeStatus({});
  const settled =
    obs.leader !== undefined && !created && members.every((m) => obs.reports.has(m.id));
  return Action.requeueAfter(settled ? s.idleMs : s.busyMs);
}
