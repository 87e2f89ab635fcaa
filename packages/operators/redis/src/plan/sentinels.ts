/**
 * What the sentinels, taken together, say and can do.
 *
 * - `namedMaster`: the master a sentinel names NOW, as it answers clients
 *   (`SENTINEL get-master-addr-by-name`). Its `SENTINEL MASTER` keeps the
 *   old address until its failover ends, and that takes a second or more
 *   after the promotion: the failing-over sentinel first re-points the
 *   other replicas, one at a time, each confirmed by its next `INFO` (once
 *   a second). From the moment its promoted replica reported itself master
 *   (failover state `reconf_slaves`, the replica flagged `promoted`) the
 *   failover can no longer be aborted (a timeout from then on only ends
 *   the reconfiguration), and the sentinel names the promoted replica to
 *   clients and, in its hello messages, to the other sentinels.
 * - `sentinelAgreement`: the member a majority of the sentinels there
 *   should be (`spec.sentinels`, not those that answer) name as master.
 *   A sentinel naming an address that is no member's counts for nobody.
 *   A majority is not enough when a sentinel holding a NEWER configuration
 *   epoch names another master: right after a failover only its leader has
 *   the new configuration (the others learn it from hello messages within
 *   seconds) while the old master still says it is master (Sentinel 7.0
 *   demotes it about 10 s later): the stale majority would make the
 *   operator demote the newly promoted master. Until the epochs converge
 *   there is no agreement, and `newer` says which sentinel is ahead.
 * - `sentinelsCanFailOver`: whether Sentinel could still promote a replica
 *   by itself. A sentinel starts a failover only when it is elected by
 *   max(quorum, majority of the sentinels IT knows, itself included), and
 *   promotes only a replica it knows that is not down. Sentinels that
 *   restarted while the master was down know no replica (they learn them
 *   from the master's INFO), and sentinels that remember peers long gone
 *   need more votes than exist: in both cases Sentinel never fails over,
 *   however long one waits. Only answering sentinels that agree on the
 *   same master address are counted as voters.
 * - `sentinelsMissingReplicas`: which monitoring sentinels do not yet list
 *   every replica as healthy. Sentinel learns replicas from the master's
 *   INFO, every 10 s: a master lost before then leaves it with no replica
 *   to promote (`-failover-abort-no-good-slave`), so a set is not ready
 *   for a failover until a majority of its sentinels know them all.
 */
import { endpoint, type MonitoringSentinelReport, type RedisAddress } from "../admin/port.ts";
import { majority, memberAt, monitoring, type ReplicationObservation } from "./state.ts";

export interface SentinelAgreement {
  /** The member a majority agrees on, if any. */
  master: number | undefined;
  /** Sentinels naming the most-named member. */
  votes: number;
  needed: number;
  /** The highest configuration epoch among the sentinels naming the most-named member. */
  epoch: number;
  /** A sentinel with a newer epoch naming another master: the majority is stale. */
  newer?: { sentinel: number; epoch: number };
}

/** Failover states past the promotion: the promoted replica reported itself master. */
const promotedStates: ReadonlySet<string> = new Set(["reconf_slaves", "update_config"]);

/**
 * The replica a sentinel's own failover has promoted and seen report
 * itself master, if it is past that point; undefined when it is not
 * failing over, or has not promoted yet.
 */
export function promotedBy(s: MonitoringSentinelReport): RedisAddress | undefined {
  if (!s.failoverInProgress || !promotedStates.has(s.failoverState ?? "")) return undefined;
  return s.replicas.find((r) => r.flags.includes("promoted"))?.address;
}

/** The master `s` names to clients now (see the module comment). */
export function namedMaster(s: MonitoringSentinelReport): RedisAddress {
  return promotedBy(s) ?? s.master;
}

export function sentinelAgreement(obs: ReplicationObservation): SentinelAgreement {
  const needed = majority(obs.expectedSentinels);
  const up = monitoring(obs);
  const votes = new Map<number, number>();
  for (const s of up) {
    const id = memberAt(obs, namedMaster(s));
    if (id !== undefined) votes.set(id, (votes.get(id) ?? 0) + 1);
  }
  let best: [number, number] | undefined;
  for (const [id, n] of votes) {
    if (!best || n > best[1] || (n === best[1] && id < best[0])) best = [id, n];
  }
  if (!best) return { master: undefined, votes: 0, needed, epoch: 0 };
  const [id, top] = best;
  const backers = up.filter((s) => memberAt(obs, namedMaster(s)) === id);
  const epoch = Math.max(...backers.map((s) => s.configEpoch));
  const ahead = up.find((s) => s.configEpoch > epoch && memberAt(obs, namedMaster(s)) !== id);
  const newer = ahead ? { newer: { sentinel: ahead.id, epoch: ahead.configEpoch } } : {};
  const agreed = top >= needed && !ahead;
  return { master: agreed ? id : undefined, votes: top, needed, epoch, ...newer };
}

export function sentinelsCanFailOver(obs: ReplicationObservation): boolean {
  const up = monitoring(obs);
  return up.some((s) => {
    const voters = up.filter((o) => endpoint(o.master) === endpoint(s.master)).length;
    const needed = Math.max(s.quorum, majority(s.sentinels.length + 1));
    const promotable = s.replicas.some(
      (r) => !r.down && r.priority !== 0 && memberAt(obs, r.address) !== undefined,
    );
    return voters >= needed && promotable;
  });
}

/** Monitoring sentinels that do not list each of `replicaIds` as a healthy replica, with the ids they miss. */
export function sentinelsMissingReplicas(
  obs: ReplicationObservation,
  replicaIds: readonly number[],
): { sentinel: number; missing: number[] }[] {
  return monitoring(obs).flatMap((s) => {
    const known = new Set(
      s.replicas
        .filter((r) => !r.down)
        .map((r) => memberAt(obs, r.address))
        .filter((id) => id !== undefined),
    );
    const missing = replicaIds.filter((id) => !known.has(id));
    return missing.length > 0 ? [{ sentinel: s.id, missing }] : [];
  });
}
