/**
 * When to ask Sentinel, once, to get on with a failover it agreed on.
 *
 * Sentinel elects a leader among the sentinels before it fails over. The
 * election can split — every sentinel sees the master down at about the
 * same moment and votes for itself — and a sentinel that voted in a failed
 * election will not start another for 2 × failover-timeout (measured on
 * the local cluster: "Next failover delay: I will not start a failover
 * before …", 40 s with failover-timeout 20 s; 120 s with the default). The
 * set has no master meanwhile, although every sentinel agrees it is down.
 *
 * The operator then sends `SENTINEL FAILOVER` to one sentinel (which needs
 * no election), only when all of these hold:
 * 1. `chooseMaster` waits for Sentinel (`MasterDown`): a majority of the
 *    sentinels name a master that does not answer, and they can fail over;
 * 2. a majority of the sentinels there should be flag it objectively down
 *    — the sentinels' own verdict, not the operator's view of the network;
 * 3. no sentinel is failing over (an election that is merely slow shows
 *    its leader's `failover_in_progress`);
 * 4. the master has not answered the operator for `afterMs`, longer than a
 *    normal election takes (by default 2 × down-after-milliseconds + 2 s);
 * 5. through a sentinel that lists a replica of the set that is not down
 *    and may be promoted (priority ≠ 0), the one with the highest offset
 *    among those the operator sees answering.
 * Sentinel still picks the replica (priority, then offset).
 */
import { chooseMaster, type MasterOptions } from "./master.ts";
import { majority, memberAt, memberOf, monitoring, type ReplicationObservation } from "./state.ts";

export interface NudgeOptions extends MasterOptions {
  /** How long the master must not have answered (4). */
  afterMs: number;
}

export type Nudge = { via: number; master: number; reason: string } | undefined;

export function failoverNudge(obs: ReplicationObservation, options: NudgeOptions): Nudge {
  const decision = chooseMaster(obs, options);
  // 1.
  if (decision.kind !== "wait") return undefined;
  const down = decision.blockers.find((b) => b.kind === "MasterDown");
  if (down?.kind !== "MasterDown") return undefined;
  const master = down.id;
  const views = monitoring(obs);
  // 2. and 3.
  const odown = views.filter((v) => memberAt(obs, v.master) === master && v.objectivelyDown);
  if (odown.length < majority(obs.expectedSentinels)) return undefined;
  if (views.some((v) => v.failoverInProgress)) return undefined;
  // 4.
  const silentFor = memberOf(obs, master)?.unreachableForMs ?? 0;
  if (silentFor < options.afterMs) return undefined;
  // 5.
  const best = (v: (typeof views)[number]) =>
    Math.max(
      -1,
      ...v.replicas
        .filter((r) => !r.down && r.priority !== 0 && memberAt(obs, r.address) !== undefined)
        .map((r) => r.offset),
    );
  const via = [...odown].sort((a, b) => best(b) - best(a) || a.id - b.id)[0];
  if (!via || best(via) < 0) return undefined;
  return {
    via: via.id,
    master,
    reason: `the master (member ${master}) has not answered for ${Math.round(silentFor / 1000)}s, ${odown.length} sentinels flag it objectively down and none is failing over (a split election waits 2 × failover-timeout)`,
  };
}
