/**
 * The Ballast PostgreSQL operator (issue #18), in progress: the
 * `PostgresCluster` kind (api.ts) and the objects it makes (resources.ts),
 * the port the controller will talk to PostgreSQL through (admin/) and
 * the pure plans that decide a failover, a rejoin and a switchover
 * (plan/). The controller does not exist yet.
 */
export * from "./admin/index.ts";
export {
  failoverDelayMs,
  type InstanceStatus,
  ownedParameters,
  PostgresCluster,
  type PostgresClusterSpec,
  type PostgresClusterStatus,
  synchronousOf,
} from "./api.ts";
export { requestedSwitchover } from "./cluster/switchover.ts";
export { crds, type PostgresBuildOptions, postgres, postgresUid } from "./operator.ts";
export * as resources from "./resources.ts";
export { postgresStatusView } from "./status-view.ts";
