/**
 * The Redis operator as a descriptor (`redis`): its CRD, RBAC, lease and
 * field manager, restart annotation and entry point, and `build`, which
 * makes one RedisReplication controller per watched namespace, reaching
 * Redis and Sentinel over their protocol (`RedisAdmin`, one connection per
 * call) at each member's DNS name. `runOperator(redis)` (main.ts) runs it.
 */
import { fileURLToPath } from "node:url";
import { defineOperator, type Runnable, watchScopes } from "@ballast/runtime";
import { RedisAdmin } from "./admin/admin.ts";
import type { RedisPort } from "./admin/port.ts";
import { RedisReplication } from "./api.ts";
import { namespacedRules } from "./rbac.ts";
import { redisReplicationController } from "./replication/controller.ts";
import { annotations } from "./resources.ts";

export const crds = [RedisReplication];

export interface RedisBuildOptions {
  /** How Redis is reached, given the set's password (tests may wrap it). @default RedisAdmin */
  redis?: ((password: string) => RedisPort) | undefined;
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
  restart: { annotation: annotations.restartRequested, kinds: [RedisReplication] },
  // Loaded only by `ballast status`, so running the operator does not load it.
  status: async () => (await import("./status-view.ts")).redisStatusView,
  build(client, context, options = {}) {
    const events = context.eventRecorder({ reportingController: "ballast.dev/redis-operator" });
    const port = options.redis ?? ((password: string) => new RedisAdmin({ password }));
    const controllers: Runnable[] = [];
    for (const { namespace, suffix } of watchScopes(context.namespaces)) {
      controllers.push(
        redisReplicationController(
          client,
          {
            redis: port,
            events,
            ...(options.busyRequeueMs ? { busyRequeueMs: options.busyRequeueMs } : {}),
          },
          { ...(namespace ? { namespace } : {}), name: `redisreplication${suffix}` },
        ),
      );
    }
    return { controllers };
  },
});
