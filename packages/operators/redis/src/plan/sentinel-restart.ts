/**
 * May sentinel X restart now (its pod built from another template: image,
 * quorum, down-after, failover-timeout, resources, the Secret's name)?
 *
 * 1. Never while the members are busy: a member roll or scale in progress,
 *    a controlled failover recorded (`busy`), a failover Sentinel carries
 *    out, or `chooseMaster` not settled on one master with nothing to
 *    demote. A sentinel restart takes a voter away for seconds: only when
 *    nothing else is at stake.
 * 2. Every sentinel of `spec.sentinels` answers, monitors the set and
 *    names THE master — the one restarted last included, so it is back
 *    before the next goes — and knows every other sentinel (a peer it has
 *    not heard yet would not vote for it).
 * 3. Every sentinel but the one to restart lists every replica as healthy:
 *    should the master fail while it is down, the others can still elect
 *    and promote (the restarted one learns replicas within 10 s).
 * 4. Then the lowest stale id, one at a time.
 */
import type { Blocker } from "./blockers.ts";
import { chooseMaster, type MasterOptions } from "./master.ts";
import { sentinelsMissingReplicas } from "./sentinels.ts";
import { memberAt, type ReplicationObservation } from "./state.ts";

export type SentinelBlocker =
  | Blocker
  | { kind: "Busy"; what: string }
  | { kind: "SentinelNotBack"; id: number; why: string };

export type SentinelRestartDecision =
  | { kind: "done" }
  | { kind: "restart"; id: number }
  | { kind: "wait"; blockers: readonly SentinelBlocker[] };

export function chooseSentinelRestart(
  stale: readonly number[],
  obs: ReplicationObservation,
  busy: string | undefined,
  replicas: readonly number[],
  options: MasterOptions = {},
): SentinelRestartDecision {
  if (stale.length === 0) return { kind: "done" };
  // 1.
  if (busy) return { kind: "wait", blockers: [{ kind: "Busy", what: busy }] };
  const failing = obs.sentinels.find((s) => s.report?.monitoring && s.report.failoverInProgress);
  if (failing)
    return { kind: "wait", blockers: [{ kind: "FailoverInProgress", sentinel: failing.id }] };
  const decision = chooseMaster(obs, options);
  if (decision.kind !== "master" || decision.demote.length > 0)
    return {
      kind: "wait",
      blockers: [{ kind: "Busy", what: "the set has not settled on one master" }],
    };
  const master = decision.id;
  // 2.
  const blockers: SentinelBlocker[] = [];
  for (const s of obs.sentinels) {
    const r = s.report;
    if (!r?.reachable) blockers.push({ kind: "SentinelNotBack", id: s.id, why: "does not answer" });
    else if (!r.monitoring)
      blockers.push({ kind: "SentinelNotBack", id: s.id, why: "does not monitor the set yet" });
    else if (memberAt(obs, r.master) !== master)
      blockers.push({ kind: "SentinelNotBack", id: s.id, why: `does not name member ${master}` });
    else if (r.sentinels.filter((p) => !p.down).length < obs.expectedSentinels - 1)
      blockers.push({
        kind: "SentinelNotBack",
        id: s.id,
        why: "does not know every other sentinel yet",
      });
  }
  if (obs.sentinels.length < obs.expectedSentinels)
    blockers.push({ kind: "Busy", what: "not every sentinel has a pod" });
  if (blockers.length > 0) return { kind: "wait", blockers };
  // 3. and 4.
  const [next] = [...stale].sort((a, b) => a - b);
  if (next === undefined) return { kind: "done" };
  const lacking = sentinelsMissingReplicas(obs, replicas).filter((l) => l.sentinel !== next);
  if (lacking.length > 0)
    return {
      kind: "wait",
      blockers: lacking.map((l) => ({
        kind: "SentinelNotBack" as const,
        id: l.sentinel,
        why: `does not list members ${l.missing.join(", ")} as healthy replicas yet`,
      })),
    };
  return { kind: "restart", id: next };
}
