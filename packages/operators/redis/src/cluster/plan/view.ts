/**
 * What the nodes of a RedisCluster report, put together, pure: which node
 * id each member has, who owns each slot, which member is each shard's
 * master, which slot is being moved, and whether a member serves.
 *
 * The operator's own ids (member ids, shards) and Redis's (40-hex node
 * ids) meet here: a member's node id is what it reports (`CLUSTER MYID`),
 * else what status recorded when it last answered.
 *
 * Slot ownership is read from every answering node's table, not only from
 * the owner's own line: a master that is down still owns its slots until
 * a replica takes them over, and a slot whose owner is down is not free.
 * Where two tables disagree, the claim with the higher config epoch wins,
 * as in Redis itself.
 */
import type { Member } from "@ballast/stateful";
import type { ClusterNodeAnswer, ClusterNodeReport } from "../../admin/cluster-port.ts";

export interface ClusterMember extends Member {
  /** The shard this member belongs to, fixed when it was created. */
  readonly shard: number;
  /** Its Redis node id, recorded once it answered (kept while it does not). */
  readonly nodeId?: string;
}

export interface NodeObservation {
  member: ClusterMember;
  /** Undefined: the member has no running pod. */
  answer: ClusterNodeAnswer | undefined;
  /** Its pod's IP now, when it has one. */
  podIP?: string | undefined;
}

export interface ClusterObservation {
  nodes: readonly NodeObservation[];
}

export interface InFlight {
  slot: number;
  from: number;
  to: number;
}

export interface ClusterView {
  /** Member id → its node id. */
  nodeIds: ReadonlyMap<number, string>;
  /** Node id → member id (only our members). */
  memberOf: ReadonlyMap<string, number>;
  /** Slot → owning member id, for every slot owned by one of our members. */
  owners: ReadonlyMap<number, number>;
  /** Slots owned by a node that is none of our members' (a node id left behind). */
  foreignSlots: number;
  /** Shard → the member that is its master (owns its slots; a new shard's: its lowest-id master). */
  masters: ReadonlyMap<number, number>;
  /** Slots marked migrating on their owner, with where to. */
  inFlight: readonly InFlight[];
}

export function answered(n: NodeObservation): ClusterNodeReport | undefined {
  return n.answer?.reachable ? n.answer : undefined;
}

export function buildView(obs: ClusterObservation): ClusterView {
  const nodeIds = new Map<number, string>();
  for (const n of obs.nodes) {
    const id = answered(n)?.nodeId ?? n.member.nodeId;
    if (id) nodeIds.set(n.member.id, id);
  }
  const memberOf = new Map([...nodeIds].map(([m, id]) => [id, m] as const));
  // slot → [nodeId, epoch]
  const claims = new Map<number, [string, number]>();
  for (const n of obs.nodes) {
    for (const line of answered(n)?.nodes ?? []) {
      if (!line.master) continue;
      for (const [a, b] of line.slots) {
        for (let s = a; s <= b; s++) {
          const had = claims.get(s);
          if (!had || had[1] < line.configEpoch) claims.set(s, [line.nodeId, line.configEpoch]);
        }
      }
    }
  }
  const owners = new Map<number, number>();
  let foreignSlots = 0;
  for (const [slot, [nodeId]] of claims) {
    const m = memberOf.get(nodeId);
    if (m === undefined) foreignSlots++;
    else owners.set(slot, m);
  }
  const owning = new Set(owners.values());
  const masters = new Map<number, number>();
  for (const n of [...obs.nodes].sort((a, b) => a.member.id - b.member.id)) {
    const shard = n.member.shard;
    if (owning.has(n.member.id) && !masters.has(shard)) masters.set(shard, n.member.id);
  }
  // A shard none of whose members owns a slot (bring-up, a shard just
  // added): its lowest-id member that answers as a master.
  for (const n of [...obs.nodes].sort((a, b) => a.member.id - b.member.id)) {
    const shard = n.member.shard;
    if (masters.has(shard) || n.member.removing) continue;
    const r = answered(n);
    if (r?.role === "master") masters.set(shard, n.member.id);
  }
  const inFlight: InFlight[] = [];
  for (const n of obs.nodes) {
    const self = answered(n)?.nodes.find((l) => l.myself);
    for (const mark of self?.migrating ?? []) {
      const to = memberOf.get(mark.peer);
      if (to !== undefined) inFlight.push({ slot: mark.slot, from: n.member.id, to });
    }
  }
  inFlight.sort((a, b) => a.slot - b.slot);
  return { nodeIds, memberOf, owners, foreignSlots, masters, inFlight };
}

/** Slot → shard, from slot → member. */
export function shardOwners(
  view: ClusterView,
  members: readonly ClusterMember[],
): Map<number, number> {
  const shardOf = new Map(members.map((m) => [m.id, m.shard]));
  const out = new Map<number, number>();
  for (const [slot, m] of view.owners) {
    const shard = shardOf.get(m);
    if (shard !== undefined) out.set(slot, shard);
  }
  return out;
}

/** Why `n` does not serve; empty when it does. */
export function notServing(n: NodeObservation, view: ClusterView): string[] {
  const r = answered(n);
  if (!n.answer) return ["has no running pod"];
  if (!r) return [`does not answer (${n.answer.reachable ? "" : n.answer.error.message})`];
  if (r.loading) return ["is loading its data"];
  const why: string[] = [];
  if (!r.stateOk) why.push("sees the cluster as failing (cluster_state:fail)");
  const master = view.masters.get(n.member.shard);
  if (master === n.member.id) {
    if (r.role !== "master") why.push("is its shard's master but reports itself a replica");
  } else if (r.role === "master") {
    why.push(`is a master outside its shard's master (shard ${n.member.shard})`);
  } else {
    const self = r.nodes.find((l) => l.myself);
    const want = master === undefined ? undefined : view.nodeIds.get(master);
    if (want && self?.replicaOf !== want) why.push(`does not replicate its shard's master`);
    if (!r.masterLinkUp) why.push("has its link to the master down");
  }
  return why;
}
