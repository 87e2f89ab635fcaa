/**
 * What to do with an instance that is not the primary, so that it follows
 * THE primary (`choosePrimary`) as a standby. Per instance, in order:
 *
 * 1. Does not answer: wait (a fenced one starts only in recovery, so it
 *    is safe meanwhile).
 * 2. Another system identifier: `foreign` — another cluster's data (a
 *    volume restored from elsewhere, a wrong claim). Never rejoined,
 *    rewound or deleted: reported, for a human.
 * 3. Takes writes: `fence` first. Nothing is rewound while it runs.
 * 4. On the primary's history — its timeline is the primary's and it is
 *    not ahead of it, or an ancestor timeline of the primary's that it
 *    did not pass beyond the switchpoint where the primary's history left
 *    it — it holds a prefix of the primary's WAL:
 *    - streaming from the primary: `following` (and its fence, if any,
 *      can be lifted: it takes no write unless promoted);
 *    - else `repoint`: `primary_conninfo` at the primary, restart or
 *      reload as a standby with `recovery_target_timeline = latest`; it
 *      replays across the timeline switch by itself.
 * 5. Otherwise it diverged — WAL past the switchpoint (an old primary's
 *    writes no standby received), a timeline the primary never had, or
 *    ahead of the primary on its own timeline — and needs `rewind`: stop
 *    it, `pg_rewind --source-server=<primary>`, start as a standby.
 *    `pg_rewind` reads the source's timeline from its control file, which
 *    a fresh primary updates only at its next checkpoint, so
 *    `checkpointFirst` says to run `CHECKPOINT` on the primary before.
 *
 * An instance on an older timeline can be placed only with the primary's
 * timeline history (`ClusterObservation.primaryHistory`); without it the
 * plan waits rather than guess.
 */
import type { Blocker } from "./blockers.ts";
import type { Lsn } from "./lsn.ts";
import {
  type ClusterObservation,
  type InstanceId,
  instanceOf,
  isForeign,
  isWriter,
  type ReachableInstance,
  walEnd,
} from "./types.ts";

export type RejoinDecision =
  | { kind: "following"; unfence: boolean }
  | { kind: "repoint"; to: InstanceId }
  | {
      kind: "rewind";
      from: InstanceId;
      checkpointFirst: boolean;
      why: Divergence;
      /**
       * `past-switchpoint`: where its timeline ended in the primary's
       * history, and how many bytes of WAL it wrote after that — WAL the
       * rewind discards. Commits in it never reached the primary: with
       * `synchronous` off, some may have been acknowledged (the bound a
       * failover without synchronous replication documents).
       */
      discards?: { switchpoint: Lsn; bytes: bigint };
    }
  | { kind: "fence" }
  | { kind: "foreign"; systemIdentifier: string }
  | { kind: "wait"; blockers: readonly Blocker[] };

export type Divergence = "past-switchpoint" | "unknown-timeline" | "newer-timeline" | "ahead";

type Placement =
  | { on: true }
  | { on: false; why: Divergence; discards?: { switchpoint: Lsn; bytes: bigint } }
  | { unknown: Blocker };

/** Where instance `i` (in recovery) stands against the primary's history. */
function place(obs: ClusterObservation, i: ReachableInstance, p: ReachableInstance): Placement {
  const end = walEnd(i);
  if (end === undefined) return { unknown: { kind: "PositionUnknown", id: i.id } };
  if (i.timeline === p.timeline) {
    // Streaming from it: it cannot be ahead; a position past the primary's
    // is the two being read a moment apart.
    if (i.streamingFrom === p.id) return { on: true };
    const primaryEnd = walEnd(p);
    if (primaryEnd === undefined) return { unknown: { kind: "PositionUnknown", id: p.id } };
    return end <= primaryEnd ? { on: true } : { on: false, why: "ahead" };
  }
  if (i.timeline > p.timeline) return { on: false, why: "newer-timeline" };
  const history = obs.primaryHistory;
  if (!history) return { unknown: { kind: "HistoryUnknown", id: i.id, timeline: i.timeline } };
  const left = history.find((h) => h.timeline === i.timeline);
  if (!left) return { on: false, why: "unknown-timeline" };
  return end <= left.switchpoint
    ? { on: true }
    : {
        on: false,
        why: "past-switchpoint",
        discards: { switchpoint: left.switchpoint, bytes: end - left.switchpoint },
      };
}

export function planRejoin(
  obs: ClusterObservation,
  id: InstanceId,
  primary: InstanceId,
): RejoinDecision {
  const i = instanceOf(obs, id);
  const p = instanceOf(obs, primary);
  if (!i?.reachable) return { kind: "wait", blockers: [{ kind: "InstanceUnreachable", id }] };
  if (isForeign(obs, i)) return { kind: "foreign", systemIdentifier: i.systemIdentifier };
  if (!i.inRecovery) return { kind: "fence" };
  if (!isWriter(obs, p)) {
    return { kind: "wait", blockers: [{ kind: "InstanceUnreachable", id: primary }] };
  }
  const placed = place(obs, i, p);
  if ("unknown" in placed) return { kind: "wait", blockers: [placed.unknown] };
  if (placed.on) {
    return i.streamingFrom === p.id
      ? { kind: "following", unfence: i.fenced }
      : { kind: "repoint", to: p.id };
  }
  const checkpointFirst = p.checkpointTimeline !== undefined && p.checkpointTimeline < p.timeline;
  return {
    kind: "rewind",
    from: p.id,
    checkpointFirst,
    why: placed.why,
    ...(placed.discards ? { discards: placed.discards } : {}),
  };
}

/**
 * What a handover (failover or switchover) still has to do for its new
 * primary `to`: the instances `planRejoin` says to `repoint`, and — when
 * there are none — whether it must wait for the primary's timeline history
 * to place some (without it, standbys of the old timeline would look
 * done). Instances that diverged, do not answer or are foreign are left to
 * the rejoin plan, so that one of them cannot hold the handover open.
 */
export function toRepoint(
  obs: ClusterObservation,
  to: InstanceId,
): { ids: InstanceId[]; blockers: Blocker[] } {
  const ids: InstanceId[] = [];
  const blockers: Blocker[] = [];
  for (const i of obs.instances) {
    if (i.id === to) continue;
    const d = planRejoin(obs, i.id, to);
    if (d.kind === "repoint") ids.push(i.id);
    if (d.kind === "wait") blockers.push(...d.blockers.filter((b) => b.kind === "HistoryUnknown"));
  }
  return { ids, blockers };
}
