/**
 * Where the 16384 hash slots go, pure.
 *
 * - `initialRanges(n)`: the bring-up layout, one contiguous range per
 *   shard, sizes differing by at most one (what `redis-cli --cluster
 *   create` does too).
 * - `planSlotMoves(owners, staying, removing)`: the moves that make the
 *   slot counts of the `staying` shards balanced (differing by at most
 *   one) and leave the `removing` shards with none — moving the fewest
 *   slots: only a shard above its share gives, only one below it takes,
 *   and no slot moves twice. Recomputed from what the nodes report at each
 *   reconcile, so an operator restarted mid-reshard plans the rest of the
 *   same reshard without having stored the plan.
 */
import { SLOTS } from "../../admin/cluster-port.ts";

export type Range = readonly [number, number];

export interface SlotMovePlan {
  slot: number;
  from: number;
  to: number;
}

/** Each shard's share of the slots, in shard order: the first `SLOTS % n` get one more. */
export function shares(shards: readonly number[]): Map<number, number> {
  const sorted = [...shards].sort((a, b) => a - b);
  const base = Math.floor(SLOTS / sorted.length);
  const extra = SLOTS % sorted.length;
  return new Map(sorted.map((s, i) => [s, base + (i < extra ? 1 : 0)]));
}

export function initialRanges(shardCount: number): Range[] {
  const out: Range[] = [];
  let start = 0;
  const share = shares(Array.from({ length: shardCount }, (_, i) => i));
  for (let s = 0; s < shardCount; s++) {
    const n = share.get(s) ?? 0;
    out.push([start, start + n - 1]);
    start += n;
  }
  return out;
}

/**
 * `owners`: slot → shard, for every slot some shard owns. Donors give
 * their highest slots first, receivers take in shard order, so the result
 * is the same for the same input.
 */
export function planSlotMoves(
  owners: ReadonlyMap<number, number>,
  staying: readonly number[],
  removing: readonly number[] = [],
): SlotMovePlan[] {
  if (staying.length === 0) return [];
  const target = shares(staying);
  const held = new Map<number, number[]>();
  for (const [slot, shard] of owners) {
    const list = held.get(shard) ?? [];
    list.push(slot);
    held.set(shard, list);
  }
  const gone = new Set(removing);
  const give: { shard: number; slots: number[] }[] = [];
  for (const [shard, slots] of [...held].sort((a, b) => a[0] - b[0])) {
    const keep = gone.has(shard) || !target.has(shard) ? 0 : (target.get(shard) ?? 0);
    if (slots.length > keep) {
      const sorted = [...slots].sort((a, b) => b - a);
      give.push({ shard, slots: sorted.slice(0, slots.length - keep) });
    }
  }
  const need = [...target]
    .sort((a, b) => a[0] - b[0])
    .map(([shard, want]) => ({ shard, missing: want - (held.get(shard)?.length ?? 0) }))
    .filter((n) => n.missing > 0);
  const moves: SlotMovePlan[] = [];
  for (const donor of give) {
    for (const slot of donor.slots) {
      const receiver = need.find((n) => n.missing > 0);
      if (!receiver) break;
      moves.push({ slot, from: donor.shard, to: receiver.shard });
      receiver.missing--;
    }
  }
  return moves;
}
