/**
 * Which member is THE master: the one the master Service points at and
 * every replica follows. Exactly one, or none while the plan waits; every
 * other member that says it is master is listed in `demote` and must be a
 * replica before it takes clients (it is never behind the master Service,
 * and the act layer demotes it before anything else).
 *
 * Sentinel detects failures and promotes; the operator follows it, and
 * acts on its own only where Sentinel cannot. In order:
 *
 * 1. A sentinel carrying out a failover that has not promoted yet, or
 *    holding a newer configuration epoch than the others (they have not
 *    learnt its failover yet): wait, touch nothing. A demotion now could
 *    race the sentinel's own reconfiguration, or demote the master it is
 *    promoting. A failover PAST its promotion (`promotedBy`: the promoted
 *    replica reported itself master; from then on Sentinel cannot abort
 *    it) does not hold rule 2 back: the master a majority names then is
 *    the one it promoted, and the decision says the failover is still
 *    `finishing` (the sentinel re-points the other replicas, a second or
 *    more): the master label may move and other claimants be demoted, and
 *    nothing else is done until it ends (repairs.ts, restart.ts).
 * 2. A majority of the sentinels agree on member M (`sentinelAgreement`):
 *    - M answers as master: it is the master; every other claimant (an old
 *      master come back, whose writes since the failover are lost anyway)
 *      is demoted to follow M;
 *    - M answers as a replica: wait; Sentinel treats a master that reports
 *      itself a replica as down and fails over;
 *    - M does not answer and Sentinel can fail over: wait for it, and
 *      demote any other claimant meanwhile, so no old master serves;
 *    - M does not answer and Sentinel cannot fail over (see
 *      `sentinelsCanFailOver`): M is lost; go to 4.
 * 3. No majority agrees (sentinels down, split, or naming strangers):
 *    - one claimant: it is the master, nothing contradicts it;
 *    - several: the one whose replication history continues another's
 *      (its `master_replid2` is the other's `master_replid`: it was
 *      promoted from it) wins when that settles all of them; else the
 *      master the operator last recorded, if it is one of them; else wait,
 *      exposing none of them;
 *    - none: if Sentinel can fail over, wait for it; else go to 4.
 * 4. The operator promotes — only because Sentinel cannot — the replica
 *    with the highest offset (`promotionCandidate`), once the lost master
 *    has not answered for `promoteAfterMs` (a blip of the operator's own
 *    network must not cause a second master). With sentinels agreeing on
 *    the lost master, a claimant is accepted only if it is the operator's
 *    last recorded master (its own earlier promotion); any other is an old
 *    master come back and is demoted. So the act layer records the member
 *    it promotes as the last master BEFORE sending `REPLICAOF NO ONE`: an
 *    operator killed in between must recognise its own promotion.
 *
 * Why the operator promotes at all in 4: without it, a set whose sentinels
 * lost their state while the master was down (restarted sentinels learn
 * replicas only from a master) stays without a master forever. The cost
 * is the partition case: sentinels the operator cannot reach may be alive
 * and fail over elsewhere; when they are reachable again, rule 2 makes
 * their choice win and the operator's promotion is demoted.
 */
import type { Blocker } from "./blockers.ts";
import { promotionCandidate } from "./candidate.ts";
import { promotedBy, sentinelAgreement, sentinelsCanFailOver } from "./sentinels.ts";
import {
  claimants,
  defaultSyncBound,
  memberAt,
  memberOf,
  monitoring,
  type ReplicationObservation,
  type SyncBound,
} from "./state.ts";

export interface MasterOptions {
  /** @default defaultSyncBound */
  bound?: SyncBound;
  /**
   * How long the lost master must not have answered before the operator
   * promotes a replica itself (only when Sentinel cannot). @default 30000
   */
  promoteAfterMs?: number;
}

/** How the master was recognised. */
export type MasterBasis = "sentinels" | "sole-claimant" | "history" | "last-master";

export type MasterDecision =
  | {
      kind: "master";
      id: number;
      demote: readonly number[];
      by: MasterBasis;
      /** The sentinel still finishing the failover that promoted `id` (rule 1). */
      finishing?: number;
    }
  /** Make `id` master (`REPLICAOF NO ONE`), after demoting `demote` to follow it. */
  | { kind: "promote"; id: number; demote: readonly number[]; why: string }
  /** No master yet; `demote` (if any) are to follow `toward`, the sentinels' master. */
  | {
      kind: "wait";
      blockers: readonly Blocker[];
      demote: readonly number[];
      toward: number | undefined;
    };

const wait = (blockers: Blocker[], demote: number[] = [], toward?: number): MasterDecision => ({
  kind: "wait",
  blockers,
  demote,
  toward: demote.length > 0 ? toward : undefined,
});

export function chooseMaster(
  obs: ReplicationObservation,
  options: MasterOptions = {},
): MasterDecision {
  const claim = claimants(obs);
  const failing = monitoring(obs).filter((s) => s.failoverInProgress);
  const [unpromoted] = failing.filter((s) => promotedBy(s) === undefined);
  if (unpromoted) return wait([{ kind: "FailoverInProgress", sentinel: unpromoted.id }]);

  const { master: agreed, newer } = sentinelAgreement(obs);
  if (newer) return wait([{ kind: "SentinelsConverging", ...newer }]);
  const [finishing] = failing;
  if (finishing) {
    // Only the master each failing-over sentinel promoted, on a majority's word.
    const promoted = failing.every((s) => {
      const to = promotedBy(s);
      return to !== undefined && memberAt(obs, to) === agreed;
    });
    const report = agreed === undefined ? undefined : memberOf(obs, agreed)?.report;
    if (agreed === undefined || !promoted || report?.role !== "master")
      return wait([{ kind: "FailoverInProgress", sentinel: finishing.id }]);
    const demote = claim.filter((id) => id !== agreed);
    return { kind: "master", id: agreed, demote, by: "sentinels", finishing: finishing.id };
  }

  const canFailOver = sentinelsCanFailOver(obs);
  if (agreed !== undefined) {
    const others = claim.filter((id) => id !== agreed);
    const report = memberOf(obs, agreed)?.report;
    if (report?.role === "master") {
      return { kind: "master", id: agreed, demote: others, by: "sentinels" };
    }
    if (report?.role === "replica") return wait([{ kind: "SentinelsPointAtReplica", id: agreed }]);
    if (canFailOver) return wait([{ kind: "MasterDown", id: agreed }], others, agreed);
    // The sentinels' master is gone and they cannot replace it.
    const own = obs.lastMaster;
    if (own !== undefined && others.includes(own)) {
      return {
        kind: "master",
        id: own,
        demote: others.filter((o) => o !== own),
        by: "last-master",
      };
    }
    return promote(obs, agreed, others, options);
  }

  if (claim.length > 0) {
    const settled = settle(obs, claim);
    if (settled)
      return { kind: "master", ...settled, demote: claim.filter((id) => id !== settled.id) };
    return wait([{ kind: "MastersDisagree", ids: claim }]);
  }
  if (canFailOver) return wait([{ kind: "NoMaster" }]);
  return promote(obs, obs.lastMaster, [], options);
}

/** Among several claimants and no sentinel majority: who is master, if anything tells. */
function settle(
  obs: ReplicationObservation,
  claim: readonly number[],
): { id: number; by: MasterBasis } | undefined {
  const [only] = claim;
  if (claim.length === 1 && only !== undefined) return { id: only, by: "sole-claimant" };
  const history = (id: number) => {
    const r = memberOf(obs, id)?.report;
    return r?.role === "master" ? r : undefined;
  };
  const successor = claim.find((id) => {
    const c = history(id);
    return claim.every((o) => {
      if (o === id) return true;
      const other = history(o);
      return (
        c?.previousReplicationId !== undefined && c.previousReplicationId === other?.replicationId
      );
    });
  });
  if (successor !== undefined) return { id: successor, by: "history" };
  if (obs.lastMaster !== undefined && claim.includes(obs.lastMaster)) {
    return { id: obs.lastMaster, by: "last-master" };
  }
  return undefined;
}

function promote(
  obs: ReplicationObservation,
  lost: number | undefined,
  demote: number[],
  options: MasterOptions,
): MasterDecision {
  const after = options.promoteAfterMs ?? 30_000;
  const lostMember = lost === undefined ? undefined : memberOf(obs, lost);
  if (lost !== undefined && lostMember?.report?.reachable !== true) {
    const forMs = lostMember?.unreachableForMs ?? 0;
    if (forMs < after) {
      return wait([{ kind: "MasterLostRecently", id: lost, forMs, afterMs: after }], demote, lost);
    }
  }
  const id = promotionCandidate(obs, undefined, options.bound ?? defaultSyncBound);
  if (id === undefined) return wait([{ kind: "NoCandidate" }], demote, lost);
  const silent = obs.members.filter((m) => m.id !== lost && m.report?.reachable !== true);
  const why = [
    lost === undefined
      ? "no member is master and the sentinels cannot fail over"
      : `the master (member ${lost}) is lost and the sentinels cannot fail over`,
    `member ${id} has the highest replication offset of the replicas that answer`,
    ...(silent.length > 0
      ? [`members ${silent.map((m) => m.id).join(", ")} do not answer and may have had more`]
      : []),
  ].join("; ");
  return { kind: "promote", id, demote, why };
}
