/**
 * One reconcile of one member set: what every step of an operator's
 * pipeline reads (the owner as read fresh, its pods by member id) and the
 * two ways a step writes (status, events), with the state machines' view of
 * both (`io()`). A system extends it with what it observes; the scope
 * decides nothing.
 */
import type { ControllerContext, EventRecorder } from "@ballast/runtime";
import type { MemberId } from "../members/ids.ts";
import type { Member } from "../members/membership.ts";
import type { Operation } from "../operation/operation.ts";
import { type PodLike, podsByMember } from "../pods/pods.ts";
import { namespaceOf, type Owner } from "../resources/resources.ts";
import type { MemberSetIO } from "../scale/membership-change.ts";

export interface ScopeOptions {
  /** The pod label that carries the member id. */
  memberLabel: string;
  events?: EventRecorder | undefined;
  /** How often a set with an operation under way is looked at again. @default 2000 */
  busyRequeueMs?: number | undefined;
  /** How often a quiet set's health is re-read from the data system. @default 30000 */
  idleRequeueMs?: number | undefined;
  /** The clock of status timestamps and operation start times. @default the system's */
  now?: (() => Date) | undefined;
}

/** The status fields every member set has. */
export interface MemberSetStatus {
  operation?: Operation;
}

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

export abstract class MemberSetScope<
  O extends Owner & { status?: S },
  S extends MemberSetStatus,
  U,
  M extends Member,
> {
  readonly owner: O;
  readonly ctx: ControllerContext<O>;
  readonly namespace: string;
  /** "namespace/name", for connection pools and logs. */
  readonly key: string;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly pods: ReadonlyMap<MemberId, PodLike>;
  readonly #options: ScopeOptions;

  constructor(owner: O, ctx: ControllerContext<O>, options: ScopeOptions) {
    this.owner = owner;
    this.ctx = ctx;
    this.#options = options;
    this.namespace = namespaceOf(owner);
    this.key = `${this.namespace}/${owner.metadata.name}`;
    this.busyMs = options.busyRequeueMs ?? 2000;
    this.idleMs = options.idleRequeueMs ?? 30_000;
    this.pods = podsByMember(ctx.owned<PodLike>(Pod), options.memberLabel);
  }

  /** The status `update` leads to, or undefined when it would say what it says already. */
  protected abstract buildStatus(update: U): S | undefined;
  /** The update that records `members` and `operation` together. */
  protected abstract membersUpdate(members: readonly M[], operation: Operation | null): U;
  /** The update that records `operation` (null clears it). */
  protected abstract operationUpdate(operation: Operation | null): U;

  get operation(): Operation | undefined {
    return this.owner.status?.operation;
  }

  now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  /** Server-side applies `.status` when `update` changes it; later steps see what was written. */
  async writeStatus(update: U): Promise<void> {
    const status = this.buildStatus(update);
    if (!status) return;
    await this.ctx.client.applyStatus(
      {
        apiVersion: this.owner.apiVersion,
        kind: this.owner.kind,
        metadata: { name: this.owner.metadata.name ?? "", namespace: this.namespace },
        status,
      },
      { force: true, signal: this.ctx.signal },
    );
    (this.owner as { status?: S }).status = status;
  }

  event(reason: string, action: string, note: string, type: "Normal" | "Warning" = "Normal"): void {
    this.#options.events?.event(this.owner, { type, reason, action, note });
  }

  /** The shared state machines' view of this scope. */
  io(): MemberSetIO<M> & { namespace: string } {
    return {
      ctx: this.ctx,
      namespace: this.namespace,
      busyRequeueMs: this.busyMs,
      record: (operation) => this.writeStatus(this.operationUpdate(operation)),
      recordMembers: (members, operation) =>
        this.writeStatus(this.membersUpdate(members, operation)),
      event: (e) => this.event(e.reason, e.action, e.note),
    };
  }
}
