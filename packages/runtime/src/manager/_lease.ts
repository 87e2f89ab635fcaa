/** The manager's default elector: `leader/`'s Lease-based one. */
import type { KubeClient } from "../client/client.ts";
import { LeaderElector } from "../leader/elector.ts";
import type { Logger } from "../reconcile/reconciler.ts";
import type { Elector } from "./elector.ts";
import type { ManagerLeaderElection } from "./manager.ts";

export function createLeaseElector(
  client: KubeClient,
  options: ManagerLeaderElection & { identity: string },
  log: Logger,
): Elector {
  const { leaseName, namespace, identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs } =
    options;
  return new LeaderElector(client, {
    leaseName,
    namespace,
    identity,
    ...(leaseDurationMs === undefined ? {} : { leaseDurationMs }),
    ...(renewDeadlineMs === undefined ? {} : { renewDeadlineMs }),
    ...(retryPeriodMs === undefined ? {} : { retryPeriodMs }),
    log,
  });
}
