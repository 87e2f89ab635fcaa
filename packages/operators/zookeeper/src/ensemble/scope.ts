/**
 * One reconcile of one ZooKeeperEnsemble, on the shared `MemberSetScope`
 * (the ensemble as read fresh, its pods by member id, status and events):
 * what ZooKeeper adds is what it reported, how a member is reached, and the
 * member list's shape in status. Each step of the pipeline is a function in
 * its own file taking this scope; the scope itself decides nothing.
 */
import type { ControllerContext, EventRecorder } from "@ballast/runtime";
import { type Member, MemberSetScope, type Operation } from "@ballast/stateful";
import type { MemberAddress, SuperUser, ZooKeeperPort } from "../admin/port.ts";
import type { ZooKeeperEnsemble, ZooKeeperEnsembleStatus } from "../api.ts";
import type { EnsembleObservation } from "../plan/state.ts";
import { labels } from "../resources.ts";
import type { ZooKeeperMetrics } from "./metrics.ts";
import { buildStatus, type StatusUpdate } from "./status.ts";

export interface EnsembleControllerDeps {
  /** How ZooKeeper is reached. */
  zookeeper: ZooKeeperPort;
  events?: EventRecorder;
  metrics?: ZooKeeperMetrics;
  /** How often a busy ensemble is looked at again. @default 2000 */
  busyRequeueMs?: number;
  /** How often a quiet ensemble's health is re-read from ZooKeeper. @default 30000 */
  idleRequeueMs?: number;
  /** The clock status timestamps and operation start times are read from. @default the system's */
  now?: () => Date;
}

export class EnsembleScope extends MemberSetScope<
  ZooKeeperEnsemble,
  ZooKeeperEnsembleStatus,
  StatusUpdate,
  Member
> {
  readonly deps: EnsembleControllerDeps;
  /** What ZooKeeper reported this reconcile (set by the observe step). */
  observation: EnsembleObservation | undefined;
  /** The superuser's password and digest (set by the credentials step, before any pod is made). */
  superUser: (SuperUser & { digest: string }) | undefined;

  constructor(
    e: ZooKeeperEnsemble,
    ctx: ControllerContext<ZooKeeperEnsemble>,
    deps: EnsembleControllerDeps,
  ) {
    super(e, ctx, {
      memberLabel: labels.memberId,
      events: deps.events,
      busyRequeueMs: deps.busyRequeueMs,
      idleRequeueMs: deps.idleRequeueMs,
      now: deps.now,
    });
    this.deps = deps;
  }

  /** The superuser's digest; the credentials step runs before anything asks. */
  get superDigest(): string {
    if (!this.superUser) throw new Error("the superuser is read before pods are made or compared");
    return this.superUser.digest;
  }

  /** The ensemble (the scope's owner). */
  get e(): ZooKeeperEnsemble {
    return this.owner;
  }

  get status(): ZooKeeperEnsembleStatus {
    return this.owner.status ?? {};
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

  protected buildStatus(update: StatusUpdate): ZooKeeperEnsembleStatus | undefined {
    return buildStatus(this.e, {
      pods: this.pods,
      observation: this.observation,
      update,
      now: this.now(),
    });
  }

  protected membersUpdate(members: readonly Member[], operation: Operation | null): StatusUpdate {
    return { members, operation };
  }

  protected operationUpdate(operation: Operation | null): StatusUpdate {
    return { operation };
  }
}

/** How status, events and logs name a member. */
export function memberName(member: { id: number }): string {
  return `member ${member.id}`;
}
