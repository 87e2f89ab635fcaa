/**
 * Redis's rolling restart (and upgrade, and config change), on the shared
 * roll state machine (`@ballast/stateful` planRoll → actOnRoll) with the
 * plan/restart.ts hooks. Steps:
 *
 * 1. Stale pods: built from another template (image, redis.conf, start
 *    script, resources, Secret name, a restart request).
 * 2. Replicas first, one at a time in id order, each only while every
 *    other replica is in sync (`chooseNextRestart`); each recorded in
 *    status as `current` before its pod is deleted (the shared machine),
 *    and back when it answers as a replica in sync (`restartedBlockers`).
 * 3. Only the master left: a controlled failover, never a restart of a
 *    master. Recorded first (`status.switchover`: from, to, via), then
 *    `pauseWrites` on the master (so it takes no write the new master
 *    will not have), then every replica holds the master's (now still)
 *    offset, as each replica reports it (`caughtUp`, polled for up to
 *    `catchUpMs`), so the replica Sentinel promotes has the highest
 *    offset whichever it picks (else writes resume and the roll asks
 *    again later), then `SENTINEL FAILOVER` through a sentinel that
 *    lists the candidate as healthy.
 * 4. Wait for the sentinels to name the new master: Sentinel's
 *    `+promoted-slave` queues a reconcile at once (sentinel-events.ts),
 *    whose `chooseMaster` recognises the promoted replica while the
 *    failing-over sentinel still re-points the others. That reconcile
 *    moves the master label (service.ts), then the repair step
 *    (repair.ts) demotes the old master (`REPLICAOF` the new one) and,
 *    the old master being a replica, resumes its writes: the paused ones
 *    are refused with READONLY and the clients retry on the new master.
 *    Until then the pause is renewed each reconcile, since it must
 *    outlast Sentinel's promotion without a gap (see `pauseMs`).
 * 5. The old master is a replica: `resumeWrites` on it (again, should the
 *    repair's have failed), the switchover cleared. A failover that did
 *    not happen within `failover-timeout` is given up the same way and
 *    asked again.
 * 6. The old master, now a replica, restarts last, by step 2.
 */
import { Action } from "@ballast/runtime";
import {
  actOnRoll,
  type Member,
  type PodLike,
  planRoll,
  type RollHooks,
  type StepResult,
  withSummary,
} from "@ballast/stateful";
import { RedisPortError } from "../admin/port.ts";
import type { RedisReplicationStatus } from "../api.ts";
import { describeBlocker } from "../plan/blockers.ts";
import { removedKeys, splitConfig } from "../plan/config.ts";
import type { MasterOptions } from "../plan/master.ts";
import {
  type Behind,
  type CatchUp,
  caughtUp,
  chooseNextRestart,
  restartedBlockers,
} from "../plan/restart.ts";
import { sentinelAgreement } from "../plan/sentinels.ts";
import { memberAt, monitoring, type ReplicationObservation } from "../plan/state.ts";
import {
  annotations,
  downAfterMs,
  failoverTimeoutMs,
  image,
  names,
  podConfigKeys,
  templateHash,
} from "../resources.ts";
import { memberName, type ReplicationScope } from "./scope.ts";

type Switchover = NonNullable<RedisReplicationStatus["switchover"]>;
type Failover = { to: number; via: number };

/** The roll's hooks; `failover` receives the controlled failover `chooseNextRestart` asks for. */
export function rollHooks(
  options: MasterOptions,
  failover: (f: Failover) => void,
): RollHooks<Member, ReplicationObservation> {
  return {
    chooseNext(pending, obs) {
      const decision = chooseNextRestart(
        pending.map((m) => m.id),
        obs,
        options,
      );
      if (decision.kind === "restart") {
        const member = pending.find((m) => m.id === decision.id);
        if (member) return { kind: "restart", member };
      }
      if (decision.kind === "failover") {
        failover(decision);
        return {
          kind: "wait",
          blockers: [`a controlled failover to member ${decision.to} before the master restarts`],
        };
      }
      return {
        kind: "wait",
        blockers: decision.kind === "wait" ? decision.blockers.map(describeBlocker) : [],
      };
    },
    caughtUp: (member, obs) => restartedBlockers(member.id, obs, options).map(describeBlocker),
  };
}

/**
 * Built from another template, or running a dynamic setting the spec no
 * longer sets (Redis has no reset to default: only a restart from the
 * current redis.conf drops it).
 */
export function isStale(s: ReplicationScope, pod: PodLike): boolean {
  if (pod.metadata.annotations?.[annotations.templateHash] !== templateHash(s.r)) return true;
  return removedKeys(podConfigKeys(pod), splitConfig(s.r.spec.config).dynamic).length > 0;
}

function rollReason(s: ReplicationScope, pending: readonly Member[]): string {
  const images = new Set(pending.map((m) => s.pods.get(m.id)?.spec?.containers?.[0]?.image ?? ""));
  if (!images.has(image(s.r))) return `upgrade to Redis ${s.r.spec.version}`;
  const requested = s.r.metadata.annotations?.[annotations.restartRequested];
  if (requested) return `restart requested (${requested})`;
  return "configuration change";
}

/**
 * Writes pause on the old master for this long, renewed each reconcile
 * (step 4): long enough to outlast two reconciles, since a gap between two
 * pauses lets the old master take a write that a replica still following
 * it could acknowledge, and that the demotion then discards.
 */
function pauseMs(s: ReplicationScope): number {
  return Math.max(2 * s.busyMs + 1000, Math.min(downAfterMs(s.r) - 1000, 5000));
}

export async function roll(
  s: ReplicationScope,
  members: readonly Member[],
  obs: ReplicationObservation,
): Promise<StepResult> {
  const recorded = s.status.switchover;
  if (recorded) return awaitSwitchover(s, obs, recorded);
  const options =
    s.deps.promoteAfterMs === undefined ? {} : { promoteAfterMs: s.deps.promoteAfterMs };
  let failover: Failover | undefined;
  const plan = planRoll<Member, ReplicationObservation>({
    operation: s.operation,
    members,
    pods: s.pods,
    stale: (_member, pod) => isStale(s, pod),
    observed: obs,
    hooks: rollHooks(options, (f) => {
      // Only the fields status declares: the API server refuses any other.
      failover = { to: f.to, via: f.via };
    }),
    reason: (pending) => rollReason(s, pending),
    name: memberName,
    now: s.now(),
  });
  const from = s.master;
  if (plan.kind === "wait" && failover && from !== undefined) {
    return startSwitchover(s, obs, plan.operation, { from, ...failover });
  }
  return actOnRoll(plan, s.io());
}

/** Step 3: recorded, then paused, then every replica caught up, then asked. */
async function startSwitchover(
  s: ReplicationScope,
  obs: ReplicationObservation,
  operation: Parameters<typeof withSummary>[0],
  f: Failover & { from: number },
): Promise<StepResult> {
  const switchover: Switchover = { ...f, startedAt: s.now().toISOString() };
  const what = `controlled failover from member ${f.from} to member ${f.to} through sentinel ${f.via}`;
  await s.writeStatus({ operation: withSummary({ ...operation, waitingFor: what }), switchover });
  const sentinel = s.sentinel(f.via);
  try {
    const from = s.address(f.from);
    if (from) {
      await s.redis.pauseWrites(from, pauseMs(s));
      // With writes paused the master's offset stands still: once every
      // replica holds it, each holds every write, so whichever Sentinel
      // picks (priority, then ITS last view of the offsets, up to 10 s
      // old, then run id) has the highest offset — the candidate's.
      const replicas = (s.members() ?? [])
        .filter((m) => !m.removing && m.id !== f.from)
        .map((m) => m.id);
      const caught = await catchUp(s, obs, f.from, replicas);
      if (!caught.ready) {
        const behind = caught.behind.map((b) => `member ${b.id} ${behindText[b.why]}`);
        s.event(
          "SwitchoverDeferred",
          "SentinelFailover",
          `${what}: ${catchUpMs(s)} ms after the pause, ${behind.join(", ")} (master offset ${caught.offset ?? "unknown"}); writes resumed, asked again later`,
          "Warning",
        );
        await endSwitchover(s, f.from);
        return Action.requeueAfter(s.busyMs);
      }
    }
    if (sentinel) await s.redis.sentinelFailover(sentinel, names.masterName(s.r));
    s.event("Switchover", "SentinelFailover", what);
  } catch (err) {
    if (!(err instanceof RedisPortError)) throw err;
    s.event("SwitchoverFailed", "SentinelFailover", `${what}: ${err.message}`, "Warning");
    await endSwitchover(s, f.from);
  }
  return Action.requeueAfter(s.busyMs);
}

const behindText: Record<Behind, string> = {
  down: "does not answer",
  "not-a-replica": "is not a replica of it",
  "following-another": "follows another master",
  syncing: "is loading or receiving a full resync",
  "other-history": "is in another replication history",
  behind: "has not applied every write yet",
};

function catchUpMs(s: ReplicationScope): number {
  return s.deps.catchUpMs ?? 2500;
}

/** Replication takes well under a millisecond here: the poll interval only bounds the load. */
const catchUpPollMs = 10;

/** Asks the paused master and the replicas until `caughtUp` says ready, or `catchUpMs` passed. */
async function catchUp(
  s: ReplicationScope,
  obs: ReplicationObservation,
  from: number,
  replicas: readonly number[],
): Promise<CatchUp> {
  const deadline = Date.now() + catchUpMs(s);
  const asked = new Set([from, ...replicas]);
  for (;;) {
    const members = await Promise.all(
      obs.members.map(async (m) => {
        if (!asked.has(m.id)) return m;
        const a = s.address(m.id);
        const report = a ? await s.redis.report(a) : undefined;
        return { id: m.id, address: m.address, ...(report ? { report } : {}) };
      }),
    );
    const caught = caughtUp({ ...obs, members }, from, replicas);
    if (caught.ready || Date.now() >= deadline) return caught;
    await new Promise((r) => setTimeout(r, catchUpPollMs));
  }
}

/** Steps 4 and 5. */
async function awaitSwitchover(
  s: ReplicationScope,
  obs: ReplicationObservation,
  sw: Switchover,
): Promise<StepResult> {
  const old = obs.members.find((m) => m.id === sw.from)?.report;
  if (old?.role === "master") {
    const elapsed = s.now().getTime() - Date.parse(sw.startedAt);
    if (elapsed <= failoverTimeoutMs(s.r)) {
      const from = s.address(sw.from);
      if (from) await s.redis.pauseWrites(from, pauseMs(s)).catch(ignorePortError);
      await askAgainIfLost(s, obs, sw, elapsed);
      return Action.requeueAfter(s.busyMs);
    }
    s.event(
      "SwitchoverFailed",
      "SentinelFailover",
      `member ${sw.from} is still master ${Math.round(elapsed / 1000)}s after the failover was asked; writes resumed, the roll asks again`,
      "Warning",
    );
  } else {
    s.event("Switchover", "Demoted", `member ${sw.from} is a replica; writes resumed`);
  }
  await endSwitchover(s, sw.from);
  return Action.requeueAfter(0);
}

/**
 * An operator killed between recording the switchover and sending
 * `SENTINEL FAILOVER` never sent it (or the sentinel lost it): if,
 * `resendAfterMs` later, every sentinel that answers still names the old
 * master and none is failing over, it is sent again. A failover that
 * began would show: its leader names the new master at once.
 */
const resendAfterMs = 5000;

async function askAgainIfLost(
  s: ReplicationScope,
  obs: ReplicationObservation,
  sw: Switchover,
  elapsed: number,
): Promise<void> {
  if (elapsed < resendAfterMs) return;
  const views = monitoring(obs);
  const untouched =
    views.length > 0 &&
    views.every((v) => memberAt(obs, v.master) === sw.from && !v.failoverInProgress) &&
    sentinelAgreement(obs).master === sw.from;
  const sentinel = s.sentinel(sw.via);
  if (!untouched || !sentinel) return;
  await s.redis.sentinelFailover(sentinel, names.masterName(s.r)).catch(ignorePortError);
  s.event("Switchover", "SentinelFailover", `asked sentinel ${sw.via} again: no failover began`);
}

async function endSwitchover(s: ReplicationScope, from: number): Promise<void> {
  const address = s.address(from);
  if (address) await s.redis.resumeWrites(address).catch(ignorePortError);
  await s.writeStatus({ switchover: null });
}

function ignorePortError(err: unknown): void {
  if (!(err instanceof RedisPortError)) throw err;
}
