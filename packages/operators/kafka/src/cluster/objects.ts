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
import { applyDrifted, createIfMissing, needsPod } from "@ballast/stateful";
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

const Service = { apiVersion: "v1", kind: "Service" } as const;
const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
const Budget = { apiVersion: "policy/v1", kind: "PodDisruptionBudget" } as const;

/** True when it created a pod (the cluster is looked at again sooner). */
export async function syncObjects(s: ClusterScope, nodes: readonly MemberNode[]): Promise<boolean> {
  await applyDrifted(
    s.ctx,
    [
      headlessService(s.c),
      bootstrapService(s.c),
      disruptionBudget(s.c, nodes),
      configMap(s.c, nodes),
    ],
    [...s.ctx.owned(Service), ...s.ctx.owned(Budget), ...s.ctx.owned(ConfigMap)],
  );
  let created = false;
  const clusterId = s.status.clusterId ?? "";
  for (const node of nodes) {
    if (s.pods.has(node.id) || !needsPod(node, s.operation)) continue;
    await createIfMissing(s.ctx, claim(s.c, node.id));
    const made = await createIfMissing(
      s.ctx,
      pod(s.c, node, nodes, { clusterId, appliedConfig: s.desiredConfig() }),
    );
    created ||= made === "created";
  }
  return created;
}
