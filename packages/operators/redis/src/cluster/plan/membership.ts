/**
 * Which members a RedisCluster has, by shard, pure. A member's shard is
 * fixed when it is created; a member id is never reused while it exists.
 *
 * 1. No members recorded: `shards × (1 + replicasPerShard)` members, ids
 *    in shard order (shard 0: 0, 1; shard 1: 2, 3; …).
 * 2. A shard short of members first takes back its own members still
 *    being removed (their data is still there), then gets the lowest free
 *    ids. New shards are numbered after the highest existing one.
 * 3. Only when nothing is missing: the members of shards beyond
 *    `spec.shards` (highest shard numbers first: a scale-in removes the
 *    newest shards) and a shard's replicas beyond `replicasPerShard` —
 *    never its master, highest ids first — are marked `removing`. Their
 *    slots are moved off (the drain) before any pod stops. `masters` is
 *    who the nodes say each shard's master is NOW (the controller passes
 *    the view it just built, not the last status: Redis may have failed a
 *    shard over since); a shard missing from it (its master down, a
 *    failover under way) keeps all its members until one is known.
 *
 * `planHandover` is the other half of "never its master": a replica
 * marked `removing` can still be promoted before its pod stops (its
 * master fails, Redis elects it). A shard that stays must not lose its
 * master that way, so before the drain or the stop goes on, that shard
 * fails over (coordinated, as in a roll) to a member that stays and
 * serves; the removed member, a replica again, goes as planned.
 */
import { assignIds, type MembershipChange } from "@ballast/stateful";
import {
  type ClusterMember,
  type ClusterObservation,
  type ClusterView,
  notServing,
} from "./view.ts";

export interface ClusterShape {
  shards: number;
  replicasPerShard: number;
}

export function planClusterMembership(
  current: readonly ClusterMember[] | undefined,
  shape: ClusterShape,
  masters: ReadonlyMap<number, number>,
): MembershipChange<ClusterMember> {
  const perShard = 1 + shape.replicasPerShard;
  if (!current || current.length === 0) {
    return {
      kind: "create",
      members: Array.from({ length: shape.shards * perShard }, (_, id) => ({
        id,
        shard: Math.floor(id / perShard),
      })),
    };
  }
  const members = current.map((m) => ({ ...m }));
  const shardIds = [...new Set(members.map((m) => m.shard))].sort((a, b) => a - b);
  // The shards that stay: the lowest-numbered `shards` of those that exist, then new ones.
  const keep = shardIds.slice(0, shape.shards);
  let next = (shardIds[shardIds.length - 1] ?? -1) + 1;
  while (keep.length < shape.shards) keep.push(next++);

  const added: number[] = [];
  for (const shard of keep) {
    const mine = members.filter((m) => m.shard === shard);
    let missing = perShard - mine.filter((m) => !m.removing).length;
    for (const m of mine.filter((x) => x.removing).sort((a, b) => a.id - b.id)) {
      if (missing <= 0) break;
      delete (m as { removing?: boolean }).removing;
      added.push(m.id);
      missing--;
    }
    if (missing > 0) {
      const ids = assignIds(
        members.map((m) => m.id),
        missing,
        0,
      );
      for (const id of ids) members.push({ id, shard });
      added.push(...ids);
    }
  }
  if (added.length > 0) {
    return { kind: "add", members: members.sort((a, b) => a.id - b.id), added };
  }

  const removing: number[] = [];
  const kept = new Set(keep);
  for (const m of members) {
    if (m.removing) continue;
    if (!kept.has(m.shard)) removing.push(m.id);
  }
  for (const shard of keep) {
    const active = members
      .filter((m) => m.shard === shard && !m.removing)
      .sort((a, b) => b.id - a.id);
    let excess = active.length - perShard;
    // Whom not to remove is not known: wait for the shard to have a master again.
    if (excess > 0 && masters.get(shard) === undefined) continue;
    for (const m of active) {
      if (excess <= 0) break;
      if (masters.get(shard) === m.id) continue;
      removing.push(m.id);
      excess--;
    }
  }
  if (removing.length === 0) return { kind: "none" };
  return {
    kind: "remove",
    members: members.map((m) => (removing.includes(m.id) ? { ...m, removing: true } : m)),
    removing: removing.sort((a, b) => a - b),
  };
}

export type Handover =
  | { kind: "none" }
  | { kind: "failover"; shard: number; from: number; to: number }
  | { kind: "wait"; blocker: string };

/**
 * Pure: a CLUSTER FAILOVER a shard that stays needs because its master is
 * a member being removed (to its lowest-id staying member that serves),
 * a reason to wait when no staying member serves yet, or none. Shards
 * removed whole are not its concern: their slots move off instead.
 */
export function planHandover(
  members: readonly ClusterMember[],
  obs: ClusterObservation,
  view: ClusterView,
): Handover {
  const shards = [...new Set(members.map((m) => m.shard))].sort((a, b) => a - b);
  for (const shard of shards) {
    const mine = members.filter((m) => m.shard === shard);
    const staying = mine.filter((m) => !m.removing).sort((a, b) => a.id - b.id);
    const master = view.masters.get(shard);
    if (staying.length === 0 || !mine.some((m) => m.id === master && m.removing)) continue;
    const to = staying.find((m) => {
      const n = obs.nodes.find((x) => x.member.id === m.id);
      return n !== undefined && notServing(n, view).length === 0;
    });
    if (!to || master === undefined) {
      return {
        kind: "wait",
        blocker: `node ${master} (shard ${shard}'s master) is being removed and no member of the shard that stays serves to take over`,
      };
    }
    return { kind: "failover", shard, from: master, to: to.id };
  }
  return { kind: "none" };
}
