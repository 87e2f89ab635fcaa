/**
 * The PostgreSQL operator as a descriptor (`postgres`): its CRDs
 * (PostgresCluster, Backup, ScheduledBackup), RBAC,
 * lease and field manager, restart annotation and entry point, and
 * `build`, which makes one PostgresCluster, one Backup and one
 * ScheduledBackup controller per watched namespace, reaching PostgreSQL over its protocol (`PostgresAdmin`: one
 * short session per call) as the superuser, at each instance's pod IP.
 * `runOperator(postgres)` (main.ts) runs it.
 */
import { fileURLToPath } from "node:url";
import { defineOperator, watchScopes } from "@ballast/runtime";
import { PostgresAdmin } from "./admin/admin.ts";
import type { PostgresPort } from "./admin/port.ts";
import { PostgresCluster } from "./api.ts";
import { Backup } from "./backup/api.ts";
import { backupController } from "./backup/controller.ts";
import { scheduledBackupController } from "./backup/scheduled.ts";
import { ScheduledBackup } from "./backup/scheduled-api.ts";
import { postgresClusterController } from "./cluster/controller.ts";
import { PostgresMetrics } from "./cluster/metrics.ts";
import { clusterRules, namespacedRules } from "./rbac.ts";
import { annotations, officialUid, users } from "./resources.ts";

export const crds = [PostgresCluster, Backup, ScheduledBackup];

export interface PostgresBuildOptions {
  /** How PostgreSQL is reached, given the superuser's password (tests may wrap it). @default PostgresAdmin */
  postgres?: ((password: string) => PostgresPort) | undefined;
  /** How often a busy cluster is looked at again. @default 2000 */
  busyRequeueMs?: number | undefined;
  /** The uid of the image's postgres user. @default $BALLAST_POSTGRES_UID, else 999 (the official image's) */
  postgresUid?: number | undefined;
}

/** The uid the pods run as: the official image's, or the one the environment names (the local image runs Debian's). */
export function postgresUid(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.BALLAST_POSTGRES_UID;
  return v && /^[0-9]+$/.test(v) ? Number(v) : officialUid;
}

export const postgres = defineOperator<PostgresBuildOptions>({
  name: "postgres",
  crds,
  rules: { namespaced: namespacedRules, cluster: clusterRules },
  fieldManager: "ballast-postgres-operator",
  leaseName: "ballast-postgres-operator",
  entry: fileURLToPath(new URL("./main.ts", import.meta.url)),
  restart: { annotation: annotations.restartRequested, kinds: [PostgresCluster] },
  // Loaded only by `ballast status`, so running the operator does not load it.
  status: async () => (await import("./status-view.ts")).postgresStatusView,
  build(client, context, options = {}) {
    const events = context.eventRecorder({ reportingController: "ballast.dev/postgres-operator" });
    const port =
      options.postgres ??
      ((password: string) =>
        new PostgresAdmin({
          user: users.superuser,
          password,
          applicationName: "ballast-operator",
        }));
    const metrics = new PostgresMetrics(context.metrics.registry);
    const uid = options.postgresUid ?? postgresUid();
    return {
      controllers: watchScopes(context.namespaces).flatMap(({ namespace, suffix }) => [
        postgresClusterController(
          client,
          {
            postgres: port,
            events,
            metrics,
            postgresUid: uid,
            ...(options.busyRequeueMs ? { busyRequeueMs: options.busyRequeueMs } : {}),
          },
          { ...(namespace ? { namespace } : {}), name: `postgrescluster${suffix}` },
        ),
        backupController(
          client,
          { events },
          { ...(namespace ? { namespace } : {}), name: `backup${suffix}` },
        ),
        scheduledBackupController(
          client,
          { events },
          { ...(namespace ? { namespace } : {}), name: `scheduledbackup${suffix}` },
        ),
      ]),
    };
  },
});
