/**
 * The Ballast PostgreSQL operator (issue #18), in progress: the port the
 * controller will talk to PostgreSQL through (admin/) and the pure plans
 * that decide a failover, a rejoin and a switchover (plan/). The CRD and
 * the controller do not exist yet.
 */
export * from "./admin/index.ts";
