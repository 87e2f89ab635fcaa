/**
 * Failover: the primary is lost, a standby takes over. One step per
 * reconcile, from what is observed and the election recorded in status
 * (`Election`). Every step that acts returns the election status must
 * hold BEFORE the act layer acts; the acts are idempotent, so an operator
 * killed anywhere repeats at most one of them and reaches the same end.
 *
 * No election recorded:
 * 1. A primary serves (`choosePrimary`): nothing to do (`none`), or
 *    `record` when it is not the one status names (a newer timeline won).
 *    Two writers on the highest timeline: `conflict`, nothing else.
 * 2. The recorded primary has not answered for `failoverDelayMs`, and its
 *    pod is not Ready (the kubelet agrees it is not serving: the operator's
 *    own view may be cut off from a healthy primary), and a promotion
 *    would be allowed now (`promotionCandidate`): `fence` it, recording
 *    `{phase: "fencing"}`. Else wait, saying why. Checking the candidate
 *    first means a primary that nothing could safely replace is left
 *    unfenced, to come back as it was.
 *
 * `fencing` (from):
 * 3. Until the fence is in effect (`fenced`): `fence` again.
 * 4. While a standby still streams from `from` (not in recovery, or not
 *    seen): wait. It is alive for them, and their positions still move;
 *    the promotion compares positions that stand still.
 * 5. `promote` the candidate, recording `{phase: "promoting", to}` first.
 *    `from` itself may be the candidate, if it is back in recovery and the
 *    most advanced. No candidate: wait (availability vs. no loss, see
 *    candidate.ts); the election stays, the old primary stays fenced.
 *
 * `promoting` (from → to): the choice is final; no other is ever chosen.
 * 6. `to` writes: `promoted` — record it as the primary (the read-write
 *    Service moves to it) and `{phase: "repointing"}`.
 * 7. `from`'s fence is not in effect (it did not hold): `fence` it again.
 * 8. `to` in recovery: `promote` again (`pg_promote` on a promoted
 *    instance is a no-op). `to` does not answer: wait.
 *
 * `repointing` (from → to):
 * 9. `to` no longer writes: `complete` — the next reconcile treats it as
 *    any lost primary (a new election, after failoverDelay).
 * 10. `repoint` the instances on the new primary's history that do not
 *    stream from it (`toRepoint`); none left: `complete`. The old primary,
 *    and anything that diverged, is the rejoin plan's (`pg_rewind`). A
 *    standby that cannot be placed without the new primary's timeline
 *    history holds the election open until the controller reads it.
 *
 * A switchover recorded in status owns the primary: the failover waits
 * (the switchover hands over to it if its old primary is lost).
 */
import type { Blocker } from "./blockers.ts";
import { type Candidacy, promotionCandidate } from "./candidate.ts";
import { choosePrimary } from "./primary.ts";
import { toRepoint } from "./rejoin.ts";
import {
  type ClusterObservation,
  type Election,
  type InstanceId,
  instanceOf,
  isForeign,
  isWriter,
  type PostgresStatus,
  type RecordedPrimary,
  silentForMs,
} from "./types.ts";

export type FailoverStep =
  /** A primary serves and status names it. */
  | { kind: "none" }
  /** Record `primary` as status's primary (and clear any election). */
  | { kind: "record"; primary: RecordedPrimary }
  | { kind: "wait"; blockers: readonly Blocker[] }
  /** Record `election`, then fence `id`: delete its pod (its replacement starts only in recovery); in effect as observe.ts says. */
  | { kind: "fence"; id: InstanceId; election: Election }
  /**
   * Record `election` (phase promoting, to `id`), then `pg_promote` `id`
   * and lift `id`'s own fence, if any (the old primary re-promoted).
   */
  | { kind: "promote"; id: InstanceId; election: Election; why: string }
  /** Record `primary` and `election` (phase repointing). */
  | { kind: "promoted"; primary: RecordedPrimary; election: Election }
  /** Point `ids` at `to` (`primary_conninfo`, reload or restart as standby). */
  | { kind: "repoint"; ids: readonly InstanceId[]; to: InstanceId; election: Election }
  /** Clear the election; `primary` is status's primary. */
  | { kind: "complete"; primary: RecordedPrimary }
  /** Several writers on the highest timeline: the operator does not choose. */
  | { kind: "conflict"; ids: readonly InstanceId[]; timeline: number };

export function planFailover(obs: ClusterObservation, now: Date): FailoverStep {
  const { election, switchover } = obs.status;
  if (switchover) {
    const { from, to } = switchover;
    return { kind: "wait", blockers: [{ kind: "SwitchoverInProgress", from, to }] };
  }
  if (!election) return noElection(obs, now);
  switch (election.phase) {
    case "fencing":
      return fencing(obs, election);
    case "promoting":
      return promoting(obs, election);
    case "repointing":
      return repointing(obs, election);
  }
}

function noElection(obs: ClusterObservation, now: Date): FailoverStep {
  const decision = choosePrimary(obs);
  if (decision.kind === "conflict") return { ...decision, kind: "conflict" };
  const recorded = obs.status.primary;
  if (decision.kind === "primary") {
    const { id, timeline } = decision;
    return recorded?.id === id && recorded.timeline === timeline
      ? { kind: "none" }
      : { kind: "record", primary: { id, timeline } };
  }
  if (!recorded) return { kind: "wait", blockers: [{ kind: "NoRecordedPrimary" }] };
  const p = instanceOf(obs, recorded.id);
  if (p?.reachable && isForeign(obs, p)) {
    const excluded = [{ id: p.id, why: "foreign" as const }];
    return { kind: "wait", blockers: [{ kind: "NoCandidate", excluded }] };
  }
  if (p?.reachable) {
    // Answers and is not chosen, so it is in recovery: someone demoted it.
    return { kind: "wait", blockers: [{ kind: "PrimaryInRecovery", id: recorded.id }] };
  }
  const forMs = silentForMs(p);
  if (forMs < obs.failoverDelayMs) {
    const delayMs = obs.failoverDelayMs;
    return {
      kind: "wait",
      blockers: [{ kind: "PrimaryUnreachable", id: recorded.id, forMs, delayMs }],
    };
  }
  if (p?.kubeletReportsUp)
    return { kind: "wait", blockers: [{ kind: "PrimaryUpPerKubelet", id: recorded.id }] };
  const query = { from: recorded.id, timeline: recorded.timeline, allowFrom: false };
  const candidacy = promotionCandidate(obs, query);
  if (candidacy.kind === "none") return { kind: "wait", blockers: candidacy.blockers };
  const e: Election = {
    phase: "fencing",
    from: recorded.id,
    timeline: recorded.timeline,
    startedAt: now.toISOString(),
  };
  return { kind: "fence", id: recorded.id, election: e };
}

function fencing(obs: ClusterObservation, e: Election & { phase: "fencing" }): FailoverStep {
  const from = instanceOf(obs, e.from);
  if (!from?.fenced) return { kind: "fence", id: e.from, election: e };
  const fromQuiet = from.reachable && from.inRecovery;
  const streaming = obs.instances
    .filter((i) => i.reachable && i.id !== e.from && i.streamingFrom === e.from && !fromQuiet)
    .map((i) => i.id);
  if (streaming.length > 0) {
    return {
      kind: "wait",
      blockers: [{ kind: "StreamingFromOldPrimary", from: e.from, ids: streaming }],
    };
  }
  const candidacy = promotionCandidate(obs, {
    from: e.from,
    timeline: e.timeline,
    allowFrom: true,
  });
  if (candidacy.kind === "none") return { kind: "wait", blockers: candidacy.blockers };
  const election: Election = {
    phase: "promoting",
    from: e.from,
    to: candidacy.id,
    timeline: e.timeline,
    startedAt: e.startedAt,
  };
  return { kind: "promote", id: candidacy.id, election, why: why(obs, e.from, candidacy) };
}

function promoting(obs: ClusterObservation, e: Election & { phase: "promoting" }): FailoverStep {
  const to = instanceOf(obs, e.to);
  if (isWriter(obs, to)) {
    // Promoted (perhaps by an operator killed before it recorded so):
    // `choosePrimary` names it and fences any other writer, `from` too.
    const election: Election = { ...e, phase: "repointing" };
    return { kind: "promoted", primary: { id: e.to, timeline: to.timeline }, election };
  }
  // Every promote, a repeated one too, needs the old primary's fence in
  // effect (it was when `to` was chosen; a fence that stopped holding is
  // applied again first).
  if (!instanceOf(obs, e.from)?.fenced) return { kind: "fence", id: e.from, election: e };
  if (to?.reachable && isForeign(obs, to)) {
    // Its volume now holds another cluster's data: never promoted, and no
    // other is chosen for this election either.
    const excluded = [{ id: e.to, why: "foreign" as const }];
    return { kind: "wait", blockers: [{ kind: "NoCandidate", excluded }] };
  }
  if (to?.reachable && to.inRecovery) {
    return {
      kind: "promote",
      id: e.to,
      election: e,
      why: `resuming the promotion of instance ${e.to}`,
    };
  }
  return { kind: "wait", blockers: [{ kind: "PromotingUnreachable", id: e.to }] };
}

function repointing(obs: ClusterObservation, e: Election & { phase: "repointing" }): FailoverStep {
  const to = instanceOf(obs, e.to);
  const recorded = obs.status.primary;
  const primary: RecordedPrimary =
    recorded?.id === e.to
      ? recorded
      : { id: e.to, timeline: isWriter(obs, to) ? to.timeline : e.timeline + 1 };
  if (!isWriter(obs, to)) return { kind: "complete", primary };
  const from = instanceOf(obs, e.from);
  if (e.from !== e.to && isWriter(obs, from)) return { kind: "fence", id: e.from, election: e };
  const { ids, blockers } = toRepoint(obs, e.to);
  if (ids.length > 0) return { kind: "repoint", ids, to: e.to, election: e };
  return blockers.length > 0 ? { kind: "wait", blockers } : { kind: "complete", primary };
}

function why(
  obs: ClusterObservation,
  lost: InstanceId,
  c: Candidacy & { kind: "candidate" },
): string {
  const parts = [
    c.id === lost
      ? `the old primary (instance ${lost}) is back in recovery and the most advanced`
      : `instance ${c.id} has the highest WAL position of the eligible standbys`,
  ];
  if (obs.synchronous !== "off")
    parts.push("it holds every commit acknowledged under synchronous replication");
  const others = c.mayHoldMore.filter((id) => id !== c.id);
  if (obs.synchronous === "off" && others.length > 0)
    parts.push(`instances ${others.join(", ")} could not be compared and may hold more`);
  return parts.join("; ");
}

/**
 * The status the act layer writes for `step` BEFORE it acts (the one place
 * that says what each step records). Steps that only wait record nothing.
 */
export function recordFailover(status: PostgresStatus, step: FailoverStep): PostgresStatus {
  const { election: _, ...rest } = status;
  switch (step.kind) {
    case "fence":
    case "promote":
    case "repoint":
      return { ...status, election: step.election };
    case "promoted":
      return { ...status, primary: step.primary, election: step.election };
    case "record":
    case "complete":
      return { ...rest, primary: step.primary };
    case "none":
    case "wait":
    case "conflict":
      return status;
  }
}
