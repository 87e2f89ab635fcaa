/**
 * Object sync for a KafkaCluster. Steps:
 *
 * 1. Apply the shared objects (headless and bootstrap Services, the budget,
 *    the ConfigMap) that are missing or drifted on a field we set.
 * 2. Create the claim, then the pod, of every node that needs a running pod
 *    and has none (a drained node being removed does not). The claim first:
 *    a pod whose claim does not exist cannot be scheduled, and a kept claim
 *    is adopted with its data.
 *
 * A pod is created with the configuration it starts with recorded on it, so
 * later diffs know what it runs.
 */
import { syncMembers } from "@ballast/stateful";
import {
  bootstrapService,
  claim,
  configMap,
  disruptionBudget,
  headlessService,
  pod,
} from "../resources.ts";
import type { MemberNode } from "./membership.ts";
import type { ClusterScope } from "./scope.ts";

/** True when it created a pod (the cluster is looked at again sooner). */
export function syncObjects(s: ClusterScope, nodes: readonly MemberNode[]): Promise<boolean> {
  const clusterId = s.status.clusterId ?? "";
  return syncMembers(s.ctx, {
    shared: [
      headlessService(s.c),
      bootstrapService(s.c),
      disruptionBudget(s.c, nodes),
      configMap(s.c, nodes),
    ],
    members: nodes,
    pods: s.pods,
    operation: s.operation,
    claim: (node) => claim(s.c, node.id),
    pod: (node) => pod(s.c, node, nodes, { clusterId, appliedConfig: s.desiredConfig() }),
  });
}
