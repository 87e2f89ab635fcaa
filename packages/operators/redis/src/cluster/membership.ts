/**
 * The membership step's decision, and the one act a removal needs besides
 * the scale machinery's.
 *
 * `clusterMembership`: `planClusterMembership` (plan/membership.ts), fed
 * each shard's master as the nodes report it now (the view just built;
 * the last status only when nothing was observed), with one refusal it
 * cannot know by itself — a scale-in whose remaining masters could not
 * hold the data. With `maxmemory` set, the slots of the removed shards
 * land on the others; if the masters' data (their `used_memory`) exceeds
 * what the remaining ones may hold (`maxmemory` each, less a tenth for
 * what a slot move needs beside it), the scale-in is refused and nothing
 * is marked for removal.
 *
 * `handOverFromRemoved`: a replica marked for removal (replicasPerShard
 * lowered) that Redis has since promoted must not be stopped as it is —
 * its shard would lose its master. Steps (`planHandover` decides):
 * 1. Only while no failover is recorded (the roll step, earlier in the
 *    pipeline, awaits a recorded one: roll.ts `awaitFailover`).
 * 2. `status.failover` recorded, then `CLUSTER FAILOVER` sent to the
 *    staying replica — the roll's coordinated failover, so no
 *    acknowledged write is lost.
 * 3. Until it is done, the drain and the stop wait (the controller calls
 *    this before the scale step).
 */
import { Action } from "@ballast/runtime";
import { type MembershipChange, type StepResult, withSummary } from "@ballast/stateful";
import { RedisPortError } from "../admin/port.ts";
import { maxmemoryBytes } from "../schema.ts";
import type { RedisCluster } from "./api.ts";
import { planClusterMembership, planHandover } from "./plan/membership.ts";
import {
  answered,
  type ClusterMember,
  type ClusterObservation,
  type ClusterView,
} from "./plan/view.ts";
import type { ClusterScope } from "./scope.ts";

export function clusterMembership(
  r: RedisCluster,
  current: readonly ClusterMember[] | undefined,
  last?: { observation: ClusterObservation; view: ClusterView },
): MembershipChange<ClusterMember> {
  const masters: ReadonlyMap<number, number> =
    last?.view.masters ??
    new Map(
      (r.status?.shards ?? []).flatMap((s) =>
        s.master === undefined ? [] : [[s.shard, s.master] as const],
      ),
    );
  const change = planClusterMembership(
    current,
    { shards: r.spec.shards, replicasPerShard: r.spec.replicasPerShard ?? 1 },
    masters,
  );
  if (change.kind !== "remove" || !last) return change;
  const refusal = footprintRefusal(r, change, last.observation, masters);
  return refusal ? { kind: "refuse", message: refusal } : change;
}

export async function handOverFromRemoved(
  s: ClusterScope,
  members: readonly ClusterMember[],
): Promise<StepResult> {
  const obs = s.observation;
  const view = s.view;
  if (!obs || !view || s.status.failover || !members.some((m) => m.removing)) return "continue";
  const h = planHandover(members, obs, view);
  if (h.kind === "none") return "continue";
  const op = s.operation;
  if (h.kind === "wait") {
    if (op) await s.writeStatus({ operation: withSummary({ ...op, waitingFor: h.blocker }) });
    return Action.requeueAfter(s.busyMs);
  }
  const what = `CLUSTER FAILOVER of shard ${h.shard} from node ${h.from} (being removed) to node ${h.to}`;
  // Recorded before it is sent: an operator killed between the two waits for it, then asks again.
  await s.writeStatus({
    ...(op ? { operation: withSummary({ ...op, waitingFor: what }) } : {}),
    failover: { shard: h.shard, from: h.from, to: h.to, startedAt: s.now().toISOString() },
  });
  const a = s.address(h.to);
  try {
    if (a) await s.redis.failover(a);
    s.event("Failover", "ClusterFailover", what);
  } catch (err) {
    if (!(err instanceof RedisPortError)) throw err;
    s.event("FailoverFailed", "ClusterFailover", `${what}: ${err.message}`, "Warning");
    await s.writeStatus({ failover: null });
  }
  return Action.requeueAfter(Math.min(s.busyMs, 500));
}

/** Pure: why the masters that stay could not hold the data, or undefined. */
export function footprintRefusal(
  r: RedisCluster,
  change: Extract<MembershipChange<ClusterMember>, { kind: "remove" }>,
  obs: ClusterObservation,
  masters: ReadonlyMap<number, number>,
): string | undefined {
  const limit = maxmemoryBytes(r.spec.config?.maxmemory);
  if (limit === undefined) return undefined;
  const masterIds = new Set(masters.values());
  let used = 0;
  for (const n of obs.nodes) {
    if (masterIds.has(n.member.id)) used += answered(n)?.usedMemory ?? 0;
  }
  const stayingShards = new Set(change.members.filter((m) => !m.removing).map((m) => m.shard)).size;
  const room = stayingShards * limit * 0.9;
  if (used <= room) return undefined;
  const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`;
  return `the masters hold ${mb(used)} and ${stayingShards} shards with maxmemory ${r.spec.config?.maxmemory} hold at most ${mb(room)} (90%, room for the moves): keep spec.shards at ${masters.size} or raise spec.config.maxmemory`;
}
