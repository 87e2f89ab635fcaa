/**
 * One reconcile of one RedisReplication, on the shared `MemberSetScope`
 * (the set as read fresh, its member pods by id, status and events): what
 * Redis adds is its sentinel pods, the port (made from the password the
 * credentials step read), what the port reported and the master decision
 * taken from it. Each step of the pipeline is a function in its own file
 * taking this scope; the scope itself decides nothing.
 */
import type { ControllerContext, EventRecorder } from "@ballast/runtime";
import {
  type Member,
  MemberSetScope,
  type Operation,
  type PodLike,
  podsByMember,
} from "@ballast/stateful";
import type { MemberAddress, RedisPort, SentinelAddress } from "../admin/port.ts";
import type { RedisReplication, RedisReplicationStatus } from "../api.ts";
import type { MasterDecision } from "../plan/master.ts";
import type { ReplicationObservation } from "../plan/state.ts";
import { labels, ports } from "../resources.ts";
import type { RedisMetrics } from "./metrics.ts";
import { buildStatus, type StatusUpdate } from "./status.ts";

export interface ReplicationControllerDeps {
  /** The port to Redis and Sentinel, authenticating with the set's password. */
  redis: (password: string) => RedisPort;
  events?: EventRecorder;
  /** How often a busy set is looked at again. @default 2000 */
  busyRequeueMs?: number;
  /** How often a quiet set's health is re-read from Redis. @default 30000 */
  idleRequeueMs?: number;
  /**
   * How long the lost master must not have answered before the operator
   * promotes a replica itself (only when Sentinel cannot). @default 30000
   */
  promoteAfterMs?: number;
  /**
   * How long a controlled failover waits, writes paused, for every replica
   * to hold the master's offset before it gives up and resumes. @default 2500
   */
  catchUpMs?: number;
  /** The operator's Prometheus series of each set (metrics.ts); none in tests that do not look. */
  metrics?: RedisMetrics;
  /** The clock status timestamps and operation start times are read from. @default the system's */
  now?: () => Date;
}

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

export class ReplicationScope extends MemberSetScope<
  RedisReplication,
  RedisReplicationStatus,
  StatusUpdate,
  Member
> {
  readonly deps: ReplicationControllerDeps;
  /** Sentinel pods by sentinel id. */
  readonly sentinelPods: ReadonlyMap<number, PodLike>;
  /** What Redis and the sentinels reported this reconcile (set by the observe step). */
  observation: ReplicationObservation | undefined;
  /** Who is master, from the observation (set by the observe step). */
  decision: MasterDecision | undefined;
  #port: RedisPort | undefined;
  #password = "";

  constructor(
    r: RedisReplication,
    ctx: ControllerContext<RedisReplication>,
    deps: ReplicationControllerDeps,
  ) {
    super(r, ctx, {
      memberLabel: labels.memberId,
      events: deps.events,
      busyRequeueMs: deps.busyRequeueMs,
      idleRequeueMs: deps.idleRequeueMs,
      now: deps.now,
    });
    this.deps = deps;
    this.sentinelPods = podsByMember(ctx.owned<PodLike>(Pod), labels.sentinelId);
  }

  /** The set (the scope's owner). */
  get r(): RedisReplication {
    return this.owner;
  }

  get status(): RedisReplicationStatus {
    return this.owner.status ?? {};
  }

  /** The port; the credentials step makes it before anything asks. */
  get redis(): RedisPort {
    if (!this.#port) throw new Error("the password is read before Redis is asked anything");
    return this.#port;
  }

  /** The port, once the credentials step made it (undefined before). */
  get port(): RedisPort | undefined {
    return this.#port;
  }

  usePassword(password: string): void {
    this.#password = password;
    this.#port = this.deps.redis(password);
  }

  /** The set's password (the default user's), for the ACL port (users/sync.ts). */
  get password(): string {
    return this.#password;
  }

  /** The member list recorded in status (undefined before the first one is). */
  members(): Member[] | undefined {
    return this.status.members?.map((m) => ({
      id: m.id,
      ...(m.removing ? { removing: true } : {}),
    }));
  }

  /** The member the master decision names, when there is one (not while waiting). */
  get master(): number | undefined {
    const d = this.decision;
    return d?.kind === "master" ? d.id : undefined;
  }

  /**
   * Where the port reaches a member: its pod's IP, none before the pod has
   * one. Only the operator connects there (it may run outside the
   * cluster's DNS); what Redis is TOLD — whom to follow, whom to monitor —
   * and what the plans compare is always the member's DNS name
   * (`memberAddress`), the address it announces.
   */
  address(id: number): MemberAddress | undefined {
    const ip = podIP(this.pods.get(id));
    return ip ? { id, host: ip, port: ports.redis } : undefined;
  }

  /** Where the port reaches a sentinel: its pod's IP. */
  sentinel(id: number): SentinelAddress | undefined {
    const ip = podIP(this.sentinelPods.get(id));
    return ip ? { id, host: ip, port: ports.sentinel } : undefined;
  }

  protected buildStatus(update: StatusUpdate): RedisReplicationStatus | undefined {
    return buildStatus(this.r, {
      pods: this.pods,
      observation: this.observation,
      decision: this.decision,
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

function podIP(pod: PodLike | undefined): string | undefined {
  return pod && !pod.metadata.deletionTimestamp ? pod.status?.podIP : undefined;
}

/** How status, events and logs name a member. */
export function memberName(member: { id: number }): string {
  return `member ${member.id}`;
}
