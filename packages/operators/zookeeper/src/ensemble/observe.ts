/**
 * Looking at ZooKeeper: every member pod with an IP is asked for its
 * report (in parallel: a member that does not answer costs one timeout,
 * not one per member), and each pod's readiness gate is set from it.
 */
import { setReadinessGates } from "@ballast/stateful";
import { type EnsembleObservation, observe, serving } from "../plan/state.ts";
import { servingGate } from "../resources.ts";
import type { EnsembleScope } from "./scope.ts";

export async function observeEnsemble(
  s: EnsembleScope,
  ids: readonly number[],
): Promise<EnsembleObservation> {
  const addresses = ids.flatMap((id) => {
    const a = s.address(id);
    return a ? [a] : [];
  });
  const reports = await Promise.all(addresses.map((a) => s.deps.zookeeper.report(a)));
  return observe(reports);
}

/** Each member's readiness gate says whether it serves in the ensemble (leader or synced follower). */
export async function setServingGates(
  s: EnsembleScope,
  ids: readonly number[],
  obs: EnsembleObservation,
): Promise<void> {
  const members = ids.flatMap((id) => {
    const pod = s.pods.get(id);
    return pod ? [{ member: id, pod }] : [];
  });
  await setReadinessGates(
    s.ctx,
    servingGate,
    members,
    (id) => {
      const report = obs.reports.get(id);
      return serving(report)
        ? { running: true, reason: "Serving", message: `member ${id} serves as ${report?.state}` }
        : {
            running: false,
            reason: "NotServing",
            message: `member ${id} is not serving${report?.error ? `: ${report.error}` : ""}`,
          };
    },
    s.now(),
  );
}
