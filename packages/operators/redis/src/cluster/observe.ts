/**
 * Looking at the cluster: every member whose pod has an IP is asked
 * through the port, all in parallel (one that does not answer costs one
 * timeout, not one per member); a member with no pod yet is observed
 * without an answer. Then each pod's readiness gate is set from
 * `notServing` (plan/view.ts).
 */
import { setReadinessGates } from "@ballast/stateful";
import {
  buildView,
  type ClusterMember,
  type ClusterObservation,
  type ClusterView,
  notServing,
} from "./plan/view.ts";
import { clusterServingGate } from "./resources.ts";
import type { ClusterScope } from "./scope.ts";

export async function observeCluster(
  s: ClusterScope,
  members: readonly ClusterMember[],
): Promise<{ observation: ClusterObservation; view: ClusterView }> {
  const nodes = await Promise.all(
    members.map(async (member) => {
      const a = s.address(member.id);
      return { member, answer: a ? await s.redis.node(a) : undefined, podIP: s.podIP(member.id) };
    }),
  );
  const observation = { nodes };
  return { observation, view: buildView(observation) };
}

export async function setClusterGates(s: ClusterScope): Promise<void> {
  const obs = s.observation;
  const view = s.view;
  if (!obs || !view) return;
  const members = obs.nodes.flatMap((n) => {
    const pod = s.pods.get(n.member.id);
    return pod ? [{ member: n.member.id, pod, n }] : [];
  });
  await setReadinessGates(
    s.ctx,
    clusterServingGate,
    members.map(({ member, pod }) => ({ member, pod })),
    (id) => {
      const n = obs.nodes.find((x) => x.member.id === id);
      const why = n ? notServing(n, view) : ["is not observed"];
      return why.length === 0
        ? { running: true, reason: "Serving", message: `node ${id} serves` }
        : { running: false, reason: "NotServing", message: `node ${id} ${why.join(", ")}` };
    },
    s.now(),
  );
}
