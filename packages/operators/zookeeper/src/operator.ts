/**
 * The ZooKeeper operator as a descriptor (`zookeeper`): its CRD, RBAC,
 * lease and field manager, restart annotation and entry point, and
 * `build`, which makes one ZooKeeperEnsemble controller per watched
 * namespace, reaching ZooKeeper through each member's AdminServer and
 * running reconfig through pod exec. `runOperator(zookeeper)` (main.ts)
 * runs it.
 */
import { fileURLToPath } from "node:url";
import { defineOperator, type KubeClient, type Runnable, watchScopes } from "@ballast/runtime";
import { ZooKeeperAdmin } from "./admin/admin.ts";
import { execRunner } from "./admin/exec-runner.ts";
import type { ZooKeeperPort } from "./admin/port.ts";
import { ZooKeeperEnsemble } from "./api.ts";
import { zooKeeperEnsembleController } from "./ensemble/controller.ts";
import { ZooKeeperMetrics } from "./ensemble/metrics.ts";
import { namespacedRules } from "./rbac.ts";
import { annotations } from "./resources.ts";

export const crds = [ZooKeeperEnsemble];

export interface ZooKeeperBuildOptions {
  /** How ZooKeeper is reached (tests may wrap it). @default AdminServer HTTP + zkCli.sh through exec */
  zookeeper?: ((client: KubeClient) => ZooKeeperPort) | undefined;
  /** How often a busy ensemble is looked at again. @default 2000 */
  busyRequeueMs?: number | undefined;
}

export const zookeeper = defineOperator<ZooKeeperBuildOptions>({
  name: "zookeeper",
  crds,
  rules: { namespaced: namespacedRules },
  fieldManager: "ballast-zookeeper-operator",
  leaseName: "ballast-zookeeper-operator",
  entry: fileURLToPath(new URL("./main.ts", import.meta.url)),
  restart: { annotation: annotations.restartRequested, kinds: [ZooKeeperEnsemble] },
  // Loaded only by `ballast status`, so running the operator does not load it.
  status: async () => (await import("./status-view.ts")).zookeeperStatusView,
  build(client, context, options = {}) {
    const events = context.eventRecorder({ reportingController: "ballast.dev/zookeeper-operator" });
    const port = options.zookeeper?.(client) ?? new ZooKeeperAdmin({ run: execRunner(client) });
    const metrics = new ZooKeeperMetrics(context.metrics.registry);
    const controllers: Runnable[] = [];
    for (const { namespace, suffix } of watchScopes(context.namespaces)) {
      controllers.push(
        zooKeeperEnsembleController(
          client,
          {
            zookeeper: port,
            events,
            metrics,
            ...(options.busyRequeueMs ? { busyRequeueMs: options.busyRequeueMs } : {}),
          },
          { ...(namespace ? { namespace } : {}), name: `zookeeperensemble${suffix}` },
        ),
      );
    }
    return { controllers };
  },
});
