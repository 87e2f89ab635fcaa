/**
 * Looking at Kafka: an admin connection bootstrapped from the broker pods
 * that are up, and each broker pod's readiness gate set from what Kafka says.
 */
import { containersReady, setReadinessGates } from "@ballast/stateful";
import type { KafkaObservation } from "../plan/state.ts";
import { brokerRunningGate } from "../resources.ts";
import type { ClusterAdmin } from "./admin-pool.ts";
import type { MemberNode } from "./membership.ts";
import type { ClusterScope } from "./scope.ts";

/**
 * Bootstrap from every broker pod whose container is up (not Ready: that
 * waits for the broker-running gate this operator sets from what Kafka
 * says); none up → no admin yet.
 */
export function adminFor(s: ClusterScope, nodes: readonly MemberNode[]): ClusterAdmin | undefined {
  const bootstrap: string[] = [];
  for (const node of nodes) {
    if (!node.roles.includes("broker")) continue;
    const p = s.pods.get(node.id);
    if (p && containersReady(p) && p.status?.podIP)
      bootstrap.push(`${p.status.podIP}:${s.c.spec.clientPort}`);
  }
  if (bootstrap.length === 0) return undefined;
  return s.deps.admins.get(s.key, bootstrap.sort());
}

/** Each broker pod's readiness gate says whether Kafka lists it as registered and unfenced. */
export async function setRunningGates(
  s: ClusterScope,
  nodes: readonly MemberNode[],
  obs: KafkaObservation,
): Promise<void> {
  const brokers = nodes.flatMap((node) => {
    const pod = s.pods.get(node.id);
    return pod && node.roles.includes("broker") ? [{ member: node, pod }] : [];
  });
  await setReadinessGates(
    s.ctx,
    brokerRunningGate,
    brokers,
    (node, pod) =>
      containersReady(pod) && obs.liveBrokers.has(node.id)
        ? {
            running: true,
            reason: "BrokerRunning",
            message: `broker ${node.id} is registered and unfenced`,
          }
        : {
            running: false,
            reason: "BrokerNotRunning",
            message: `broker ${node.id} is not (yet) an unfenced member of the cluster`,
          },
    s.now(),
  );
}
