/**
 * The PostgresCluster controller: observe → plan → act, as an ordered
 * pipeline, at most one disruptive act (a pod deleted, a promotion) per
 * reconcile, each recorded in `.status` BEFORE it is taken, so an operator
 * killed at any line resumes where it was. The cluster is read fresh from
 * the API server (stateful's `memberSetController`), never from the cache.
 *
 * Why this order:
 * 1. Instance ids (create, add, remove), recorded before any pod for them
 *    exists or goes.
 * 2. The passwords (credentials.ts), before any pod is made (pods read
 *    them from the Secrets) and before PostgreSQL is asked. Then, for a
 *    cluster born from a backup (spec.bootstrap.recovery) not yet
 *    bootstrapped, the restore (restore.ts): the Backup and the target
 *    checked before the first pod is made, so a bad target makes nothing
 *    (and never an initdb'd empty cluster in the restore's place).
 * 3. Objects (objects.ts): the ConfigMap, Services, budget, missing claims
 *    and pods — before looking at PostgreSQL, so a cluster whose pods are
 *    gone comes back with its ids and volumes; a fenced instance's pod is
 *    made without the marker.
 * 4. Observe every instance (observe.ts): `pg_is_in_recovery()` on each.
 *    A restore's first server is asked in its container whether it has
 *    promoted, and given this cluster's passwords (restore.ts), before
 *    anything relies on them.
 * 5. Bootstrap (bootstrap.ts): the system identifier and first primary
 *    recorded once initdb's (or the restore's) server answers.
 * 6. Failover (failover.ts): fence, promote, repoint. First of the plans,
 *    so nothing below acts on a primary that is lost.
 * 7. Switchover (switchover.ts), when asked or under way.
 * 8. Rejoin (rejoin.ts): every other instance follows the primary:
 *    repointed, rewound, or fenced if it writes.
 * 9. Slots (slots.ts) and synchronous_standby_names (synchronous.ts) on
 *    the primary: before the label, so -rw reaches a new primary only once
 *    it waits for its standbys.
 * 10. Labels and readiness gates (service.ts) from the same observation;
 *     then spec.roles and spec.databases (roles.ts) on the serving
 *     primary, whatever the standbys are doing: after all a new primary
 *     needs, so a slow CREATE DATABASE delays none of it (its problems
 *     are Degraded at step 13);
 *     then, with spec.backup, continuous archiving (backup.ts): the
 *     credentials rendered, the stanza made once the primary archives —
 *     never blocking what follows.
 * 11. The roll (roll.ts): standbys, then a switchover, never the primary
 *    while it is primary.
 * 12. Scale (scale.ts): standbys only.
 * 13. Status, when nothing else wrote it.
 */
import { Action, type Controller, type ControllerOptions, type KubeClient } from "@ballast/runtime";
import {
  loadCredentials,
  memberSetController,
  recordMembership,
  syncReportingRejection,
} from "@ballast/stateful";
import { PostgresCluster } from "../api.ts";
import { Backup } from "../backup/api.ts";
import { syncBackup } from "./backup.ts";
import { recordBootstrap } from "./bootstrap.ts";
import { loadPasswords } from "./credentials.ts";
import { failover } from "./failover.ts";
import { planMembership } from "./membership.ts";
import { syncObjects } from "./objects.ts";
import { observe, serving } from "./observe.ts";
import { rejoin } from "./rejoin.ts";
import { restore, restoredPrimary } from "./restore.ts";
import { syncRoles } from "./roles.ts";
import { roll } from "./roll.ts";
import { scale } from "./scale.ts";
import { BackupsChanged, type PostgresControllerDeps, PostgresScope } from "./scope.ts";
import { followPrimary } from "./service.ts";
import { syncSlots } from "./slots.ts";
import { switchover } from "./switchover.ts";
import { syncSynchronous } from "./synchronous.ts";

export type { PostgresControllerDeps } from "./scope.ts";

/**
 * While a failover or a switchover is recorded, or the primary does not
 * answer, the cluster is looked at again within this long whatever the
 * step asked: each step of a handover is one reconcile, and the time
 * between them is write unavailability.
 */
export const handoverLookMs = 250;

export function postgresClusterController(
  client: KubeClient,
  deps: PostgresControllerDeps,
  options: ControllerOptions = {},
): Controller<PostgresCluster> {
  const silence = deps.silence ?? new Map<string, number>();
  const backupsChanged = deps.backupsChanged ?? new BackupsChanged();
  return memberSetController(
    client,
    PostgresCluster,
    {
      name: "postgrescluster",
      // A Backup that completes or expires changes status.backup.lastBackup (backup.ts, step 5).
      watches: [
        {
          type: Backup,
          map: (b: Backup) => {
            const ref = { namespace: b.metadata.namespace ?? "default", name: b.spec.cluster.name };
            backupsChanged.mark(`${ref.namespace}/${ref.name}`);
            return [ref];
          },
        },
      ],
      deleted: (ref) => {
        deps.metrics?.forget(ref.namespace ?? "default", ref.name);
        backupsChanged.forget(`${ref.namespace ?? "default"}/${ref.name}`);
      },
      reconcile: async (live, ctx) => {
        const scope = new PostgresScope(live, ctx, { ...deps, silence, backupsChanged });
        try {
          return await reconcileCluster(scope);
        } finally {
          deps.metrics?.record(
            scope.namespace,
            live.metadata.name ?? "",
            live.spec.instances,
            scope.r.status,
          );
        }
      },
    },
    options,
  );
}

export async function reconcileCluster(s: PostgresScope): Promise<Action> {
  const action = await reconcileSteps(s);
  const pg = s.pg;
  const primary = pg.primary?.id;
  const handingOver =
    pg.election !== undefined ||
    pg.switchover !== undefined ||
    (primary !== undefined &&
      s.observation !== undefined &&
      !serving(s.observation, primary).serving);
  if (handingOver && action.kind === "requeueAfter" && action.afterMs > handoverLookMs) {
    return Action.requeueAfter(handoverLookMs);
  }
  return action;
}

async function reconcileSteps(s: PostgresScope): Promise<Action> {
  // 1. A refused scale-down is reported by status.ts (Degraded), every write.
  const change = planMembership(s.r, s.members());
  const recorded = await recordMembership(
    change,
    s.operation,
    s.io(),
    (id) => `instance ${id}`,
    s.now(),
  );
  if (recorded !== "continue") return recorded;
  const members = s.members() ?? [];
  const ids = members.map((m) => m.id);
  // 2.
  const loaded = await loadCredentials(
    s,
    () => loadPasswords(s),
    (reason, message) => s.writeStatus({ degraded: { reason, message } }),
  );
  if (loaded !== "continue") return loaded;
  // 2b.
  const restoring = await restore(s);
  if (restoring !== "continue") return restoring;
  // 3.
  const synced = await syncReportingRejection(
    () => syncObjects(s, members),
    (reason, message) => s.writeStatus({ degraded: { reason, message } }),
  );
  if ("retry" in synced) return synced.retry;
  const created = synced.synced;
  // 4.
  s.observation = await observe(s, ids);
  // 4b.
  const promoted = await restoredPrimary(s);
  if (promoted !== "continue") return promoted;
  // 5.
  const bootstrapped = await recordBootstrap(s);
  if (bootstrapped !== "continue") return bootstrapped;
  // 6.
  const failedOver = await failover(s);
  if (failedOver.result !== "continue") return failedOver.result;
  // 7.
  const switched = await switchover(s);
  if (switched.result !== "continue") return switched.result;
  // 8.
  const rejoined = await rejoin(s);
  // 9.
  const slotProblem = await syncSlots(s);
  const syncInPlace = await syncSynchronous(s);
  // 10.
  await followPrimary(s, syncInPlace);
  // 10a.
  const roles = await syncRoles(s);
  if (rejoined.result !== "continue") return rejoined.result;
  // 10b.
  await syncBackup(s);
  const waiting = [failedOver.waiting, switched.waiting, rejoined.waiting, slotProblem]
    .filter((w) => w !== undefined)
    .join("; ");
  // 11.
  const rolled = await roll(s, members);
  if (rolled !== "continue") return rolled;
  // 12.
  const scaled = await scale(s, members);
  if (scaled !== "continue") return scaled;
  // 13.
  await s.writeStatus({
    ...(waiting ? { waiting } : {}),
    ...(rejoined.foreign
      ? { degraded: { reason: "ForeignInstance", message: rejoined.foreign } }
      : roles
        ? { degraded: roles }
        : {}),
  });
  const settled =
    !created &&
    !waiting &&
    members.every((m) => m.removing || serving(s.observation, m.id).serving);
  return Action.requeueAfter(settled ? s.idleMs : s.busyMs);
}
