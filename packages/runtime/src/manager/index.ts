/**
 * manager: runs controllers in one process, on one set of shared informers,
 * with `/metrics`, `/healthz`, `/readyz`, optional leader election, and an
 * orderly shutdown on SIGTERM.
 */
export type { Elector } from "./elector.ts";
export type { Check } from "./health.ts";
export {
  Manager,
  ManagerError,
  type ManagerLeaderElection,
  type ManagerOptions,
  type Runnable,
} from "./manager.ts";
