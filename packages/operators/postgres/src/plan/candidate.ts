/**
 * Which instance a failover promotes, and whether it may.
 *
 * Eligible: answers, in recovery, this cluster's system identifier, on the
 * lost primary's timeline (every standby of it is; one on another timeline
 * follows another history), a known WAL position (`walEnd`), and not
 * fenced — except the lost primary itself (`from`) once it is back in
 * recovery behind its fence while the election is still `fencing`:
 * nothing was promoted yet, and it holds every commit it ever made.
 *
 * All eligible instances hold a prefix of the one WAL stream of that
 * timeline, so the one with the highest position holds everything any
 * other holds. It is the candidate (ties: the lowest id, so the choice is
 * stable across reconciles).
 *
 * `synchronous: off`: the candidate is taken as it is. Commits the lost
 * primary acknowledged beyond the candidate's position are lost (at most
 * the most advanced standby's replication lag when the primary failed);
 * instances that do not answer may hold more (`mayHoldMore`).
 *
 * `synchronous: {any: N}`: a commit was acknowledged once N of the L
 * standbys listed in `synchronous_standby_names` had flushed it (status
 * records that list, `SyncRecord`). To be sure the candidate holds EVERY
 * acknowledged commit, the plan needs R = L − N + 1 listed standbys whose
 * positions it can compare (eligible): any N of the L intersect any
 * L − N + 1 of them, so every acknowledged commit is on at least one of
 * the R, and the candidate's position is at least theirs. With fewer, an
 * acknowledged commit may be only on the listed standbys that do not
 * answer: the plan refuses (`SynchronousQuorumUnreachable`) rather than
 * lose it. That trades availability for no loss, explicitly: the user
 * who prefers availability sets `synchronous: off` (the next reconcile
 * then promotes the best standby that answers). The lost primary, if back
 * and the best, holds every commit itself and settles it alone.
 *
 * Positions are compared as reported: a listed standby counts toward R
 * only with a position (`walEnd`), read once no standby streams from the
 * lost primary any more (failover.ts waits for that), so they stand
 * still. With `synchronous_commit = on` (flush) an acknowledgement means
 * the standby's `pg_last_wal_receive_lsn()` passed the commit.
 */
import type { Blocker, Ineligible } from "./blockers.ts";
import type { Lsn } from "./lsn.ts";
import {
  type ClusterObservation,
  type InstanceId,
  type InstanceObservation,
  isForeign,
  walEnd,
} from "./types.ts";

export interface CandidateQuery {
  /** The lost primary. */
  from: InstanceId;
  /** The lost primary's timeline. */
  timeline: number;
  /** Whether `from`, back in recovery behind its fence, may be promoted again (election still fencing). */
  allowFrom: boolean;
}

export type Candidacy =
  | {
      kind: "candidate";
      id: InstanceId;
      lsn: Lsn;
      /** Instances of the cluster that could not be compared and might hold more (unreachable, unknown position). */
      mayHoldMore: readonly InstanceId[];
    }
  | { kind: "none"; blockers: readonly Blocker[] };

/** Why `i` may not be promoted; undefined when it may. */
export function ineligibility(
  obs: ClusterObservation,
  i: InstanceObservation,
  q: CandidateQuery,
): Ineligible | undefined {
  if (!i.reachable) return "unreachable";
  if (isForeign(obs, i)) return "foreign";
  if (!i.inRecovery) return "writer";
  if (i.fenced && !(q.allowFrom && i.id === q.from)) return "fenced";
  if (i.id === q.from && !q.allowFrom) return "fenced";
  if (i.timeline !== q.timeline) return "other-timeline";
  if (walEnd(i) === undefined) return "position-unknown";
  return undefined;
}

export function promotionCandidate(obs: ClusterObservation, q: CandidateQuery): Candidacy {
  const eligible: { id: InstanceId; lsn: Lsn }[] = [];
  const excluded: { id: InstanceId; why: Ineligible }[] = [];
  for (const i of obs.instances) {
    const why = ineligibility(obs, i, q);
    const lsn = walEnd(i);
    if (why === undefined && lsn !== undefined) eligible.push({ id: i.id, lsn });
    else if (why !== undefined) excluded.push({ id: i.id, why });
  }
  eligible.sort((a, b) => (a.lsn === b.lsn ? a.id - b.id : a.lsn > b.lsn ? -1 : 1));
  const [best] = eligible;
  if (!best) return { kind: "none", blockers: [{ kind: "NoCandidate", excluded }] };

  // The lost primary back in recovery holds every commit it made: when it
  // is the best, it settles the question alone. Not when another is ahead
  // of it: it may still be replaying its own WAL, so its position says less
  // than it holds, and the quorum rule decides.
  if (obs.synchronous !== "off" && best.id !== q.from) {
    const record = obs.status.synchronous;
    if (!record) return { kind: "none", blockers: [{ kind: "SynchronousConfigUnknown" }] };
    const listed = [...new Set(record.standbys)];
    const needed = listed.length - record.any + 1;
    const usable = listed.filter((id) => eligible.some((e) => e.id === id));
    if (usable.length < needed) {
      return {
        kind: "none",
        blockers: [
          { kind: "SynchronousQuorumUnreachable", any: record.any, listed, usable, needed },
        ],
      };
    }
  }

  const mayHoldMore = excluded
    .filter((e) => e.why === "unreachable" || e.why === "position-unknown")
    .map((e) => e.id);
  return { kind: "candidate", id: best.id, lsn: best.lsn, mayHoldMore };
}
