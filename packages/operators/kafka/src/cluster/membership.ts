/**
 * Kafka's membership rules, on the shared `planMembership`: `spec.brokers`
 * counts brokers; controllers hold the quorum and are never removed by a
 * scale-down (in combined mode they are brokers too, and stay); a new node
 * is a broker.
 */
import { activeMembers, type MembershipChange, planMembership as plan } from "@ballast/stateful";
import type { KafkaCluster } from "../api.ts";
import type { ClusterNode } from "../plan/state.ts";
import { initialNodes } from "../resources.ts";

export interface MemberNode extends ClusterNode {
  /** Being drained: partitions move off, then the node goes. */
  readonly removing?: boolean;
}

export type KafkaMembershipChange = MembershipChange<MemberNode>;

const isBroker = (n: ClusterNode) => n.roles.includes("broker");
const isController = (n: ClusterNode) => n.roles.includes("controller");

/** Brokers that stay: the ones counted against `spec.brokers`. */
export function activeBrokers(nodes: readonly MemberNode[]): MemberNode[] {
  return activeMembers(nodes, isBroker);
}

/** The node list `spec.brokers` asks for, from the one in status. */
export function planMembership(
  cluster: KafkaCluster,
  current: readonly MemberNode[] | undefined,
): KafkaMembershipChange {
  const want = cluster.spec.brokers;
  return plan(current, {
    desired: want,
    initial: () => initialNodes(cluster),
    counts: isBroker,
    removable: (n) => !isController(n),
    create: (id) => ({ id, roles: ["broker"] }),
    refusal: (have, removable) =>
      `spec.brokers=${want} would remove controller nodes: in combined mode the ${(current ?? []).filter(isController).length} controllers are also brokers and stay; set spec.brokers to at least ${have - removable}`,
  });
}
