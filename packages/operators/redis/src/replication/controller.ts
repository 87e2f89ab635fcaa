/**
 * The RedisReplication controller: observe → plan → act, as an ordered
 * pipeline, at most one disruptive act (a pod deleted, a demotion, a
 * promotion, a failover asked) per reconcile, each recorded in `.status`
 * BEFORE it is taken, so an operator killed at any line resumes where it
 * was. The set is read fresh from the API server (stateful's
 * `memberSetController`), never from the cache.
 *
 * Why this order:
 * 1. Member ids (create, add, remove), recorded before any pod for them
 *    exists or goes.
 * 2. The password (credentials.ts), read or created once, before any pod
 *    is made (pods read it from the Secret) and before Redis is asked.
 * 3. Objects (objects.ts): ConfigMaps, Services, budgets, missing claims
 *    and pods, sentinel pods — before looking at Redis, so a set whose
 *    pods are gone comes back with its ids and volumes.
 * 4. Observe every member and sentinel through the port, and decide who
 *    is master (`chooseMaster`): every later step reads that one decision.
 * 5. The master Service follows the master (service.ts): the label off
 *    every pod that is not THE master first, then onto the master. Before
 *    the repairs, so a member about to be demoted already takes no
 *    clients through the Service; right after observing, so the Service
 *    moves within the reconcile that sees a failover.
 * 6. Readiness gates, from the same decision, before anything reads them.
 * 7. Repairs (repair.ts): demote a second master before anything else can
 *    happen; point replicas; mend sentinels. One per reconcile.
 * 8. Dynamic config (config.ts): spec.config keys Redis changes at run
 *    time, CONFIG SET on every member, no restart. Before the roll, so a
 *    value Redis refuses stops the pipeline (Degraded) before any pod is
 *    restarted for that spec; after the repairs, since it needs a master.
 * 9. The roll (roll.ts), which yields to a scale operation in progress,
 *    starts nothing while a repair is pending (step 7 returned) and never
 *    restarts a master: it asks for a controlled failover first.
 * 10. Sentinel pods built from another template (sentinel-roll.ts), one
 *    at a time, only once the members are settled: never during a member
 *    roll, a switchover or a failover.
 * 11. Scale (scale.ts): replicas only; never the master.
 * 12. Status, when nothing else wrote it.
 */
import { Action, type ControllerOptions, type KubeClient } from "@ballast/runtime";
import { loadCredentials, memberSetController, recordMembership } from "@ballast/stateful";
import { RedisReplication } from "../api.ts";
import { chooseMaster } from "../plan/master.ts";
import { applyConfig } from "./config.ts";
import { loadPassword } from "./credentials.ts";
import { planMembership } from "./membership.ts";
import { syncObjects } from "./objects.ts";
import { observeReplication, setServingGates } from "./observe.ts";
import { repair } from "./repair.ts";
import { roll } from "./roll.ts";
import { scale } from "./scale.ts";
import { type ReplicationControllerDeps, ReplicationScope } from "./scope.ts";
import { rollSentinels } from "./sentinel-roll.ts";
import { followMaster } from "./service.ts";
import { servingState } from "./serving.ts";

export type { ReplicationControllerDeps } from "./scope.ts";

export function redisReplicationController(
  client: KubeClient,
  deps: ReplicationControllerDeps,
  options: ControllerOptions = {},
) {
  return memberSetController(
    client,
    RedisReplication,
    {
      name: "redisreplication",
      deleted: (ref) => deps.metrics?.forget(ref.namespace ?? "default", ref.name),
      reconcile: async (live, ctx) => {
        const scope = new ReplicationScope(live, ctx, deps);
        try {
          return await reconcileReplication(scope);
        } finally {
          // Also after a failed step: what was observed before it is still true.
          deps.metrics?.record(scope.r, scope.decision);
        }
      },
    },
    options,
  );
}

/** The pipeline; see the module comment for why the steps come in this order. */
/**
 * While the set has no recognised master or a controlled failover is
 * recorded, it is looked at again within `failoverLookMs`, whatever the
 * step asked: the master label (and so the master Service) follows
 * Sentinel's promotion at the next look, and with the 2 s busy period it
 * lagged Sentinel by up to 2 s (bench R1: 3.9 s through the Service vs
 * 2.3 s for a Sentinel-aware client, the difference all in that wait).
 */
export const failoverLookMs = 250;

export async function reconcileReplication(s: ReplicationScope): Promise<Action> {
  const action = await reconcileSteps(s);
  const failingOver =
    (s.decision !== undefined && s.decision.kind !== "master") || s.status.switchover !== undefined;
  if (failingOver && action.kind === "requeueAfter" && action.afterMs > failoverLookMs) {
    return Action.requeueAfter(failoverLookMs);
  }
  return action;
}

async function reconcileSteps(s: ReplicationScope): Promise<Action> {
  // 1.
  // A refused scale-down is reported by status.ts (Degraded), every write.
  const change = planMembership(s.r, s.members());
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
    () => loadPassword(s),
    (reason, message) => s.writeStatus({ degraded: { reason, message } }),
  );
  if (loaded !== "continue") return loaded;
  // 3.
  const created = await syncObjects(s, members);
  // 4.
  const obs = await observeReplication(s, ids);
  s.observation = obs;
  const promoteAfterMs = s.deps.promoteAfterMs;
  const decision = chooseMaster(obs, promoteAfterMs === undefined ? {} : { promoteAfterMs });
  s.decision = decision;
  // 5.
  await followMaster(s);
  // 6.
  await setServingGates(s, ids, obs, decision);
  // 7.
  const repaired = await repair(s, obs);
  if (repaired !== "continue") return repaired;
  // 8.
  const configured = await applyConfig(s, obs);
  if (configured !== "continue") return configured;
  // 9.
  const rolled = await roll(s, members, obs);
  if (rolled !== "continue") return rolled;
  // 10.
  const sentinelsRolled = await rollSentinels(s, obs);
  if (sentinelsRolled !== "continue") return sentinelsRolled;
  // 11.
  const scaled = await scale(s, members, obs);
  if (scaled !== "continue") return scaled;
  // 12.
  await s.writeStatus({});
  // Settled only when every member serves: a replica catching up gets no
  // pod event when it is in sync (its TCP probe passed long before), so
  // only a soon look sets its readiness gate.
  const settled =
    decision.kind === "master" &&
    !created &&
    members.every((m) => m.removing || servingState(obs, decision, m.id).serving);
  return Action.requeueAfter(settled ? s.idleMs : s.busyMs);
}
