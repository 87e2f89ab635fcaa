/**
 * A planned switchover: the primary hands over to a standby without
 * losing a commit, and becomes a standby of it. Used by the roll (the
 * primary restarts only after one, as a standby) and on request. One step
 * per reconcile; each step returns the record status must hold BEFORE the
 * act layer acts (`SwitchoverRecord`), and every act is idempotent.
 *
 * 0. Preconditions: one settled primary (`choosePrimary`: the recorded one,
 *    nothing to fence), no election, and a target — the one asked for or
 *    the most advanced streaming standby — that streams from the primary,
 *    on its timeline, of this cluster, not fenced, with replay lag within
 *    `maxLagBytes` (the lag bounds how long the cluster is without a
 *    primary: the target replays it all before its promotion ends).
 * 1. `checkpoint` on the primary (recording `checkpointing` and the
 *    primary's LSN first): the shutdown checkpoint in step 2 then has
 *    little left to write. Done once the primary's last checkpoint began
 *    after that LSN. Preconditions are checked again; a target that no
 *    longer qualifies, or a primary lost, `abort`s — nothing irreversible
 *    has happened yet.
 * 2. `stop` the primary cleanly (`pg_ctl stop -m fast`), recording
 *    `stopping` first: the record fences it, so it restarts only in
 *    recovery. A fast shutdown writes a shutdown checkpoint and its WAL
 *    senders send everything, that record included, to connected standbys
 *    before they exit.
 * 3. Once the old primary is back in recovery, the end of its WAL (its
 *    replayed position) is the shutdown LSN: recorded, and the target must
 *    have received at least that much (it may fetch the rest from the old
 *    primary, now a standby serving WAL). The old primary lost for
 *    `failoverDelayMs`, or the target lost for as long, turns the
 *    switchover into a failover (`fail-over`: an election in `fencing`,
 *    whose old primary is already fenced).
 * 4. `promote` the target, recording `promoting` first. From here on, as
 *    in a failover, no other instance is ever chosen.
 * 5. The target writes: `promoted` — record it as the primary, then
 *    `rejoining`: `repoint` the old primary and the other standbys at it
 *    (the old primary's WAL ends at or before the switchpoint, so it
 *    follows without `pg_rewind`). None left to repoint: `complete`.
 */
import type { Blocker, TargetProblem } from "./blockers.ts";
import { formatLsn, type Lsn, parseLsn } from "./lsn.ts";
import { choosePrimary } from "./primary.ts";
import { toRepoint } from "./rejoin.ts";
import {
  type ClusterObservation,
  type Election,
  type InstanceId,
  type InstanceObservation,
  instanceOf,
  isForeign,
  isWriter,
  type PostgresStatus,
  type RecordedPrimary,
  type SwitchoverRecord,
  silentForMs,
  type Writer,
  walEnd,
} from "./types.ts";

export interface SwitchoverOptions {
  /** Most replay lag (bytes) the target may have to start. @default 16 MiB (one WAL segment) */
  maxLagBytes?: bigint;
}

/** A switchover asked for, to `to` or the best standby. */
export interface SwitchoverRequest {
  to?: InstanceId;
}

export type SwitchoverStep =
  /** No switchover is recorded or asked for (or the target is already the primary). */
  | { kind: "idle" }
  | { kind: "wait"; blockers: readonly Blocker[]; record?: SwitchoverRecord }
  /** Record `record`, then `CHECKPOINT` on `id`. */
  | { kind: "checkpoint"; id: InstanceId; record: SwitchoverRecord }
  /** Record `record` (it fences `id`), then stop `id` cleanly (fast shutdown). */
  | { kind: "stop"; id: InstanceId; record: SwitchoverRecord }
  /** Record `record`, then `pg_promote` `id`. */
  | { kind: "promote"; id: InstanceId; record: SwitchoverRecord }
  /** Record `primary` and `record` (phase rejoining). */
  | { kind: "promoted"; primary: RecordedPrimary; record: SwitchoverRecord }
  | { kind: "repoint"; ids: readonly InstanceId[]; to: InstanceId; record: SwitchoverRecord }
  /** Clear the record; `primary` is status's primary. */
  | { kind: "complete"; primary: RecordedPrimary }
  /** Clear the record: nothing irreversible happened, the primary is unchanged. */
  | { kind: "abort"; blockers: readonly Blocker[] }
  /** Clear the record and record `election`: the failover takes over. */
  | { kind: "fail-over"; election: Election };

const defaultMaxLag = 16n * 1024n * 1024n;

export function planSwitchover(
  obs: ClusterObservation,
  request: SwitchoverRequest | undefined,
  now: Date,
  options: SwitchoverOptions = {},
): SwitchoverStep {
  const maxLag = options.maxLagBytes ?? defaultMaxLag;
  const r = obs.status.switchover;
  if (!r) return request ? start(obs, request, now, maxLag) : { kind: "idle" };
  switch (r.phase) {
    case "checkpointing":
      return checkpointing(obs, r, maxLag);
    case "stopping":
      return stopping(obs, r, now);
    case "promoting":
      return promoting(obs, r);
    case "rejoining":
      return rejoining(obs, r);
  }
}

/** The settled primary, or why there is none for a switchover or a roll step. */
export function settledPrimary(obs: ClusterObservation): Writer | Blocker {
  const { election, switchover } = obs.status;
  if (election) return { kind: "ElectionInProgress", phase: election.phase, from: election.from };
  if (switchover) {
    return { kind: "SwitchoverInProgress", from: switchover.from, to: switchover.to };
  }
  const decision = choosePrimary(obs);
  const p = decision.kind === "primary" ? instanceOf(obs, decision.id) : undefined;
  if (decision.kind !== "primary" || decision.by !== "recorded" || decision.fence.length > 0)
    return { kind: "PrimaryNotSettled" };
  if (!isWriter(obs, p)) return { kind: "PrimaryNotSettled" };
  if (p.currentLsn === undefined) return { kind: "PositionUnknown", id: p.id };
  return p;
}

function isBlocker(x: Writer | Blocker): x is Blocker {
  return "kind" in x;
}

/** Why `t` cannot take over from primary `p` now; empty when it can. */
export function targetBlockers(
  obs: ClusterObservation,
  p: Writer,
  t: InstanceObservation | undefined,
  id: InstanceId,
  maxLag: bigint,
): Blocker[] {
  const not = (why: TargetProblem): Blocker[] => [{ kind: "TargetNotReady", id, why }];
  if (id === p.id) return not("is-primary");
  if (!t?.reachable) return not("unreachable");
  if (isForeign(obs, t)) return not("foreign");
  if (!t.inRecovery) return not("not-a-standby");
  if (t.fenced) return not("fenced");
  if (t.timeline !== p.timeline) return not("other-timeline");
  if (t.streamingFrom !== p.id) return not("not-streaming-from-primary");
  const lag = (p.currentLsn ?? 0n) - (t.replayedLsn ?? 0n);
  return lag > maxLag ? [{ kind: "TargetLagging", id, lagBytes: lag, maxLagBytes: maxLag }] : [];
}

/** The most advanced standby that may take over from `p` (ties: lowest id). */
export function bestTarget(
  obs: ClusterObservation,
  p: Writer,
  maxLag: bigint,
): { id: InstanceId } | { blockers: Blocker[] } {
  let best: { id: InstanceId; lsn: Lsn } | undefined;
  const blockers: Blocker[] = [];
  for (const t of obs.instances) {
    if (t.id === p.id) continue;
    const why = targetBlockers(obs, p, t, t.id, maxLag);
    const lsn = walEnd(t);
    if (why.length > 0 || lsn === undefined) {
      blockers.push(...why);
      continue;
    }
    if (!best || lsn > best.lsn || (lsn === best.lsn && t.id < best.id)) best = { id: t.id, lsn };
  }
  return best ? { id: best.id } : { blockers };
}

function start(
  obs: ClusterObservation,
  request: SwitchoverRequest,
  now: Date,
  maxLag: bigint,
): SwitchoverStep {
  const p = settledPrimary(obs);
  if (isBlocker(p)) return { kind: "wait", blockers: [p] };
  if (request.to === p.id) return { kind: "idle" };
  const chosen = request.to === undefined ? bestTarget(obs, p, maxLag) : { id: request.to };
  if ("blockers" in chosen) {
    const blockers = chosen.blockers;
    return {
      kind: "wait",
      blockers: blockers.length > 0 ? blockers : [{ kind: "NoCandidate", excluded: [] }],
    };
  }
  const blockers = targetBlockers(obs, p, instanceOf(obs, chosen.id), chosen.id, maxLag);
  if (blockers.length > 0) return { kind: "wait", blockers };
  const record: SwitchoverRecord = {
    phase: "checkpointing",
    from: p.id,
    to: chosen.id,
    startedAt: now.toISOString(),
    startLsn: formatLsn(p.currentLsn ?? 0n),
  };
  return { kind: "checkpoint", id: p.id, record };
}

function checkpointing(
  obs: ClusterObservation,
  r: SwitchoverRecord & { phase: "checkpointing" },
  maxLag: bigint,
): SwitchoverStep {
  const p = instanceOf(obs, r.from);
  if (!isWriter(obs, p)) return { kind: "abort", blockers: [{ kind: "PrimaryNotSettled" }] };
  const blockers = targetBlockers(obs, p, instanceOf(obs, r.to), r.to, maxLag);
  if (blockers.some((b) => b.kind !== "TargetLagging")) return { kind: "abort", blockers };
  if (blockers.length > 0) return { kind: "wait", blockers, record: r };
  if (p.checkpointLsn === undefined || p.checkpointLsn < parseLsn(r.startLsn)) {
    return { kind: "checkpoint", id: r.from, record: r };
  }
  const record: SwitchoverRecord = {
    phase: "stopping",
    from: r.from,
    to: r.to,
    startedAt: r.startedAt,
  };
  return { kind: "stop", id: r.from, record };
}

/** The old primary or the target lost for failoverDelay: the failover takes over. */
function lost(obs: ClusterObservation, i: InstanceObservation | undefined): boolean {
  return silentForMs(i) >= obs.failoverDelayMs && !i?.kubeletReportsUp;
}

function failOver(obs: ClusterObservation, from: InstanceId, now: Date): SwitchoverStep {
  const timeline = obs.status.primary?.id === from ? obs.status.primary.timeline : undefined;
  const p = instanceOf(obs, from);
  const tl = timeline ?? (p?.reachable ? p.timeline : 0);
  return {
    kind: "fail-over",
    election: { phase: "fencing", from, timeline: tl, startedAt: now.toISOString() },
  };
}

function stopping(
  obs: ClusterObservation,
  r: SwitchoverRecord & { phase: "stopping" },
  now: Date,
): SwitchoverStep {
  const p = instanceOf(obs, r.from);
  if (isWriter(obs, p)) return { kind: "stop", id: r.from, record: r };
  if (!p?.reachable || isForeign(obs, p)) {
    if (lost(obs, p)) return failOver(obs, r.from, now);
    return { kind: "wait", blockers: [{ kind: "ShutdownLsnUnknown", id: r.from }], record: r };
  }
  const shutdown = r.shutdownLsn === undefined ? walEnd(p) : parseLsn(r.shutdownLsn);
  if (shutdown === undefined) {
    return { kind: "wait", blockers: [{ kind: "PositionUnknown", id: r.from }], record: r };
  }
  const record = { ...r, shutdownLsn: formatLsn(shutdown) };
  const t = instanceOf(obs, r.to);
  if (!t?.reachable) {
    if (lost(obs, t)) return failOver(obs, r.from, now);
    const blockers: Blocker[] = [{ kind: "TargetNotReady", id: r.to, why: "unreachable" }];
    return { kind: "wait", blockers, record };
  }
  if (isForeign(obs, t) || !t.inRecovery || t.fenced || t.timeline !== p.timeline) {
    // The target changed under the switchover; the failover picks the best.
    return failOver(obs, r.from, now);
  }
  const received = walEnd(t);
  if (received === undefined || received < shutdown) {
    const blockers: Blocker[] = [{ kind: "TargetBehindShutdown", id: r.to, received, shutdown }];
    return { kind: "wait", blockers, record };
  }
  const next: SwitchoverRecord = { ...record, phase: "promoting", shutdownLsn: record.shutdownLsn };
  return { kind: "promote", id: r.to, record: next };
}

function promoting(
  obs: ClusterObservation,
  r: SwitchoverRecord & { phase: "promoting" },
): SwitchoverStep {
  const t = instanceOf(obs, r.to);
  if (isWriter(obs, t)) {
    const record: SwitchoverRecord = {
      phase: "rejoining",
      from: r.from,
      to: r.to,
      startedAt: r.startedAt,
    };
    return { kind: "promoted", primary: { id: r.to, timeline: t.timeline }, record };
  }
  if (isWriter(obs, instanceOf(obs, r.from))) return { kind: "stop", id: r.from, record: r };
  if (t?.reachable && isForeign(obs, t)) {
    const blockers: Blocker[] = [{ kind: "TargetNotReady", id: r.to, why: "foreign" }];
    return { kind: "wait", blockers, record: r };
  }
  if (t?.reachable && t.inRecovery) return { kind: "promote", id: r.to, record: r };
  return { kind: "wait", blockers: [{ kind: "PromotingUnreachable", id: r.to }], record: r };
}

function rejoining(
  obs: ClusterObservation,
  r: SwitchoverRecord & { phase: "rejoining" },
): SwitchoverStep {
  const t = instanceOf(obs, r.to);
  const recorded = obs.status.primary;
  const primary: RecordedPrimary =
    recorded?.id === r.to
      ? recorded
      : { id: r.to, timeline: t?.reachable ? t.timeline : (recorded?.timeline ?? 0) + 1 };
  if (!isWriter(obs, t)) return { kind: "complete", primary };
  if (isWriter(obs, instanceOf(obs, r.from))) return { kind: "stop", id: r.from, record: r };
  const { ids, blockers } = toRepoint(obs, r.to);
  if (ids.length > 0) return { kind: "repoint", ids, to: r.to, record: r };
  return blockers.length > 0
    ? { kind: "wait", blockers, record: r }
    : { kind: "complete", primary };
}

export type RestartDecision =
  | { kind: "done" }
  /** Restart standby `id` (delete its pod). */
  | { kind: "restart"; id: InstanceId }
  /** Only the primary is left: switch over to `to` first (it then restarts as a standby). */
  | { kind: "switchover"; to: InstanceId }
  | { kind: "wait"; blockers: readonly Blocker[] };

/**
 * The roll's next member (the `chooseNext` rule for `@ballast/stateful`'s
 * roll): standbys first, one at a time in id order; the primary never
 * restarts while it is primary — when only it is left, a switchover to the
 * best standby comes first. With `synchronous: {any: N}`, a standby
 * restarts only while N other listed standbys stream from the primary, so
 * commits never stall on the restart.
 */
export function nextRestart(
  pending: readonly InstanceId[],
  obs: ClusterObservation,
  options: SwitchoverOptions = {},
): RestartDecision {
  if (pending.length === 0) return { kind: "done" };
  const p = settledPrimary(obs);
  if (isBlocker(p)) return { kind: "wait", blockers: [p] };
  const [next] = pending.filter((id) => id !== p.id).sort((a, b) => a - b);
  if (next !== undefined) {
    const record = obs.status.synchronous;
    if (obs.synchronous !== "off" && record) {
      const streaming = record.standbys.filter(
        (id) => id !== next && instanceOf(obs, id)?.reachable && streamsFrom(obs, id, p.id),
      );
      if (streaming.length < record.any) {
        const blockers: Blocker[] = [
          { kind: "SynchronousStandbysShort", restarting: next, any: record.any, streaming },
        ];
        return { kind: "wait", blockers };
      }
    }
    return { kind: "restart", id: next };
  }
  const target = bestTarget(obs, p, options.maxLagBytes ?? defaultMaxLag);
  if ("blockers" in target) {
    const blockers = target.blockers;
    return {
      kind: "wait",
      blockers: blockers.length > 0 ? blockers : [{ kind: "NoCandidate", excluded: [] }],
    };
  }
  return { kind: "switchover", to: target.id };
}

function streamsFrom(obs: ClusterObservation, id: InstanceId, primary: InstanceId): boolean {
  const i = instanceOf(obs, id);
  return i?.reachable === true && i.inRecovery && i.streamingFrom === primary;
}

/**
 * The status the act layer writes for `step` BEFORE it acts. `stop`
 * records `stopping`, which is what fences the old primary: its start
 * script reads it and starts in recovery.
 */
export function recordSwitchover(status: PostgresStatus, step: SwitchoverStep): PostgresStatus {
  const { switchover: _, ...rest } = status;
  switch (step.kind) {
    case "checkpoint":
    case "stop":
    case "promote":
    case "repoint":
      return { ...status, switchover: step.record };
    case "wait":
      return step.record ? { ...status, switchover: step.record } : status;
    case "promoted":
      return { ...status, primary: step.primary, switchover: step.record };
    case "complete":
      return { ...rest, primary: step.primary };
    case "abort":
      return rest;
    case "fail-over":
      return { ...rest, election: step.election };
    case "idle":
      return status;
  }
}
