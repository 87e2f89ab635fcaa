/**
 * Repairs: reaching the one healthy shape (exactly one master, every
 * replica following it, every sentinel agreeing) from what plan/repairs.ts
 * lists, in its order. Steps:
 *
 * 1. Ask the plan for the repairs (demotions first, then the operator's
 *    own promotion, replicas re-pointed, sentinels told to monitor or
 *    reset). None: the pipeline goes on.
 * 2. Take only the FIRST: one disruptive act per reconcile, the next is
 *    planned again from what Redis says after it.
 * 3. Record it in status (`lastRepair`; for a promotion also `master`,
 *    the member promoted, which `chooseMaster` then recognises as the
 *    operator's own promotion if the operator dies right after) BEFORE it
 *    is sent.
 * 4. Send it through the port, emit an event, look again soon. A command
 *    that fails is an event; the next reconcile plans again. A demoted
 *    member whose writes a controlled failover paused (`status.switchover`,
 *    roll.ts) has them resumed right after `REPLICAOF` succeeded: it is a
 *    replica by then, so the paused writes are refused with READONLY and
 *    their clients retry on the new master instead of waiting out the
 *    pause.
 * 5. No repair, and the sentinels agree the master is down yet nobody
 *    fails over (a split election: plan/nudge.ts): ask one sentinel for
 *    `SENTINEL FAILOVER`, recorded first the same way, at most once per
 *    `afterMs` (2 × down-after-milliseconds + 2 s).
 */
import { Action } from "@ballast/runtime";
import type { StepResult } from "@ballast/stateful";
import { type MemberAddress, RedisPortError } from "../admin/port.ts";
import type { MasterOptions } from "../plan/master.ts";
import { failoverNudge } from "../plan/nudge.ts";
import { type Repair, repairs } from "../plan/repairs.ts";
import type { ReplicationObservation } from "../plan/state.ts";
import { downAfterMs, failoverTimeoutMs, memberAddress, names, quorum } from "../resources.ts";
import type { ReplicationScope } from "./scope.ts";

export async function repair(
  s: ReplicationScope,
  obs: ReplicationObservation,
): Promise<StepResult> {
  // 1.
  const options =
    s.deps.promoteAfterMs === undefined ? {} : { promoteAfterMs: s.deps.promoteAfterMs };
  // 2.
  const [next] = repairs(obs, options);
  if (!next) return nudge(s, obs, options);
  // 3.
  await s.writeStatus({
    lastRepair: { action: describe(next), reason: next.reason, at: s.now().toISOString() },
    ...(next.kind === "promote" ? { master: next.id } : {}),
  });
  // 4.
  try {
    await send(s, next);
    s.event("Repaired", verb(next), `${describe(next)}: ${next.reason}`);
  } catch (err) {
    if (!(err instanceof RedisPortError)) throw err;
    s.event("RepairFailed", verb(next), `${describe(next)}: ${err.message}`, "Warning");
  }
  return Action.requeueAfter(s.busyMs);
}

const nudgeAction = (sentinel: number) => `ask sentinel ${sentinel} to fail over`;

/** Step 5. */
async function nudge(
  s: ReplicationScope,
  obs: ReplicationObservation,
  options: MasterOptions,
): Promise<StepResult> {
  const afterMs = 2 * downAfterMs(s.r) + 2000;
  const wanted = failoverNudge(obs, { ...options, afterMs });
  if (!wanted) return "continue";
  const last = s.status.lastRepair;
  const now = s.now();
  if (last?.action.startsWith("ask sentinel") && now.getTime() - Date.parse(last.at) < afterMs)
    return "continue";
  const sentinel = s.sentinel(wanted.via);
  if (!sentinel) return "continue";
  await s.writeStatus({
    lastRepair: { action: nudgeAction(wanted.via), reason: wanted.reason, at: now.toISOString() },
  });
  try {
    await s.redis.sentinelFailover(sentinel, names.masterName(s.r));
    s.event("Repaired", "SentinelFailover", `${nudgeAction(wanted.via)}: ${wanted.reason}`);
  } catch (err) {
    if (!(err instanceof RedisPortError)) throw err;
    s.event(
      "RepairFailed",
      "SentinelFailover",
      `${nudgeAction(wanted.via)}: ${err.message}`,
      "Warning",
    );
  }
  return Action.requeueAfter(s.busyMs);
}

async function send(s: ReplicationScope, r: Repair): Promise<void> {
  const masterName = names.masterName(s.r);
  switch (r.kind) {
    case "demote": {
      const member = reach(s, r.id);
      await s.redis.replicaOf(member, memberAddress(s.r, r.to));
      if (s.status.switchover?.from === r.id) await s.redis.resumeWrites(member);
      return;
    }
    case "follow":
      return s.redis.replicaOf(reach(s, r.id), memberAddress(s.r, r.to));
    case "promote":
      return s.redis.replicaOf(reach(s, r.id), "no one");
    case "monitor": {
      const sentinel = s.sentinel(r.sentinel);
      if (!sentinel) return;
      return s.redis.sentinelMonitor(sentinel, masterName, memberAddress(s.r, r.master), {
        quorum: quorum(s.r),
        downAfterMilliseconds: downAfterMs(s.r),
        failoverTimeoutMilliseconds: failoverTimeoutMs(s.r),
        parallelSyncs: 1,
      });
    }
    case "reset": {
      const sentinel = s.sentinel(r.sentinel);
      if (!sentinel) return;
      return s.redis.sentinelReset(sentinel, masterName);
    }
  }
}

/** A member the plan acts on answered this reconcile, so its pod has an IP. */
function reach(s: ReplicationScope, id: number): MemberAddress {
  const a = s.address(id);
  if (!a) throw new RedisPortError("unreachable", `member ${id}`, `member ${id} has no pod IP`);
  return a;
}

function describe(r: Repair): string {
  switch (r.kind) {
    case "demote":
      return `demote member ${r.id} to follow member ${r.to}`;
    case "follow":
      return `point member ${r.id} at member ${r.to}`;
    case "promote":
      return `promote member ${r.id}`;
    case "monitor":
      return `sentinel ${r.sentinel} to monitor member ${r.master}`;
    case "reset":
      return `reset sentinel ${r.sentinel}`;
  }
}

function verb(r: Repair): string {
  return {
    demote: "Demote",
    follow: "Follow",
    promote: "Promote",
    monitor: "Monitor",
    reset: "Reset",
  }[r.kind];
}
