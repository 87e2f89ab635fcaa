/**
 * One reconcile of one ZooKeeperEnsemble: what every step reads (the
 * ensemble as read fresh, its pods by member id, what ZooKeeper reported)
 * and the two ways a step writes (status, events). Each step of the
 * pipeline is a function in its own file taking this scope; the scope
 * itself decides nothing.
 */
import type { ControllerContext, EventRecorder } from "@ballast/runtime";
import {
  type Member,
  type MemberSetIO,
  type Operation,
  type PodLike,
  podsByMember,
} from "@ballast/stateful";
import type { MemberAddress, ZooKeeperPort } from "../admin/port.ts";
import {
  ZooKeeperEnsemble as Kind,
  type ZooKeeperEnsemble,
  type ZooKeeperEnsembleStatus,
} from "../api.ts";
import type { EnsembleObservation } from "../plan/state.ts";
import { labels, namespaceOf } from "../resources.ts";
import { buildStatus, type StatusUpdate } from "./status.ts";

export interface EnsembleControllerDeps {
  /** How ZooKeeper is reached. */
  zookeeper: ZooKeeperPort;
  events?: EventRecorder;
  /** How often a busy ensemble is looked at again. @default 2000 */
  busyRequeueMs?: number;
  /** How often a quiet ensemble's health is re-read from ZooKeeper. @default 30000 */
  idleRequeueMs?: number;
  /** The clock status timestamps and operation start times are read from. @default the system's */
  now?: () => Date;
}

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

export class EnsembleScope {
  readonly e: ZooKeeperEnsemble;
  readonly ctx: ControllerContext<ZooKeeperEnsemble>;
  readonly deps: EnsembleControllerDeps;
  readonly namespace: string;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly pods: ReadonlyMap<number, PodLike>;
  /** What ZooKeeper reported this reconcile (set by the observe step). */
  observation: EnsembleObservation | undefined;

  constructor(
    e: ZooKeeperEnsemble,
    ctx: ControllerContext<ZooKeeperEnsemble>,
    deps: EnsembleControllerDeps,
  ) {
    this.e = e;
    this.ctx = ctx;
    this.deps = deps;
    this.namespace = namespaceOf(e);
    this.busyMs = deps.busyRequeueMs ?? 2000;
    this.idleMs = deps.idleRequeueMs ?? 30_000;
    this.pods = podsByMember(ctx.owned<PodLike>(Pod), labels.memberId);
  }

  get status(): ZooKeeperEnsembleStatus {
    return this.e.status ?? {};
  }

  get operation(): Operation | undefined {
    return this.status.operation;
  }

  now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** The member list recorded in status (undefined before the first one is). */
  members(): Member[] | undefined {
    return this.status.members?.map((m) => ({
      id: m.id,
      ...(m.removing ? { removing: true } : {}),
    }));
  }

  /** Members the last observation found listed as voters. */
  recordedVoters(): number[] {
    return (this.status.members ?? []).filter((m) => m.voter).map((m) => m.id);
  }

  /** How the port reaches a member: its pod's IP; none before the pod has one. */
  address(id: number): MemberAddress | undefined {
    const pod = this.pods.get(id);
    const host = pod?.status?.podIP;
    if (!pod || !host || pod.metadata.deletionTimestamp) return undefined;
    return { id, host, pod: { namespace: this.namespace, name: pod.metadata.name ?? "" } };
  }

  async writeStatus(update: StatusUpdate): Promise<void> {
    const status = buildStatus(this.e, {
      pods: this.pods,
      observation: this.observation,
      update,
      now: this.now(),
    });
    if (!status) return;
    await this.ctx.client.applyStatus(
      {
        apiVersion: Kind.apiVersion,
        kind: Kind.kind,
        metadata: { name: this.e.metadata.name ?? "", namespace: this.namespace },
        status,
      },
      { force: true, signal: this.ctx.signal },
    );
    // Later steps of this reconcile see what was written.
    (this.e as { status?: ZooKeeperEnsembleStatus }).status = status;
  }

  event(reason: string, action: string, note: string, type: "Normal" | "Warning" = "Normal"): void {
    this.deps.events?.event(this.e, { type, reason, action, note });
  }

  /** The shared state machines' view of this scope. */
  io(): MemberSetIO<Member> & { namespace: string } {
    return {
      ctx: this.ctx,
      namespace: this.namespace,
      busyRequeueMs: this.busyMs,
      record: (operation) => this.writeStatus({ operation }),
      recordMembers: (members, operation) => this.writeStatus({ members, operation }),
      event: (e) => this.event(e.reason, e.action, e.note),
    };
  }
}

/** How status, events and logs name a member. */
export function memberName(member: { id: number }): string {
  return `member ${member.id}`;
}
