/**
 * Object sync for a ZooKeeperEnsemble. Steps:
 *
 * 1. Apply the shared objects (ConfigMap, headless and client Services,
 *    the budget) that are missing or drifted on a field we set. The
 *    ConfigMap first in the list: a pod created next mounts what it says.
 * 2. Create the claim, then the pod, of every member that needs a running
 *    pod and has none (a member drained for removal does not). A claim
 *    that exists is adopted as it is: its data and its dynamic
 *    configuration are how a member comes back after quorum loss.
 *
 * A new member's pod starts, if its volume is new, with the voters last
 * observed plus itself: it joins as a non-voting follower until the
 * scale-up adds it by reconfig.
 */
import { type Member, syncMembers } from "@ballast/stateful";
import {
  claim,
  clientService,
  configMap,
  disruptionBudget,
  headlessService,
  pod,
} from "../resources.ts";
import type { EnsembleScope } from "./scope.ts";

/** True when it created a pod (the ensemble is looked at again sooner). */
export function syncObjects(s: EnsembleScope, members: readonly Member[]): Promise<boolean> {
  const initial = initialServers(s, members);
  return syncMembers(s.ctx, {
    shared: [
      configMap(s.e),
      headlessService(s.e),
      clientService(s.e),
      disruptionBudget(s.e, members.length),
    ],
    members,
    pods: s.pods,
    operation: s.operation,
    claim: (member) => claim(s.e, member.id),
    pod: (member) => pod(s.e, member.id, initial, s.superDigest),
  });
}

/**
 * The voters a new volume starts with: those last observed; before any
 * observation (a new ensemble) every member that is not being added.
 */
function initialServers(s: EnsembleScope, members: readonly Member[]): number[] {
  const observed = s.recordedVoters();
  if (observed.length > 0) return observed;
  const adding = s.operation?.type === "ScaleUp" ? s.operation.adding : [];
  return members.filter((m) => !m.removing && !adding.includes(m.id)).map((m) => m.id);
}
