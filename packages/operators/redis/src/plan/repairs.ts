/**
 * What to do to reach the one healthy shape — exactly one master, every
 * replica following it, every sentinel agreeing on it and knowing only
 * what exists — as a list of actions in the order they must be carried
 * out, each with the reason status and events give.
 *
 * 1. Demotions first (`REPLICAOF <master>`): no second master may take
 *    writes while anything else happens.
 * 2. The promotion, when `chooseMaster` decided the operator promotes
 *    (`REPLICAOF NO ONE`).
 * 3. Replicas following another address are pointed at the master. A
 *    replica whose link is merely down is left alone: it is reconnecting
 *    or resyncing, and a new `REPLICAOF` would restart that.
 * 4. Sentinels:
 *    - one that answers but does not monitor the set is told to
 *      (`SENTINEL MONITOR`);
 *    - one naming another master: when the master was recognised by a
 *      sentinel majority, a dissenter naming a member that answers is left
 *      to Sentinel's own hello protocol (it converges within seconds, and
 *      re-monitoring it would only reset it), and one naming an address no
 *      answering member has (it will never hear a hello there) is
 *      re-monitored; when the master was recognised without a sentinel
 *      majority, or promoted by the operator, every dissenter is;
 *    - one agreeing on the master but remembering replicas or sentinels
 *      that are gone (down, at an address that is no member's or
 *      sentinel's) is reset (`SENTINEL RESET`): Sentinel never forgets
 *      them by itself, and forgotten-but-remembered peers raise the votes
 *      a failover needs. One sentinel per plan, and only while the others
 *      that agree and know a healthy replica are a majority, so Sentinel
 *      can still fail over while the reset one rediscovers (seconds).
 *
 * While `chooseMaster` waits, only its demotions are listed: nothing else
 * is known to be right yet. The same while the master it recognised was
 * promoted by a failover that is still `finishing`: the failing-over
 * sentinel is re-pointing the replicas itself and still shows the old
 * master in `SENTINEL MASTER`, so a `follow` or `monitor` now would race
 * it; only a second master (the old one, back or paused in a switchover)
 * is demoted, to the master the sentinel promoted, as it would do itself.
 */

import type { MonitoringSentinelReport, SentinelReport } from "../admin/port.ts";
import { endpoint } from "../admin/port.ts";
import { chooseMaster, type MasterOptions } from "./master.ts";
import {
  majority,
  memberAt,
  memberOf,
  monitoring,
  type Observed,
  type ReplicationObservation,
} from "./state.ts";

export type Repair =
  /** A member that says it is master and is not THE master: `REPLICAOF` it to `to`. */
  | { kind: "demote"; id: number; to: number; reason: string }
  /** `REPLICAOF NO ONE`: the operator promotes, because Sentinel cannot. */
  | { kind: "promote"; id: number; reason: string }
  /** A replica following another address: `REPLICAOF` it to `to`. */
  | { kind: "follow"; id: number; to: number; reason: string }
  /** `SENTINEL MONITOR` the master `master` (replacing what it monitored under that name). */
  | { kind: "monitor"; sentinel: number; master: number; reason: string }
  /** `SENTINEL RESET`: forget the replicas and sentinels that are gone. */
  | { kind: "reset"; sentinel: number; reason: string };

export function repairs(obs: ReplicationObservation, options: MasterOptions = {}): Repair[] {
  const decision = chooseMaster(obs, options);
  const target = decision.kind === "wait" ? decision.toward : decision.id;
  const out: Repair[] = [];
  if (target !== undefined) {
    for (const id of decision.demote) {
      out.push({
        kind: "demote",
        id,
        to: target,
        reason: `member ${id} says it is master, but member ${target} is`,
      });
    }
  }
  if (decision.kind === "wait" || target === undefined) return out;
  if (decision.kind === "master" && decision.finishing !== undefined) return out;
  if (decision.kind === "promote") out.push({ kind: "promote", id: target, reason: decision.why });

  const master = memberOf(obs, target);
  if (!master) return out;
  for (const m of obs.members) {
    const r = m.report;
    if (m.id === target || decision.demote.includes(m.id) || r?.role !== "replica") continue;
    if (endpoint(r.following) !== endpoint(master.address)) {
      out.push({
        kind: "follow",
        id: m.id,
        to: target,
        reason: `member ${m.id} follows ${endpoint(r.following)}, not the master (member ${target})`,
      });
    }
  }

  const bySentinels = decision.kind === "master" && decision.by === "sentinels";
  for (const s of obs.sentinels) {
    const r = s.report;
    if (!r?.reachable) continue;
    if (!r.monitoring) {
      out.push({
        kind: "monitor",
        sentinel: s.id,
        master: target,
        reason: `sentinel ${s.id} does not monitor the set`,
      });
      continue;
    }
    const named = memberAt(obs, r.master);
    if (named === target) continue;
    const namedAnswers = named !== undefined && memberOf(obs, named)?.report?.reachable === true;
    if (bySentinels && namedAnswers) continue;
    out.push({
      kind: "monitor",
      sentinel: s.id,
      master: target,
      reason: `sentinel ${s.id} names ${endpoint(r.master)} as master, not member ${target}`,
    });
  }

  const reset = sentinelToReset(obs, target);
  if (reset) out.push(reset);
  return out;
}

/** Replicas and sentinels a sentinel remembers that are gone: down, at no known address. */
export function ghosts(obs: ReplicationObservation, s: MonitoringSentinelReport): string[] {
  const sentinelAddresses = new Set(obs.sentinels.map((o) => endpoint(o.address)));
  return [
    ...s.replicas
      .filter((r) => r.down && memberAt(obs, r.address) === undefined)
      .map((r) => `replica ${endpoint(r.address)}`),
    ...s.sentinels
      .filter((p) => p.down && !sentinelAddresses.has(endpoint(p.address)))
      .map((p) => `sentinel ${endpoint(p.address)}`),
  ];
}

function sentinelToReset(obs: ReplicationObservation, master: number): Repair | undefined {
  const agreeing = (s: Observed<SentinelReport>) =>
    s.report?.monitoring === true && memberAt(obs, s.report.master) === master
      ? s.report
      : undefined;
  const healthy = monitoring(obs).filter(
    (r) =>
      memberAt(obs, r.master) === master &&
      r.replicas.some((x) => !x.down && memberAt(obs, x.address) !== undefined),
  );
  for (const s of obs.sentinels) {
    const r = agreeing(s);
    if (!r) continue;
    const gone = ghosts(obs, r);
    if (gone.length === 0) continue;
    const others = healthy.filter((h) => h.id !== s.id).length;
    if (others < majority(obs.expectedSentinels)) continue;
    return {
      kind: "reset",
      sentinel: s.id,
      reason: `sentinel ${s.id} remembers ${gone.join(", ")}, which ${gone.length === 1 ? "is" : "are"} gone`,
    };
  }
  return undefined;
}
