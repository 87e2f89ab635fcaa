/**
 * One reconcile of one RedisCluster, on the shared `MemberSetScope` (the
 * cluster as read fresh, its pods by member id, status and events): what
 * Redis Cluster adds is the port (made from the password), what the nodes
 * reported and the view built from it. The scope decides nothing.
 */
import type { ControllerContext, EventRecorder } from "@ballast/runtime";
import { MemberSetScope, type Operation, type PodLike } from "@ballast/stateful";
import type { ClusterMemberAddress, RedisClusterPort } from "../admin/cluster-port.ts";
import { ports } from "../resources.ts";
import type { RedisCluster, RedisClusterStatus } from "./api.ts";
import type { ClusterMember, ClusterObservation, ClusterView } from "./plan/view.ts";
import { clusterLabels } from "./resources.ts";
import { buildClusterStatus, type ClusterStatusUpdate } from "./status.ts";

export interface ClusterControllerDeps {
  /** The port to the nodes, authenticating with the cluster's password. */
  redis: (password: string) => RedisClusterPort;
  events?: EventRecorder;
  /** @default 2000 */
  busyRequeueMs?: number;
  /** @default 30000 */
  idleRequeueMs?: number;
  /** How long one reconcile may spend moving slots before it records progress. @default 3000 */
  reshardBudgetMs?: number;
  now?: () => Date;
}

export class ClusterScope extends MemberSetScope<
  RedisCluster,
  RedisClusterStatus,
  ClusterStatusUpdate,
  ClusterMember
> {
  readonly deps: ClusterControllerDeps;
  observation: ClusterObservation | undefined;
  view: ClusterView | undefined;
  #port: RedisClusterPort | undefined;
  #password = "";

  constructor(r: RedisCluster, ctx: ControllerContext<RedisCluster>, deps: ClusterControllerDeps) {
    super(r, ctx, {
      memberLabel: clusterLabels.memberId,
      events: deps.events,
      busyRequeueMs: deps.busyRequeueMs,
      idleRequeueMs: deps.idleRequeueMs,
      now: deps.now,
    });
    this.deps = deps;
  }

  get r(): RedisCluster {
    return this.owner;
  }

  get status(): RedisClusterStatus {
    return this.owner.status ?? {};
  }

  get redis(): RedisClusterPort {
    if (!this.#port) throw new Error("the password is read before Redis is asked anything");
    return this.#port;
  }

  usePassword(password: string): void {
    this.#password = password;
    this.#port = this.deps.redis(password);
  }

  /** The cluster's password (the default user's), for the ACL port (users/sync.ts). */
  get password(): string {
    return this.#password;
  }

  /** The member list recorded in status, with each member's last known node id. */
  members(): ClusterMember[] | undefined {
    return this.status.nodes?.map((n) => ({
      id: n.id,
      shard: n.shard,
      ...(n.nodeId ? { nodeId: n.nodeId } : {}),
      ...(n.removing ? { removing: true } : {}),
    }));
  }

  /** Where the port reaches a member: its pod's IP (the operator may run outside the cluster's DNS). */
  address(id: number): ClusterMemberAddress | undefined {
    const ip = podIP(this.pods.get(id));
    return ip ? { id, host: ip, port: ports.redis } : undefined;
  }

  podIP(id: number): string | undefined {
    return podIP(this.pods.get(id));
  }

  protected buildStatus(update: ClusterStatusUpdate): RedisClusterStatus | undefined {
    return buildClusterStatus(this.r, {
      pods: this.pods,
      observation: this.observation,
      view: this.view,
      update,
      now: this.now(),
    });
  }

  protected membersUpdate(
    members: readonly ClusterMember[],
    operation: Operation | null,
  ): ClusterStatusUpdate {
    return { members, operation };
  }

  protected operationUpdate(operation: Operation | null): ClusterStatusUpdate {
    return { operation };
  }
}

function podIP(pod: PodLike | undefined): string | undefined {
  return pod && !pod.metadata.deletionTimestamp ? pod.status?.podIP : undefined;
}

export function nodeName(member: { id: number }): string {
  return `node ${member.id}`;
}
