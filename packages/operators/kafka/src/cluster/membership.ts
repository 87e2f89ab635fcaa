/**
 * Which nodes a cluster has: decided once per change of `spec.brokers` and
 * recorded in `.status.nodes` before anything is created or removed, so an
 * operator restart finds the same ids and the same removals in progress.
 * Pure: the controller writes what these functions return.
 */
import type { KafkaCluster } from "../api.ts";
import { assignNodeIds } from "../plan/node-ids.ts";
import type { ClusterNode, NodeId, Role } from "../plan/state.ts";
import { initialNodes } from "../resources.ts";

export interface MemberNode extends ClusterNode {
  /** Being drained: partitions move off, then the node goes. */
  readonly removing?: boolean;
}

export type MembershipChange =
  | { kind: "none" }
  | { kind: "create"; nodes: MemberNode[] }
  | { kind: "add"; nodes: MemberNode[]; added: NodeId[] }
  | { kind: "remove"; nodes: MemberNode[]; removing: NodeId[] }
  | { kind: "refuse"; message: string };

const isBroker = (n: ClusterNode) => n.roles.includes("broker");
const isController = (n: ClusterNode) => n.roles.includes("controller");

/** Brokers that stay: the ones counted against `spec.brokers`. */
export function activeBrokers(nodes: readonly MemberNode[]): MemberNode[] {
  return nodes.filter((n) => isBroker(n) && !n.removing);
}

/**
 * The node list `spec.brokers` asks for, from the one in status. Scale-up
 * first takes back nodes still being drained (their data is still there),
 * then adds the lowest free ids; scale-down drains the newest broker-only
 * nodes (controllers hold the quorum and are never removed).
 */
export function planMembership(
  cluster: KafkaCluster,
  current: readonly MemberNode[] | undefined,
): MembershipChange {
  if (!current || current.length === 0) return { kind: "create", nodes: initialNodes(cluster) };
  const want = cluster.spec.brokers;
  const have = activeBrokers(current).length;
  if (want === have) return { kind: "none" };

  if (want > have) {
    let missing = want - have;
    const nodes = current.map((n) => ({ ...n }));
    const draining = nodes.filter((n) => n.removing).sort((a, b) => a.id - b.id);
    const kept: NodeId[] = [];
    for (const node of draining) {
      if (missing === 0) break;
      delete (node as { removing?: boolean }).removing;
      kept.push(node.id);
      missing--;
    }
    const ids = assignNodeIds(
      nodes.map((n) => n.id),
      missing,
    );
    const roles: Role[] = ["broker"];
    for (const id of ids) nodes.push({ id, roles });
    return { kind: "add", nodes: sortById(nodes), added: [...kept, ...ids] };
  }

  const excess = have - want;
  const removable = activeBrokers(current)
    .filter((n) => !isController(n))
    .sort((a, b) => b.id - a.id);
  if (removable.length < excess) {
    return {
      kind: "refuse",
      message: `spec.brokers=${want} would remove controller nodes: in combined mode the ${current.filter(isController).length} controllers are also brokers and stay; set spec.brokers to at least ${have - removable.length}`,
    };
  }
  const removing = removable.slice(0, excess).map((n) => n.id);
  const nodes = current.map((n) => (removing.includes(n.id) ? { ...n, removing: true } : n));
  return { kind: "remove", nodes, removing };
}

function sortById(nodes: MemberNode[]): MemberNode[] {
  return nodes.sort((a, b) => a.id - b.id);
}
