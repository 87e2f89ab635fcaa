/**
 * One reconcile of one PostgresCluster, on the shared `MemberSetScope`
 * (the cluster as read fresh, its instance pods by id, status and events).
 * What PostgreSQL adds: the port (made from the superuser's password the
 * credentials step read), what each instance reported, and the plans'
 * view of it (`ClusterObservation`). Each step of the pipeline is a
 * function in its own file taking this scope; the scope decides nothing.
 */
import {
  type ControllerContext,
  type EventRecorder,
  isNotFound,
  type KubeObject,
} from "@ballast/runtime";
import {
  deleteMemberPod,
  type Member,
  MemberSetScope,
  type Operation,
  type PodLike,
} from "@ballast/stateful";
import type { InstanceAddress, InstanceReport, PostgresPort } from "../admin/port.ts";
import type { PostgresCluster, PostgresClusterStatus } from "../api.ts";
import type { ClusterObservation, PostgresStatus } from "../plan/types.ts";
import { annotations, instanceHost, labels, names, port, streamingConninfo } from "../resources.ts";
import type { PostgresMetrics } from "./metrics.ts";
import { fencedId, isFenced } from "./observe.ts";
import { buildStatus, type StatusUpdate } from "./status.ts";

export interface PostgresControllerDeps {
  /** The port to PostgreSQL, authenticating as the superuser with this password. */
  postgres: (password: string) => PostgresPort;
  events?: EventRecorder;
  /** How often a busy cluster is looked at again. @default 2000 */
  busyRequeueMs?: number;
  /** How often a quiet cluster's health is re-read from PostgreSQL. @default 30000 */
  idleRequeueMs?: number;
  /**
   * The uid of the image's postgres user (initdb refuses a uid without a
   * passwd entry). @default 999, the official image's
   */
  postgresUid?: number;
  metrics?: PostgresMetrics;
  /** Since when each instance has not answered, by "namespace/name/id": kept across reconciles. */
  silence?: Map<string, number>;
  /**
   * Clusters ("namespace/name") whose Backups changed since status.backup.lastBackup
   * was last worked out, marked by the controller's Backup watch (backup.ts, step 5).
   */
  backupsChanged?: BackupsChanged;
  now?: () => Date;
}

/** Which clusters must list their Backups again: marked by the watch, cleared before each list. */
export class BackupsChanged {
  readonly #changed = new Set<string>();
  readonly #listed = new Set<string>();
  mark(key: string): void {
    this.#changed.add(key);
  }
  /** True (and cleared) when `key`'s Backups changed, or were never listed by this process. */
  take(key: string): boolean {
    const due = this.#changed.has(key) || !this.#listed.has(key);
    this.#changed.delete(key);
    this.#listed.add(key);
    return due;
  }
  forget(key: string): void {
    this.#changed.delete(key);
    this.#listed.delete(key);
  }
}

export class PostgresScope extends MemberSetScope<
  PostgresCluster,
  PostgresClusterStatus,
  StatusUpdate,
  Member
> {
  readonly deps: PostgresControllerDeps;
  /** What each instance reported this reconcile (the observe step). */
  reports = new Map<number, InstanceReport>();
  /** The plans' view of this reconcile (the observe step). */
  observation: ClusterObservation | undefined;
  /**
   * spec.bootstrap.recovery, once the restore step has planned it
   * (cluster/restore.ts): the `pgbackrest restore` command line the first
   * instance's pod is made with, and what status says of it.
   */
  restore: { command: string; summary: string } | undefined;
  #port: PostgresPort | undefined;

  constructor(
    r: PostgresCluster,
    ctx: ControllerContext<PostgresCluster>,
    deps: PostgresControllerDeps,
  ) {
    super(r, ctx, {
      memberLabel: labels.instanceId,
      events: deps.events,
      busyRequeueMs: deps.busyRequeueMs,
      idleRequeueMs: deps.idleRequeueMs,
      now: deps.now,
    });
    this.deps = deps;
  }

  get r(): PostgresCluster {
    return this.owner;
  }

  get status(): PostgresClusterStatus {
    return this.owner.status ?? {};
  }

  /** The plans' records, as status holds them now. */
  get pg(): PostgresStatus {
    const s = this.status;
    return {
      systemIdentifier: s.systemIdentifier ?? "",
      ...(s.primary ? { primary: s.primary } : {}),
      ...(s.election ? { election: s.election } : {}),
      ...(s.switchover ? { switchover: s.switchover } : {}),
      ...(s.synchronous ? { synchronous: s.synchronous } : {}),
    };
  }

  /** The port; the credentials step makes it before anything asks. */
  get postgres(): PostgresPort {
    if (!this.#port) throw new Error("the password is read before PostgreSQL is asked anything");
    return this.#port;
  }

  get port(): PostgresPort | undefined {
    return this.#port;
  }

  usePassword(password: string): void {
    this.#port = this.deps.postgres(password);
  }

  /** The instance list recorded in status (undefined before the first one is). */
  members(): Member[] | undefined {
    return this.status.instances?.map((i) => ({
      id: i.id,
      ...(i.removing ? { removing: true } : {}),
    }));
  }

  /**
   * Where the port reaches an instance: its pod's IP (the operator may run
   * outside the cluster's DNS). What PostgreSQL is TOLD (primary_conninfo,
   * pg_rewind's source) is always the instance's DNS name.
   */
  address(id: number): InstanceAddress | undefined {
    const pod = this.pods.get(id);
    const ip = pod && !pod.metadata.deletionTimestamp ? pod.status?.podIP : undefined;
    return ip ? { id, host: ip, port } : undefined;
  }

  pod(id: number): PodLike | undefined {
    return this.pods.get(id);
  }

  /**
   * Writes the plans' records (BEFORE the step acts) and lets the rest of
   * this reconcile's steps read them: the observation's status and the
   * fences it implies follow.
   */
  /** An object of this namespace read fresh from the API server; undefined when there is none. */
  async read<T extends KubeObject>(
    type: { apiVersion: string; kind: string },
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.ctx.client.get<T>(
        type,
        { namespace: this.namespace, name },
        { signal: this.ctx.signal },
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async recordPg(pg: PostgresStatus, extra: Omit<StatusUpdate, "pg"> = {}): Promise<void> {
    await this.writeStatus({ ...extra, pg });
    const obs = this.observation;
    if (obs) {
      const status = this.pg;
      // A fence turns on status only through whom it names: the same one,
      // the same answer (observe's, which may have asked the node).
      const same = fencedId(status) === fencedId(obs.status);
      const instances = obs.instances.map((i) => ({
        ...i,
        fenced: same ? i.fenced : isFenced(status, i, this.pods.get(i.id), names.pod(this.r, i.id)),
      }));
      this.observation = { ...obs, status, instances };
    }
  }

  /** Deletes instance `id`'s pod (the uid seen, as a precondition); nothing when it has none or it is going. */
  async deletePod(id: number): Promise<boolean> {
    const pod = this.pods.get(id);
    if (!pod || pod.metadata.deletionTimestamp) return false;
    return (await deleteMemberPod(this.ctx, pod)) === "deleted";
  }

  /**
   * Whether instance `id`'s pod streams from instance `to`, or was made
   * to: its upstream annotation (set by a live repoint) or, without one,
   * its start script's hint. Then it needs nothing but time to connect.
   */
  madeToFollow(id: number, to: number): boolean {
    const pod = this.pods.get(id);
    const container = pod?.spec?.containers?.[0] as
      | { env?: { name: string; value?: string }[] }
      | undefined;
    const hint = (container?.env ?? []).find((e) => e.name === "PRIMARY_HINT")?.value;
    const upstream = pod?.metadata.annotations?.[annotations.upstream] ?? hint;
    return upstream === instanceHost(this.r, to);
  }

  /**
   * Points instance `id`'s running server at instance `to` without a
   * restart (setStreamingSource), then records it on the pod's upstream
   * annotation, which a later start of the same pod reads. In this order:
   * an annotation naming `to` on a server still streaming from elsewhere
   * would make madeToFollow wait for ever. False when the server does not
   * answer or does not apply it (a pod made before its upstream moved to
   * postgresql.auto.conf): the caller then makes it a new pod.
   */
  async streamFrom(id: number, to: number): Promise<boolean> {
    const address = this.address(id);
    const pod = this.pods.get(id);
    if (!address || !pod || pod.metadata.deletionTimestamp) return false;
    try {
      await this.postgres.setStreamingSource(address, {
        conninfo: streamingConninfo(this.r, id, to),
        slotName: names.slot(id),
      });
    } catch {
      return false;
    }
    await this.ctx.client.patch(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: this.namespace, name: names.pod(this.r, id) },
      { metadata: { annotations: { [annotations.upstream]: instanceHost(this.r, to) } } },
      { type: "merge", signal: this.ctx.signal },
    );
    return true;
  }

  /** Makes instance `id`'s slot on the primary `primary`; false when it could not (reported by the slots step). */
  async ensureSlotOn(primary: number, id: number): Promise<boolean> {
    const address = this.address(primary);
    if (!address) return false;
    return this.postgres.ensureSlot(address, names.slot(id)).then(
      () => true,
      () => false,
    );
  }

  /** Adds the operator's marker to instance `id`'s pod, in place (never removed in place). */
  async markPrimary(id: number): Promise<void> {
    const pod = this.pods.get(id);
    const name = names.pod(this.r, id);
    if (!pod || pod.metadata.annotations?.[annotations.primary] === name) return;
    await this.ctx.client.patch(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: this.namespace, name },
      { metadata: { annotations: { [annotations.primary]: name } } },
      { type: "merge", signal: this.ctx.signal },
    );
  }

  protected buildStatus(update: StatusUpdate): PostgresClusterStatus | undefined {
    return buildStatus(this.r, {
      pods: this.pods,
      reports: this.reports,
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

/** How status, events and logs name an instance. */
export function instanceName(member: { id: number }): string {
  return `instance ${member.id}`;
}
