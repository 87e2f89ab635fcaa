/**
 * One reconcile of one KafkaCluster: what every step reads (the cluster as
 * read fresh, its pods by node id, what Kafka reported) and the two ways a
 * step writes (status, events). Each step of the pipeline is a function in
 * its own file taking this scope; the scope itself decides nothing.
 */
import type { ControllerContext, EventRecorder } from "@ballast/runtime";
import { type MemberSetIO, type Operation, type PodLike, podsByMember } from "@ballast/stateful";
import type { KafkaCluster, KafkaClusterStatus } from "../api.ts";
import { KafkaCluster as Kind } from "../api.ts";
import type { NodeId } from "../plan/state.ts";
import { defaultConfig, labels, namespaceOf, userConfig } from "../resources.ts";
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

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

export class ClusterScope {
  readonly c: KafkaCluster;
  readonly ctx: ControllerContext<KafkaCluster>;
  readonly deps: ClusterControllerDeps;
  /** "namespace/name", the admin pool's key. */
  readonly key: string;
  readonly namespace: string;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly pods: ReadonlyMap<NodeId, PodLike>;
  readonly facts: StatusFacts = {};

  constructor(c: KafkaCluster, ctx: ControllerContext<KafkaCluster>, deps: ClusterControllerDeps) {
    this.c = c;
    this.ctx = ctx;
    this.deps = deps;
    this.namespace = namespaceOf(c);
    this.key = `${this.namespace}/${c.metadata.name}`;
    this.busyMs = deps.busyRequeueMs ?? 2000;
    this.idleMs = deps.idleRequeueMs ?? 30_000;
    this.pods = podsByMember(ctx.owned<PodLike>(Pod), labels.nodeId);
  }

  get status(): KafkaClusterStatus {
    return this.c.status ?? {};
  }

  get operation(): Operation | undefined {
    return this.status.operation;
  }

  now(): Date {
    return this.deps.now?.() ?? new Date();
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

  async writeStatus(update: StatusUpdate): Promise<void> {
    const status = buildStatus(this.c, {
      ...this.facts,
      pods: this.pods,
      update,
      now: this.now(),
    });
    if (!status) return;
    await this.ctx.client.applyStatus(
      {
        apiVersion: Kind.apiVersion,
        kind: Kind.kind,
        metadata: { name: this.c.metadata.name ?? "", namespace: this.namespace },
        status,
      },
      { force: true, signal: this.ctx.signal },
    );
    // Later steps of this reconcile see what was written.
    (this.c as { status?: KafkaClusterStatus }).status = status;
  }

  event(reason: string, action: string, note: string, type: "Normal" | "Warning" = "Normal"): void {
    this.deps.events?.event(this.c, { type, reason, action, note });
  }

  /** The shared state machines' view of this scope. */
  io(): MemberSetIO<MemberNode> & { namespace: string } {
    return {
      ctx: this.ctx,
      namespace: this.namespace,
      busyRequeueMs: this.busyMs,
      record: (operation) => this.writeStatus({ operation }),
      recordMembers: (nodes, operation) => this.writeStatus({ nodes, operation }),
      event: (e) => this.event(e.reason, e.action, e.note),
    };
  }
}

/** How status, events and logs name a node. */
export function nodeName(node: { id: NodeId }): string {
  return `node ${node.id}`;
}
