/**
 * Why PostgreSQL's plans wait, as data: status and events turn them into
 * sentences with `describeBlocker`; tests compare the data.
 */
import { formatLsn, type Lsn } from "./lsn.ts";
import type { InstanceId } from "./types.ts";

/** Why an instance cannot be promoted. */
export type Ineligible =
  | "unreachable"
  | "writer"
  | "fenced"
  | "foreign"
  | "other-timeline"
  | "position-unknown";

export type Blocker =
  /** status records no primary: nothing to fail over (bootstrap has not finished). */
  | { kind: "NoRecordedPrimary" }
  /** The primary has not answered for less than spec.failoverDelay. */
  | { kind: "PrimaryUnreachable"; id: InstanceId; forMs: number; delayMs: number }
  /** The operator cannot reach the primary but its pod is Ready: the operator's own view may be cut off. */
  | { kind: "PrimaryUpPerKubelet"; id: InstanceId }
  /** The recorded primary answers in recovery and nothing else writes: someone demoted it. */
  | { kind: "PrimaryInRecovery"; id: InstanceId }
  /** Standbys still stream from the old primary: it is alive for them, and their positions still move. */
  | { kind: "StreamingFromOldPrimary"; from: InstanceId; ids: readonly InstanceId[] }
  /** No instance may be promoted. */
  | { kind: "NoCandidate"; excluded: readonly { id: InstanceId; why: Ineligible }[] }
  /** spec.synchronous asks for no loss, but status does not say which standbys the primary waited for. */
  | { kind: "SynchronousConfigUnknown" }
  /**
   * Too few of the standbys commits waited for answer to be sure the
   * candidate holds every acknowledged commit (see candidate.ts).
   */
  | {
      kind: "SynchronousQuorumUnreachable";
      any: number;
      listed: readonly InstanceId[];
      usable: readonly InstanceId[];
      needed: number;
    }
  /** Restarting standby `restarting` would leave fewer than `any` listed standbys streaming: commits would stall. */
  | {
      kind: "SynchronousStandbysShort";
      restarting: InstanceId;
      any: number;
      streaming: readonly InstanceId[];
    }
  /** The candidate being promoted does not answer; no other is ever chosen for this election. */
  | { kind: "PromotingUnreachable"; id: InstanceId }
  /** Several instances write on the same, highest timeline: the operator never picks one by itself. */
  | { kind: "WritersConflict"; ids: readonly InstanceId[]; timeline: number }
  | { kind: "SwitchoverInProgress"; from: InstanceId; to: InstanceId }
  | { kind: "ElectionInProgress"; phase: string; from: InstanceId }
  /** A switchover needs one settled primary: recorded, writing, no other writer to fence. */
  | { kind: "PrimaryNotSettled" }
  /** The switchover target cannot take over now. */
  | { kind: "TargetNotReady"; id: InstanceId; why: TargetProblem }
  | { kind: "TargetLagging"; id: InstanceId; lagBytes: bigint; maxLagBytes: bigint }
  /** The primary's checkpoint (switchover step 1) has not started after the switchover began. */
  | { kind: "CheckpointPending"; id: InstanceId }
  /** The stopped primary has not come back in recovery, so the end of its WAL is not known yet. */
  | { kind: "ShutdownLsnUnknown"; id: InstanceId }
  /** The target has not received the stopped primary's shutdown checkpoint yet. */
  | { kind: "TargetBehindShutdown"; id: InstanceId; received: Lsn | undefined; shutdown: Lsn }
  /** An instance to rejoin does not answer. */
  | { kind: "InstanceUnreachable"; id: InstanceId }
  /** An instance's WAL position is not known (no LSN reported). */
  | { kind: "PositionUnknown"; id: InstanceId }
  /** The primary's timeline history is needed to place an instance from an older timeline. */
  | { kind: "HistoryUnknown"; id: InstanceId; timeline: number };

export type TargetProblem =
  | "unreachable"
  | "not-a-standby"
  | "foreign"
  | "fenced"
  | "other-timeline"
  | "not-streaming-from-primary"
  | "is-primary";

const ineligible: Record<Ineligible, string> = {
  unreachable: "does not answer",
  writer: "is a writer",
  fenced: "is fenced",
  foreign: "holds another cluster's data",
  "other-timeline": "is on another timeline",
  "position-unknown": "reports no WAL position",
};

const target: Record<TargetProblem, string> = {
  unreachable: "does not answer",
  "not-a-standby": "is not a standby",
  foreign: "holds another cluster's data",
  fenced: "is fenced",
  "other-timeline": "is on another timeline than the primary",
  "not-streaming-from-primary": "does not stream from the primary",
  "is-primary": "is the primary already",
};

const ids = (list: readonly InstanceId[]) => (list.length > 0 ? list.join(", ") : "none");
const lsn = (l: Lsn | undefined) => (l === undefined ? "nothing" : formatLsn(l));

export function describeBlocker(b: Blocker): string {
  switch (b.kind) {
    case "NoRecordedPrimary":
      return "status records no primary yet";
    case "PrimaryUnreachable":
      return `the primary (instance ${b.id}) has not answered for ${Math.round(b.forMs / 1000)}s; failover after ${Math.round(b.delayMs / 1000)}s`;
    case "PrimaryUpPerKubelet":
      return `the primary (instance ${b.id}) does not answer the operator but its kubelet reports it up (ContainersReady, node reporting); waiting for the kubelet to agree before failing over`;
    case "PrimaryInRecovery":
      return `the primary (instance ${b.id}) is in recovery and no instance takes writes; the operator does not promote around it`;
    case "StreamingFromOldPrimary":
      return `instances ${ids(b.ids)} still stream from the old primary (instance ${b.from})`;
    case "NoCandidate":
      return `no instance may be promoted: ${b.excluded.map((e) => `${e.id} ${ineligible[e.why]}`).join("; ") || "there is none"}`;
    case "SynchronousConfigUnknown":
      return "synchronous replication is on but status does not record the standbys the primary waited for; promoting could lose acknowledged commits";
    case "SynchronousQuorumUnreachable":
      return `commits waited for ANY ${b.any} of standbys ${ids(b.listed)}; only ${ids(b.usable)} can be compared, ${b.needed} needed to be sure no acknowledged commit is lost (set synchronous to off to accept the loss)`;
    case "SynchronousStandbysShort":
      return `restarting instance ${b.restarting} would leave ${b.streaming.length} of the ${b.any} synchronous standbys commits wait for (streaming: ${ids(b.streaming)})`;
    case "PromotingUnreachable":
      return `instance ${b.id}, being promoted, does not answer; no other instance is promoted for this election`;
    case "WritersConflict":
      return `instances ${ids(b.ids)} all take writes on timeline ${b.timeline}; the operator does not choose between them: fence all but one`;
    case "SwitchoverInProgress":
      return `a switchover from instance ${b.from} to ${b.to} is in progress`;
    case "ElectionInProgress":
      return `a failover from instance ${b.from} is ${b.phase}`;
    case "PrimaryNotSettled":
      return "there is no single settled primary to switch over from";
    case "TargetNotReady":
      return `instance ${b.id} ${target[b.why]}`;
    case "TargetLagging":
      return `instance ${b.id} is ${b.lagBytes} bytes behind the primary (at most ${b.maxLagBytes})`;
    case "CheckpointPending":
      return `waiting for a checkpoint on the primary (instance ${b.id})`;
    case "ShutdownLsnUnknown":
      return `waiting for the stopped primary (instance ${b.id}) to come back in recovery and report the end of its WAL`;
    case "TargetBehindShutdown":
      return `instance ${b.id} received ${lsn(b.received)}, the old primary shut down at ${lsn(b.shutdown)}`;
    case "InstanceUnreachable":
      return `instance ${b.id} does not answer`;
    case "PositionUnknown":
      return `instance ${b.id} reports no WAL position`;
    case "HistoryUnknown":
      return `instance ${b.id} is on timeline ${b.timeline}; the primary's timeline history is needed to place it`;
  }
}
