/**
 * Who is THE primary now: the one instance the read-write Service selects
 * and every standby follows. Exactly one, or none; every other instance
 * that takes writes is listed in `fence` and must be fenced before
 * anything else happens (never two primaries). The controller samples
 * `pg_is_in_recovery()` on EVERY instance each reconcile: a writer nobody
 * expected is only seen that way.
 *
 * Writers are instances that answer out of recovery with the cluster's
 * system identifier. An instance with another identifier is another
 * cluster's data: it is reported in `foreign` and never chosen, whatever
 * it says. In order:
 *
 * 1. A handover in progress (an election past `fencing`, or a switchover
 *    past `stopping`) names its target `to`: once `to` writes it is the
 *    primary, and every other writer — the old primary included — is
 *    fenced. Before that there is no primary (the old one is being
 *    fenced or stopped), and any writer is fenced. The handover's own
 *    promotion is recognised from status, so an operator killed between
 *    `pg_promote` and recording its result does not mistake it for a
 *    split brain.
 * 2. Otherwise, a writer on a timeline at or below the recorded primary's
 *    that is not the recorded primary is stale: an old primary come back
 *    (its timeline ended when another was promoted) or a rogue on a
 *    timeline it shares. It is fenced, never chosen.
 * 3. Of the remaining writers (the recorded primary, and any on a newer
 *    timeline: a promotion the operator did not make), the one on the
 *    highest timeline wins: it carries the most recent history, and the
 *    rest (including the recorded primary, if it is older) are fenced;
 *    their writes since the fork are discarded by `pg_rewind` when they
 *    rejoin. Two or more on that highest timeline: `conflict`. The
 *    operator never picks between two histories of equal standing by
 *    itself; it fences neither of them and says so (Degraded).
 */
import { type ClusterObservation, type InstanceId, isForeign, isWriter } from "./types.ts";

export type PrimaryBasis = "recorded" | "handover" | "newer-timeline";

export type PrimaryDecision =
  | {
      kind: "primary";
      id: InstanceId;
      timeline: number;
      by: PrimaryBasis;
      /** Writers to fence (never the primary). */
      fence: readonly InstanceId[];
      foreign: readonly InstanceId[];
    }
  | { kind: "none"; fence: readonly InstanceId[]; foreign: readonly InstanceId[] }
  | {
      kind: "conflict";
      ids: readonly InstanceId[];
      timeline: number;
      fence: readonly InstanceId[];
      foreign: readonly InstanceId[];
    };

/** The target of an election or switchover that may already have promoted it. */
export function handoverTarget(obs: ClusterObservation): InstanceId | undefined {
  const { election, switchover } = obs.status;
  if (election && election.phase !== "fencing") return election.to;
  if (switchover && (switchover.phase === "promoting" || switchover.phase === "rejoining"))
    return switchover.to;
  return undefined;
}

/** An election or switchover has taken the old primary out (it is being fenced or stopped). */
function primaryWithdrawn(obs: ClusterObservation): boolean {
  const { election, switchover } = obs.status;
  return (
    election !== undefined || (switchover !== undefined && switchover.phase !== "checkpointing")
  );
}

export function choosePrimary(obs: ClusterObservation): PrimaryDecision {
  const foreign = obs.instances.filter((i) => isForeign(obs, i)).map((i) => i.id);
  const writers = obs.instances.filter((i) => isWriter(obs, i));
  const others = (keep: readonly InstanceId[]) =>
    writers.filter((w) => !keep.includes(w.id)).map((w) => w.id);

  if (primaryWithdrawn(obs)) {
    const to = handoverTarget(obs);
    const target = writers.find((w) => w.id === to);
    if (!target) return { kind: "none", fence: others([]), foreign };
    return {
      kind: "primary",
      id: target.id,
      timeline: target.timeline,
      by: "handover",
      fence: others([target.id]),
      foreign,
    };
  }

  const recorded = obs.status.primary;
  const standing = writers.filter(
    (w) => recorded === undefined || w.id === recorded.id || w.timeline > recorded.timeline,
  );
  const [first] = standing;
  if (!first) return { kind: "none", fence: others([]), foreign };
  const top = Math.max(...standing.map((w) => w.timeline));
  const leaders = standing.filter((w) => w.timeline === top);
  const [winner] = leaders;
  if (leaders.length > 1 || !winner) {
    const ids = leaders.map((w) => w.id);
    return { kind: "conflict", ids, timeline: top, fence: others(ids), foreign };
  }
  return {
    kind: "primary",
    id: winner.id,
    timeline: winner.timeline,
    by: winner.id === recorded?.id ? "recorded" : "newer-timeline",
    fence: others([winner.id]),
    foreign,
  };
}
