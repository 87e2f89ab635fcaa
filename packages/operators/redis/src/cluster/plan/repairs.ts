/**
 * What the cluster's shape needs mended, pure: handshakes, bring-up slot
 * assignment, replicas following their shard's master, node ids left
 * behind. Redis Cluster does the failovers itself; the operator makes the
 * nodes know each other, puts each member where its shard says, and
 * never assigns a slot that could hold someone's keys.
 *
 * 1. `meet` — a member that does not know another member's node id, or
 *    knows it at an address other than its pod's IP now. This is how a
 *    full restart heals: every pod is back with its node id (nodes.conf on
 *    its volume) at a new IP no other node has; one MEET per pair makes the
 *    handshake, which Redis resolves to the known node id with the new
 *    address. Never to a member being removed.
 * 2. `addSlots` — only before the cluster is formed (status records it
 *    once every slot has been owned), and only slots no answering node
 *    claims, to a shard master that owns none: resumable after a kill
 *    between two shards. Once formed, a slot no node owns is reported,
 *    never reassigned: its keys may be on a node that is down.
 * 3. `replicate` — a member that is not its shard's master but is a master
 *    with no slots (new, or back empty after losing its volume), or a
 *    replica of another node: it follows its shard's master. Only once it
 *    knows that master's node id (else 1 first).
 * 4. `forget` — a node id that is no member's, flagged `fail` by the asker
 *    and owning no slot (the old id of a member whose volume was lost):
 *    forgotten on every member, so it does not count towards the failure
 *    reports' majority forever.
 */
import type { ClusterNodeReport } from "../../admin/cluster-port.ts";
import { initialRanges, type Range } from "./slots.ts";
import {
  answered,
  type ClusterObservation,
  type ClusterView,
  type NodeObservation,
} from "./view.ts";

export type ClusterRepair =
  | { kind: "meet"; member: number; ip: string; peer: number }
  | { kind: "addSlots"; member: number; shard: number; ranges: Range[] }
  | { kind: "replicate"; member: number; master: number; masterNodeId: string }
  | { kind: "forget"; nodeId: string; on: number[] };

export interface RepairContext {
  /** Every slot has been owned once: no slot is ever assigned again. */
  formed: boolean;
  shards: number;
  /** Members removed or being removed after they were drained: nobody meets them again. */
  leaving: ReadonlySet<number>;
}

export function planRepairs(
  obs: ClusterObservation,
  view: ClusterView,
  ctx: RepairContext,
): ClusterRepair[] {
  const live = obs.nodes.filter((n) => answered(n) && !ctx.leaving.has(n.member.id));
  const meets = planMeets(live, view);
  if (meets.length > 0) return meets;
  const out: ClusterRepair[] = [];
  if (!ctx.formed) out.push(...planBringUp(obs, view, ctx));
  out.push(...planReplicate(live, view));
  out.push(...planForget(live, view));
  return out;
}

function planMeets(live: readonly NodeObservation[], view: ClusterView): ClusterRepair[] {
  const out: ClusterRepair[] = [];
  for (const a of live) {
    const ra = answered(a) as ClusterNodeReport;
    for (const b of live) {
      if (a === b || !b.podIP) continue;
      const id = view.nodeIds.get(b.member.id);
      const known = id ? ra.nodes.find((l) => l.nodeId === id) : undefined;
      if (!known || known.unusable || known.ip !== b.podIP) {
        out.push({ kind: "meet", member: a.member.id, ip: b.podIP, peer: b.member.id });
      }
    }
  }
  return out;
}

function planBringUp(
  obs: ClusterObservation,
  view: ClusterView,
  ctx: RepairContext,
): ClusterRepair[] {
  // Every member answers and knows every other: a slot given now is not claimed by a node we cannot see.
  const everyone = obs.nodes.filter((n) => !n.member.removing);
  if (!everyone.every((n) => answered(n))) return [];
  if (!everyone.every((n) => (answered(n)?.knownNodes ?? 0) >= everyone.length)) return [];
  const claimed = new Set(view.owners.keys());
  if (view.foreignSlots > 0) return [];
  const owning = new Set(view.owners.values());
  const ranges = initialRanges(ctx.shards);
  const out: ClusterRepair[] = [];
  for (let shard = 0; shard < ctx.shards; shard++) {
    const master = view.masters.get(shard);
    const range = ranges[shard];
    if (master === undefined || !range || owning.has(master)) continue;
    // Only the part of the shard's range nobody claims.
    const free: [number, number][] = [];
    for (let s = range[0]; s <= range[1]; s++) {
      if (claimed.has(s)) continue;
      const last = free[free.length - 1];
      if (last && last[1] === s - 1) last[1] = s;
      else free.push([s, s]);
    }
    if (free.length > 0) out.push({ kind: "addSlots", member: master, shard, ranges: free });
  }
  return out;
}

function planReplicate(live: readonly NodeObservation[], view: ClusterView): ClusterRepair[] {
  const out: ClusterRepair[] = [];
  const owning = new Set(view.owners.values());
  for (const n of live) {
    const r = answered(n) as ClusterNodeReport;
    const master = view.masters.get(n.member.shard);
    if (master === undefined || master === n.member.id || n.member.removing) continue;
    const masterNodeId = view.nodeIds.get(master);
    if (!masterNodeId) continue;
    const self = r.nodes.find((l) => l.myself);
    const wrong = r.role === "master" ? !owning.has(n.member.id) : self?.replicaOf !== masterNodeId;
    if (!wrong) continue;
    // Redis refuses REPLICATE of a node it does not know.
    if (!r.nodes.some((l) => l.nodeId === masterNodeId && !l.unusable)) continue;
    out.push({ kind: "replicate", member: n.member.id, master, masterNodeId });
  }
  return out;
}

function planForget(live: readonly NodeObservation[], view: ClusterView): ClusterRepair[] {
  const stale = new Set<string>();
  const owningNodes = new Set<string>();
  for (const n of live) {
    for (const l of answered(n)?.nodes ?? []) if (l.slots.length > 0) owningNodes.add(l.nodeId);
  }
  for (const n of live) {
    for (const l of answered(n)?.nodes ?? []) {
      if (view.memberOf.has(l.nodeId) || owningNodes.has(l.nodeId)) continue;
      if (l.flags.includes("fail") || l.flags.includes("noaddr")) stale.add(l.nodeId);
    }
  }
  return [...stale].sort().map((nodeId) => ({
    kind: "forget" as const,
    nodeId,
    on: live
      .filter((n) => answered(n)?.nodes.some((l) => l.nodeId === nodeId))
      .map((n) => n.member.id),
  }));
}
