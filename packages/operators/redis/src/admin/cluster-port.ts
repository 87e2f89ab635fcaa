/**
 * The Redis Cluster port: what the RedisCluster controller asks of each
 * node, behind one interface, so the plans and the act layer are tested
 * with a fake and the real implementation (`cluster-admin.ts`) against
 * real `redis-server --cluster-enabled yes` processes.
 *
 * One question, `node(member)`: what a node says of itself and of the
 * cluster as it sees it (`CLUSTER NODES`, `CLUSTER INFO`, `INFO
 * replication`). And the commands the plans' actions need: `meet`,
 * `addSlots`, `replicate`, `failover`, `forget`, and `moveSlot` (one hash
 * slot from one master to another, keys included, resumable).
 */
import type { Failure, RedisAddress } from "./port.ts";

export type { Failure, RedisAddress } from "./port.ts";

/** A node of the set, reached by its stable DNS name. */
export interface ClusterMemberAddress extends RedisAddress {
  id: number;
}

/** A slot being moved, as the node holding the mark shows it in its own `CLUSTER NODES` line. */
export interface SlotMark {
  slot: number;
  /** The other end's node id. */
  peer: string;
}

/** One line of `CLUSTER NODES`: how the asked node sees one node (itself included). */
export interface ClusterNodeView {
  nodeId: string;
  /** The address the node is reached at on the cluster bus, as known here; empty for `noaddr`. */
  ip: string;
  port: number;
  /** The announced hostname, when the node announces one. */
  hostname?: string;
  flags: readonly string[];
  myself: boolean;
  master: boolean;
  /** The node id it replicates, for a replica. */
  replicaOf?: string;
  /** Flagged `fail` (agreed) or `fail?` (this node's suspicion). */
  failing: boolean;
  /** `handshake` or `noaddr`: not (yet) a usable peer. */
  unusable: boolean;
  configEpoch: number;
  connected: boolean;
  /** Slots owned, as sorted ranges. */
  slots: readonly (readonly [number, number])[];
  /** Only on the asked node's own line: slots it is migrating away / importing. */
  migrating: readonly SlotMark[];
  importing: readonly SlotMark[];
}

export interface ClusterNodeReport {
  id: number;
  reachable: true;
  /** `CLUSTER MYID`. */
  nodeId: string;
  /** `cluster_state:ok`: every slot is served, as this node sees it. */
  stateOk: boolean;
  knownNodes: number;
  slotsAssigned: number;
  currentEpoch: number;
  /** Every node this one knows, itself included. */
  nodes: readonly ClusterNodeView[];
  role: "master" | "replica";
  /** `master_repl_offset` on a master, `slave_repl_offset` on a replica. */
  offset: number;
  /** A replica's `master_link_status`. */
  masterLinkUp: boolean;
  loading: boolean;
  /** Keys in the node's database (`dbsize`). */
  keys: number;
  /** `used_memory`, bytes. */
  usedMemory: number;
}

export interface UnreachableClusterNode {
  id: number;
  reachable: false;
  error: Failure;
}

export type ClusterNodeAnswer = ClusterNodeReport | UnreachableClusterNode;

/** An end of a slot move: the node to talk to, its node id, and the bus-side IP the source migrates keys to. */
export interface SlotOwner {
  address: ClusterMemberAddress;
  nodeId: string;
  /** Where the source's `MIGRATE` connects: the target's IP as the cluster knows it. */
  ip: string;
  port: number;
}

export interface SlotMove {
  slot: number;
  from: SlotOwner;
  to: SlotOwner;
  /** The other masters, told the new owner at once (gossip would take a few pings). */
  others: readonly ClusterMemberAddress[];
}

export interface SlotMoveResult {
  /** Keys migrated by this call (0 when resumed after the keys had already moved). */
  keys: number;
}

export interface SlotMovesOutcome {
  /** One per slot moved, in order. */
  moved: SlotMoveResult[];
  /** Why the next one was not: the moves after it were not tried. */
  failure?: Failure;
}

export interface RedisClusterPort {
  /** Never throws: an unreachable node is an answer with the reason. */
  node(member: ClusterMemberAddress): Promise<ClusterNodeAnswer>;
  /** `CLUSTER MEET ip port`: `member` shakes hands with the node at `ip` (also how a known node's new IP is learnt). */
  meet(member: ClusterMemberAddress, ip: string, port: number): Promise<void>;
  /** `CLUSTER ADDSLOTSRANGE`: `member` takes unassigned slots (bring-up only). */
  addSlots(
    member: ClusterMemberAddress,
    ranges: readonly (readonly [number, number])[],
  ): Promise<void>;
  /** `CLUSTER REPLICATE nodeId`: `member` (a master with no slots, or a replica) follows `nodeId`. */
  replicate(member: ClusterMemberAddress, masterNodeId: string): Promise<void>;
  /**
   * `CLUSTER FAILOVER` on the replica `member`: a coordinated failover. The
   * master stops its clients, the replica catches up with its offset, then
   * takes over: no acknowledged write is lost.
   */
  failover(member: ClusterMemberAddress): Promise<void>;
  /** `CLUSTER FORGET nodeId` on `member` (idempotent: an unknown id is not an error). */
  forget(member: ClusterMemberAddress, nodeId: string): Promise<void>;
  /**
   * Moves one slot with its keys: IMPORTING on the target, MIGRATING on the
   * source, `MIGRATE … KEYS` in batches until the slot is empty, then the
   * target, the source and the others told the new owner. Safe to call
   * again after it was interrupted at any point (it finishes what it finds).
   */
  moveSlot(move: SlotMove, options?: { batch?: number }): Promise<SlotMoveResult>;
  /**
   * `moveSlot` for each in order, on connections kept for the whole call,
   * in rounds of consecutive slots between the same two nodes (each step
   * of a round one pipelined round trip). A slot that fails lets the rest
   * of its round finish; no later round is tried, nor one once `deadline`
   * (epoch ms) has passed.
   */
  moveSlots(
    moves: readonly SlotMove[],
    options?: { batch?: number; deadline?: number },
  ): Promise<SlotMovesOutcome>;
}

/** `a-b` ranges, `a` for a single slot, joined by commas: how status shows slots. */
export function formatRanges(ranges: readonly (readonly [number, number])[]): string {
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(",");
}

/** Sorted, merged ranges of a list of slots. */
export function rangesOf(slots: Iterable<number>): [number, number][] {
  const sorted = [...new Set(slots)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last[1] === s - 1) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}

export function slotsIn(ranges: readonly (readonly [number, number])[]): number[] {
  const out: number[] = [];
  for (const [a, b] of ranges) for (let s = a; s <= b; s++) out.push(s);
  return out;
}

export function slotCount(ranges: readonly (readonly [number, number])[]): number {
  return ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
}

export const SLOTS = 16384;
