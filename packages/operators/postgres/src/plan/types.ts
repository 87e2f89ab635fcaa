/**
 * What the PostgreSQL plans decide from: plain observations, one per
 * instance, sampled every reconcile (`pg_is_in_recovery()` on EVERY
 * instance: that is how a second writer is seen), the spec's durability
 * settings, and what status recorded before the operator last acted.
 *
 * The plans never read a clock or a server: the controller observes, the
 * plan decides, the act layer records then acts. An operator killed at any
 * line resumes from what status says and what it observes next.
 */
import type { MemberId } from "@ballast/stateful";
import { type Lsn, maxLsn } from "./lsn.ts";

/** An instance: a member of the set, by its id in status. */
export type InstanceId = MemberId;

interface Observed {
  id: InstanceId;
  /**
   * The kubelet reports the server up: the pod's ContainersReady (the
   * kubelet's own probe sees the postmaster accept connections) and, for
   * an instance the operator cannot reach, the pod's node still reporting
   * (a stopped node's last report stays True). Not the pod's Ready: that
   * includes the operator's own serving gate, which drops as soon as the
   * OPERATOR loses the instance, so it could never disagree with it.
   */
  kubeletReportsUp: boolean;
  /**
   * The fence on this instance is IN EFFECT: the fence is recorded in
   * status AND the instance cannot be running as a writer — it answers in
   * recovery, or its postmaster was stopped or its pod is gone since the
   * fence was recorded. A fenced instance starts only in recovery (its
   * start script reads the fence), so it takes no write until the operator
   * itself promotes it. A fence recorded but not yet in effect (a writer
   * still runs, or the operator cannot tell) is `false`.
   */
  fenced: boolean;
}

/** An instance that answered SQL this reconcile. */
export interface ReachableInstance extends Observed {
  reachable: true;
  /** `pg_is_in_recovery()`: a standby (true) or a writer (false). */
  inRecovery: boolean;
  /** The timeline of the instance's latest WAL (a writer's insert timeline; a standby's replay/receive timeline). */
  timeline: number;
  /** `pg_control_system().system_identifier`, decimal: set by initdb, kept by every copy of that cluster. */
  systemIdentifier: string;
  /** A writer's `pg_current_wal_lsn()`. */
  currentLsn?: Lsn;
  /** A standby's `pg_last_wal_receive_lsn()`: received AND flushed; undefined before it streamed since start. */
  receivedLsn?: Lsn;
  /** A standby's `pg_last_wal_replay_lsn()`. */
  replayedLsn?: Lsn;
  /** The instance its WAL receiver streams from now (`pg_stat_wal_receiver`, status streaming). */
  streamingFrom?: InstanceId;
  /** `pg_control_checkpoint().redo_lsn`: where the last checkpoint began (switchover step 1). */
  checkpointLsn?: Lsn;
  /**
   * The timeline in the control file's last checkpoint; right after a
   * promotion still the old one. `pg_rewind` reads it from its source.
   */
  checkpointTimeline?: number;
}

/** An instance that did not answer SQL (down, starting, partitioned from the operator, fenced and stopped). */
export interface UnreachableInstance extends Observed {
  reachable: false;
  /** How long it has not answered (0 the first time). */
  unreachableForMs: number;
}

export type InstanceObservation = ReachableInstance | UnreachableInstance;

/** The spec's `synchronous`: commits wait for ANY `any` of the listed standbys to flush, or for none. */
export type Synchronous = "off" | { any: number };

/** The primary as status records it. */
export interface RecordedPrimary {
  id: InstanceId;
  /** The timeline it writes on: promotion candidates must be on it. */
  timeline: number;
}

/**
 * The synchronous configuration the primary may be applying: what
 * `synchronous_standby_names = 'ANY <any> (<standbys>)'` names. The
 * controller records it in status BEFORE it sets it on the primary; while
 * a change is in flight it records the union of the old and new lists and
 * the smaller `any` (both only make the failover rule stricter).
 */
export interface SyncRecord {
  any: number;
  standbys: readonly InstanceId[];
}

/**
 * A failover in progress, recorded in status BEFORE each step acts:
 *
 *   (none) ─► fencing ─► promoting ─► repointing ─► (none)
 *
 * - `fencing`: `from`, the lost primary, is being fenced; no candidate is
 *   chosen yet (positions still move until it is).
 * - `promoting`: `to` was chosen and is being promoted. From here on no
 *   other instance is ever chosen for this election.
 * - `repointing`: `to` is the primary (status.primary says so); the others
 *   are pointed at it.
 */
export type Election =
  | { phase: "fencing"; from: InstanceId; timeline: number; startedAt: string }
  | { phase: "promoting"; from: InstanceId; to: InstanceId; timeline: number; startedAt: string }
  | { phase: "repointing"; from: InstanceId; to: InstanceId; timeline: number; startedAt: string };

/**
 * A planned switchover in progress, recorded in status before each step:
 *
 *   (none) ─► checkpointing ─► stopping ─► promoting ─► rejoining ─► (none)
 *
 * LSNs are `X/Y` text (status is JSON). `startLsn`: the primary's LSN when
 * the switchover began (its checkpoint must start after it).
 * `shutdownLsn`: the end of the old primary's WAL after its clean stop.
 */
export type SwitchoverRecord =
  | {
      phase: "checkpointing";
      from: InstanceId;
      to: InstanceId;
      startedAt: string;
      startLsn: string;
    }
  | { phase: "stopping"; from: InstanceId; to: InstanceId; startedAt: string; shutdownLsn?: string }
  | { phase: "promoting"; from: InstanceId; to: InstanceId; startedAt: string; shutdownLsn: string }
  | { phase: "rejoining"; from: InstanceId; to: InstanceId; startedAt: string };

/** What the plans read from `.status`. */
export interface PostgresStatus {
  /** The cluster's system identifier, recorded at bootstrap: anything else is another cluster's data. */
  systemIdentifier: string;
  primary?: RecordedPrimary;
  election?: Election;
  switchover?: SwitchoverRecord;
  synchronous?: SyncRecord;
}

/** A timeline the primary's history passed through and where the next one began (its `.history` file). */
export interface TimelineSwitch {
  timeline: number;
  /** The LSN where `timeline` ended and its child began. */
  switchpoint: Lsn;
}

/** Everything one reconcile observed, with the spec's settings and status. */
export interface ClusterObservation {
  instances: readonly InstanceObservation[];
  /** spec.synchronous */
  synchronous: Synchronous;
  /** spec.failoverDelay, in ms: how long the primary must be unreachable before a failover. */
  failoverDelayMs: number;
  status: PostgresStatus;
  /** The current primary's timeline history (needed to rejoin an instance from an older timeline). */
  primaryHistory?: readonly TimelineSwitch[];
}

export function instanceOf(
  obs: ClusterObservation,
  id: InstanceId | undefined,
): InstanceObservation | undefined {
  return id === undefined ? undefined : obs.instances.find((i) => i.id === id);
}

/** A writer as `isWriter` narrows it. */
export type Writer = ReachableInstance & { inRecovery: false };

/**
 * Reachable, of this cluster (its system identifier is the one recorded),
 * and out of recovery: it takes writes.
 */
export function isWriter(obs: ClusterObservation, i: InstanceObservation | undefined): i is Writer {
  return (
    i?.reachable === true && i.systemIdentifier === obs.status.systemIdentifier && !i.inRecovery
  );
}

/** Reachable but with another cluster's system identifier. */
export function isForeign(obs: ClusterObservation, i: InstanceObservation): boolean {
  return i.reachable && i.systemIdentifier !== obs.status.systemIdentifier;
}

/**
 * The end of the WAL an instance is known to hold: a writer's current
 * LSN; a standby's received (flushed) or replayed LSN, whichever is
 * further (after a restart a standby has replayed WAL but received none
 * yet). Undefined when nothing is known.
 */
export function walEnd(i: InstanceObservation): Lsn | undefined {
  if (!i.reachable) return undefined;
  return i.inRecovery ? maxLsn(i.receivedLsn, i.replayedLsn) : i.currentLsn;
}

/** How long the instance has not answered; 0 when it answers. */
export function silentForMs(i: InstanceObservation | undefined): number {
  if (i === undefined) return Number.POSITIVE_INFINITY;
  return i.reachable ? 0 : i.unreachableForMs;
}
