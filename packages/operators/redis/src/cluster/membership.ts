/**
 * The membership step's decision: `planClusterMembership` (plan/
 * membership.ts), with one refusal it cannot know by itself — a scale-in
 * whose remaining masters could not hold the data. With `maxmemory` set,
 * the slots of the removed shards land on the others; if the masters'
 * data (their `used_memory`) exceeds what the remaining ones may hold
 * (`maxmemory` each, less a tenth for what a slot move needs beside it),
 * the scale-in is refused and nothing is marked for removal.
 */
import type { MembershipChange } from "@ballast/stateful";
import { maxmemoryBytes } from "../schema.ts";
import type { RedisCluster } from "./api.ts";
import { planClusterMembership } from "./plan/membership.ts";
import { answered, type ClusterMember, type ClusterObservation } from "./plan/view.ts";

export function clusterMembership(
  r: RedisCluster,
  current: readonly ClusterMember[] | undefined,
  lastObservation?: ClusterObservation,
): MembershipChange<ClusterMember> {
  const masters = new Map(
    (r.status?.shards ?? []).flatMap((s) =>
      s.master === undefined ? [] : [[s.shard, s.master] as const],
    ),
  );
  const change = planClusterMembership(
    current,
    { shards: r.spec.shards, replicasPerShard: r.spec.replicasPerShard ?? 1 },
    masters,
  );
  if (change.kind !== "remove" || !lastObservation) return change;
  const refusal = footprintRefusal(r, change, lastObservation, masters);
  return refusal ? { kind: "refuse", message: refusal } : change;
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
