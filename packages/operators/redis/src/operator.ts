/**
 * The Redis operator as a descriptor (`redis`): its CRD, RBAC, lease and
 * field manager, restart annotation and entry point, and `build`, which
 * makes one RedisReplication and one RedisCluster controller per watched
 * namespace, reaching Redis and Sentinel over their protocol (`RedisAdmin`,
 * `RedisClusterAdmin`: one connection per call) at each member's pod IP.
 * `runOperator(redis)` (main.ts) runs it.
 */
import { fileURLToPath } from "node:url";
import { defineOperator, type Runnable, watchScopes } from "@ballast/runtime";
import { RedisAdmin } from "./admin/admin.ts";
import { RedisClusterAdmin } from "./admin/cluster-admin.ts";
import type { RedisClusterPort } from "./admin/cluster-port.ts";
import type { RedisPort } from "./admin/port.ts";
import { RedisReplication } from "./api.ts";
import { RedisCluster } from "./cluster/api.ts";
import { redisClusterController } from "./cluster/controller.ts";
import { RedisClusterMetrics } from "./cluster/metrics.ts";
import { namespacedRules } from "./rbac.ts";
import { redisReplicationController } from "./replication/controller.ts";
import { RedisMetrics } from "./replication/metrics.ts";
import { annotations } from "./resources.ts";

export const crds = [RedisReplication, RedisCluster];

export interface RedisBuildOptions {
  /** How Redis is reached, given the set's password (tests may wrap it). @default RedisAdmin */
  redis?: ((password: string) => RedisPort) | undefined;
  /** How Redis Cluster nodes are reached, given the cluster's password. @default RedisClusterAdmin */
  redisCluster?: ((password: string) => RedisClusterPort) | undefined;
  /** How often a busy set is looked at again. @default 2000 */
  busyRequeueMs?: number | undefined;
}

export const redis = defineOperator<RedisBuildOptions>({
  name: "redis",
  crds,
  rules: { namespaced: namespacedRules },
  fieldManager: "ballast-redis-operator",
  leaseName: "ballast-redis-operator",
  entry: fileURLToPath(new URL("./main.ts", import.meta.url)),
  restart: { annotation: annotations.restartRequested, kinds: [RedisReplication, RedisCluster] },
  // Loaded only by `ballast status`, so running the operator does not load it.
  status: async () => (await import("./status-view.ts")).redisStatusView,
  build(client, context, options = {}) {
    const events = context.eventRecorder({ reportingController: "ballast.dev/redis-operator" });
    const port = options.redis ?? ((password: string) => new RedisAdmin({ password }));
    const clusterPort =
      options.redisCluster ?? ((password: string) => new RedisClusterAdmin({ password }));
    const metrics = new RedisMetrics(context.metrics.registry);
    const clusterMetrics = new RedisClusterMetrics(context.metrics.registry);
    const controllers: Runnable[] = [];
    for (const { namespace, suffix } of watchScopes(context.namespaces)) {
      controllers.push(
        redisReplicationController(
          client,
          {
            redis: port,
            events,
            metrics,
            ...(options.busyRequeueMs ? { busyRequeueMs: options.busyRequeueMs } : {}),
          },
          { ...(namespace ? { namespace } : {}), name: `redisreplication${suffix}` },
        ),
      );
      controllers.push(
        redisClusterController(
          client,
          {
            redis: clusterPort,
            events,
            metrics: clusterMetrics,
            ...(options.busyRequeueMs ? { busyRequeueMs: options.busyRequeueMs } : {}),
          },
          { ...(namespace ? { namespace } : {}), name: `rediscluster${suffix}` },
        ),
      );
    }
    return { controllers };
  },
});
