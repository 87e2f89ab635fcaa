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
 *    A failover past its promotion already names the promoted replica
 *    (plan/master.ts rule 1), so the steps below move the Service to it
 *    while Sentinel still re-points the other replicas; what would race
 *    Sentinel (re-pointing, re-monitoring, a roll step) waits for its end.
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
 * 8b. ACL users (users/sync.ts) on every member that answers, no
 *    restart; like config, before the roll, so a rule Redis refuses
 *    stops the pipeline before any pod restarts for that spec.
 * 9. The roll (roll.ts), which yields to a scale operation in progress,
 *    starts nothing while a repair is pending (step 7 returned) and never
 *    restarts a master: it asks for a controlled failover first.
 * 10. Sentinel pods built from another template (sentinel-roll.ts), one
 *    at a time, only once the members are settled: never during a member
 *    roll, a switchover or a failover.
 * 11. Scale (scale.ts): replicas only; never the master.
 * 12. Status, when nothing else wrote it.
 */
import {
  Action,
  type Controller,
  type ControllerOptions,
  type KubeClient,
  type Runnable,
} from "@ballast/runtime";
import {
  loadCredentials,
  memberSetController,
  recordMembership,
  syncReportingRejection,
} from "@ballast/stateful";
import { RedisReplication } from "../api.ts";
import { chooseMaster } from "../plan/master.ts";
import { identity, sentinelIds } from "../resources.ts";
import { usersStep } from "../users/sync.ts";
import { applyConfig } from "./config.ts";
import { loadPassword } from "./credentials.ts";
import { planMembership } from "./membership.ts";
import { syncObjects } from "./objects.ts";
import { observeReplication, setServingGates } from "./observe.ts";
import { repair } from "./repair.ts";
import { roll } from "./roll.ts";
import { scale } from "./scale.ts";
import { type ReplicationControllerDeps, ReplicationScope } from "./scope.ts";
import { SentinelEvents } from "./sentinel-events.ts";
import { rollSentinels } from "./sentinel-roll.ts";
import { followMaster } from "./service.ts";
import { servingState } from "./serving.ts";

export type { ReplicationControllerDeps } from "./scope.ts";

/**
 * The controller, run together with the sentinels' event subscriptions
 * (sentinel-events.ts) that queue a set's reconcile the moment Sentinel
 * reports a failover's step: the subscriptions are made after each
 * reconcile and closed when the controller stops.
 */
export function redisReplicationController(
  client: KubeClient,
  deps: ReplicationControllerDeps,
  options: ControllerOptions = {},
): Runnable & { readonly controller: Controller<RedisReplication> } {
  const events = new SentinelEvents((ref) => controller.enqueue(ref));
  const controller = memberSetController(
    client,
    RedisReplication,
    {
      name: "redisreplication",
      deleted: (ref) => {
        events.forget({ namespace: ref.namespace ?? "default", name: ref.name });
        deps.metrics?.forget(ref.namespace ?? "default", ref.name);
      },
      reconcile: async (live, ctx) => {
        const scope = new ReplicationScope(live, ctx, deps);
        try {
          return await reconcileReplication(scope);
        } finally {
          // Also after a failed step: what was observed before it is still true.
          deps.metrics?.record(scope.r, scope.decision);
          followSentinels(scope, events);
        }
      },
    },
    options,
  );
  return {
    name: controller.name,
    controller,
    hasSynced: () => controller.hasSynced(),
    async run(signal, runOptions) {
      try {
        await controller.run(signal, runOptions);
      } finally {
        events.close();
      }
    },
  };
}

function followSentinels(s: ReplicationScope, events: SentinelEvents): void {
  const port = s.port;
  if (!port) return;
  const sentinels = sentinelIds(s.r).flatMap((id) => s.sentinel(id) ?? []);
  events.follow({ namespace: s.namespace, name: s.r.metadata.name ?? "" }, sentinels, port);
}

/**
 * While the set has no recognised master, a failover is still finishing
 * or a controlled failover is recorded, it is looked at again within
 * `failoverLookMs`, whatever the step asked: with the 2 s busy period the
 * master label lagged Sentinel by up to 2 s (bench R1). The sentinels'
 * events (sentinel-events.ts) usually bring the next look sooner; this is
 * the bound when one is lost.
 */
export const failoverLookMs = 250;

/** The pipeline; see the module comment for why the steps come in this order. */
export async function reconcileReplication(s: ReplicationScope): Promise<Action> {
  const action = await reconcileSteps(s);
  const d = s.decision;
  const failingOver =
    (d !== undefined && (d.kind !== "master" || d.finishing !== undefined)) ||
    s.status.switchover !== undefined;
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
  // 3. An object the API server refuses (an invalid derived object, RBAC,
  // a quota) is Degraded with its message, through this kind's own status.
  const synced = await syncReportingRejection(
    () => syncObjects(s, members),
    (reason, message) => s.writeStatus({ degraded: { reason, message } }),
  );
  if ("retry" in synced) return synced.retry;
  const created = synced.synced;
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
  // 8b.
  const users = await usersStep(
    s,
    identity,
    members
      .filter((m) => !m.removing)
      .map((m) => ({
        id: m.id,
        answers: obs.members.find((o) => o.id === m.id)?.report?.reachable === true,
      })),
    (id) => `member ${id}`,
  );
  if (users !== "continue") return users;
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
