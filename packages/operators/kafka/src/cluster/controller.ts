/**
 * The KafkaCluster controller: observe → plan → act, as an ordered pipeline
 * of steps, at most one disruptive act (one pod deleted, one batch of
 * partition moves) per reconcile, each recorded in `.status` BEFORE it is
 * taken, so an operator killed at any line resumes where it was.
 *
 * The cluster is read fresh from the API server, not from the cache
 * (stateful's memberSetController): a decision to restart a broker must not
 * rest on a copy that has not yet seen the last status write.
 *
 * Why this order:
 * 1. Validate the keys: a spec that cannot be acted on changes nothing.
 * 2. The cluster id, before any storage is formatted with it.
 * 3. Node ids for a new cluster or a scale-up, recorded before any pod for
 *    them exists (removals wait for step 8: they need Kafka's view). Only
 *    status is written.
 * 4. Validate the values (validate.ts), with the types and checks of a
 *    running broker when one answers: before the objects, because the
 *    ConfigMap a restarting container reads is one of them — a bad value
 *    never reaches a broker, a pod or a dynamic update.
 * 5. Objects: shared ones applied where drifted, missing claims and pods
 *    created — before looking at Kafka, so a cluster whose pods are all gone
 *    comes back. An object the API server refuses (invalid, forbidden, over
 *    quota) is Degraded ObjectRejected with the server's message, and
 *    nothing further is done until it is accepted.
 * 6. Observe Kafka, through the brokers that are up; none → wait.
 * 7. Readiness gates, from what Kafka says, before anything reads readiness.
 * 8. Scale-down: refused, or recorded — before any restart, so a roll never
 *    restarts a broker about to be drained.
 * 9. Dynamic config: what needs no restart is applied first, so the roll
 *    restarts only for what needs it.
 * 10. The roll (roll.ts), which yields to a scale operation in progress. A
 *    restarted broker that does not come back halts it (plan/halt.ts: the
 *    status says so; planRoll restarts nothing else meanwhile).
 * 11. The scale operation in progress (scale.ts).
 * 12. Status, when nothing else wrote it.
 */
import { randomBytes } from "node:crypto";
import { Action, type ControllerOptions, type KubeClient } from "@ballast/runtime";
import { memberSetController, recordMembership, syncReportingRejection } from "@ballast/stateful";
import { KafkaCluster } from "../api.ts";
import { validateUserConfig } from "../plan/config.ts";
import { describeConfigProblem } from "../plan/validate.ts";
import { userConfig } from "../resources.ts";
import { applyDynamicConfig, dynamicKeysOf } from "./dynamic-config.ts";
import { planMembership } from "./membership.ts";
import { syncObjects } from "./objects.ts";
import { adminFor, setRunningGates } from "./observe.ts";
import { roll } from "./roll.ts";
import { scale, startScaleDown } from "./scale.ts";
import { type ClusterControllerDeps, ClusterScope } from "./scope.ts";
import { checkConfig } from "./validate.ts";

export type { ClusterControllerDeps } from "./scope.ts";

export function kafkaClusterController(
  client: KubeClient,
  deps: ClusterControllerDeps,
  options: ControllerOptions = {},
) {
  return memberSetController(
    client,
    KafkaCluster,
    {
      name: "kafkacluster",
      deleted: async (ref) => {
        await deps.admins.reset(`${ref.namespace}/${ref.name}`);
        deps.metrics?.forget(ref.namespace ?? "default", ref.name);
      },
      reconcile: async (live, ctx) => {
        const scope = new ClusterScope(live, ctx, deps);
        try {
          return await reconcileCluster(scope);
        } catch (err) {
          // A Kafka error may mean a stale connection: the next reconcile reconnects.
          if (isKafkaError(err)) await deps.admins.reset(scope.key);
          throw err;
        } finally {
          deps.metrics?.record(scope.c, scope.facts.observation);
        }
      },
    },
    options,
  );
}

/** The pipeline; see the module comment for why the steps come in this order. */
export async function reconcileCluster(s: ClusterScope): Promise<Action> {
  // 1.
  const problems = validateUserConfig(userConfig(s.c));
  if (problems.length > 0) {
    await s.writeStatus({ invalid: problems.join("; ") });
    return Action.done();
  }
  // 2.
  if (!s.status.clusterId) {
    await s.writeStatus({ clusterId: newClusterId() });
    return Action.requeueAfter(0);
  }
  // 3.
  const change = planMembership(s.c, s.nodes());
  if (change.kind === "create" || change.kind === "add") {
    const recorded = await recordMembership(
      change,
      s.operation,
      s.io(),
      (id) => `broker ${id}`,
      s.now(),
    );
    if (recorded !== "continue") return recorded;
  }
  const nodes = s.nodes() ?? [];
  // 4.
  const wrong = await checkConfig(s, nodes);
  if (wrong.length > 0) {
    const message = `${wrong.map(describeConfigProblem).join("; ")}; nothing is changed until it is fixed`;
    // Brokers that restart meanwhile (on their own) still get their readiness gate from Kafka.
    const running = adminFor(s, nodes);
    if (running) {
      s.facts.observation = await running.observe();
      await setRunningGates(s, nodes, s.facts.observation);
    }
    await s.writeStatus({ blocked: { reason: "InvalidConfig", message } });
    return Action.requeueAfter(s.idleMs);
  }
  // 5.
  const synced = await syncReportingRejection(
    () => syncObjects(s, nodes),
    (reason, message) => s.writeStatus({ blocked: { reason, message } }),
  );
  if ("retry" in synced) return synced.retry;
  const created = synced.synced;
  // 6.
  const admin = adminFor(s, nodes);
  if (!admin) {
    await s.writeStatus({ waiting: "no broker is ready yet" });
    return Action.requeueAfter(s.busyMs);
  }
  const obs = await admin.observe();
  s.facts.observation = obs;
  // 7.
  await setRunningGates(s, nodes, obs);
  // 8.
  if (change.kind === "refuse") {
    await s.writeStatus({ blocked: { reason: "ScaleDownRefused", message: change.message } });
    return Action.requeueAfter(s.idleMs);
  }
  if (change.kind === "remove") {
    const started = await startScaleDown(s, change, obs);
    if (started !== "continue") return started;
  }
  // 9.
  const dynamicKeys = await dynamicKeysOf(admin, obs);
  await applyDynamicConfig(s, admin, nodes, obs, dynamicKeys);
  // 10.
  const rolled = await roll(s, nodes, obs, dynamicKeys);
  if (rolled !== "continue") return rolled;
  // 11.
  const scaled = await scale(s, admin, nodes, obs);
  if (scaled !== "continue") return scaled;
  // 12.
  await s.writeStatus({});
  return Action.requeueAfter(created ? s.busyMs : s.idleMs);
}

function isKafkaError(err: unknown): boolean {
  return err instanceof Error && !("status" in err && typeof err.status === "number");
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, as `kafka-storage random-uuid` prints. */
export function newClusterId(): string {
  return randomBytes(16).toString("base64url");
}
