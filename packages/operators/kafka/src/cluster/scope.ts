/**
 * One reconcile of one KafkaCluster, on the shared `MemberSetScope` (the
 * cluster as read fresh, its pods by node id, status and events): what
 * Kafka adds is what it observed and the node list's shape in status.
 * Each step of the pipeline is a function in its own file taking this scope;
 * the scope itself decides nothing.
 */
import type { ControllerContext, EventRecorder } from "@ballast/runtime";
import { MemberSetScope, type Operation } from "@ballast/stateful";
import type { KafkaCluster, KafkaClusterStatus } from "../api.ts";
import { defaultConfig, labels, userConfig } from "../resources.ts";
import type { AdminPool } from "./admin-pool.ts";
import type { MemberNode } from "./membership.ts";
import type { KafkaMetrics } from "./metrics.ts";
import { buildStatus, type StatusFacts, type StatusUpdate } from "./status.ts";

export interface ClusterControllerDeps {
  admins: AdminPool;
  events?: EventRecorder;
  metrics?: KafkaMetrics;
  /** How often a busy cluster is looked at again. @default 2000 */
  busyRequeueMs?: number;
  /** How often a quiet cluster's health is re-read from Kafka. @default 30000 */
  idleRequeueMs?: number;
  /** The clock status timestamps and operation start times are read from. @default the system's */
  now?: () => Date;
}

export class ClusterScope extends MemberSetScope<
  KafkaCluster,
  KafkaClusterStatus,
  StatusUpdate,
  MemberNode
> {
  readonly deps: ClusterControllerDeps;
  readonly facts: StatusFacts = {};

  constructor(c: KafkaCluster, ctx: ControllerContext<KafkaCluster>, deps: ClusterControllerDeps) {
    super(c, ctx, {
      memberLabel: labels.nodeId,
      events: deps.events,
      busyRequeueMs: deps.busyRequeueMs,
      idleRequeueMs: deps.idleRequeueMs,
      now: deps.now,
    });
    this.deps = deps;
  }

  /** The cluster (the scope's owner). */
  get c(): KafkaCluster {
    return this.owner;
  }

  get status(): KafkaClusterStatus {
    return this.owner.status ?? {};
  }

  /** The node list recorded in status (undefined before the first one is). */
  nodes(): MemberNode[] | undefined {
    return this.status.nodes?.map((n) => ({
      id: n.id,
      roles: n.roles,
      ...(n.removing ? { removing: true } : {}),
    }));
  }

  /** What every broker should run with: safe defaults, overridden by spec.config. */
  desiredConfig(): Record<string, string> {
    return { ...defaultConfig(this.c.spec.brokers), ...userConfig(this.c) };
  }

  protected buildStatus(update: StatusUpdate): KafkaClusterStatus | undefined {
    return buildStatus(this.c, { ...this.facts, pods: this.pods, update, now: this.now() });
  }

  protected membersUpdate(nodes: readonly MemberNode[], operation: Operation | null): StatusUpdate {
    return { nodes, operation };
  }

  protected operationUpdate(operation: Operation | null): StatusUpdate {
    return { operation };
  }
}

/** How status, events and logs name a node. */
export function nodeName(node: { id: number }): string {
  return `node ${node.id}`;
}
