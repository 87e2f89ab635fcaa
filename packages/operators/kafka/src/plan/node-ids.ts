/**
 * Node ids for new nodes. KRaft keys everything a node owns — its metadata log
 * directory, its quorum vote, the partitions assigned to it — by `node.id`, so
 * a new node must never reuse an id that is still in use; otherwise we hand out
 * the lowest free ids so they stay small and pod ordinals keep matching ids
 * where they can.
 */

import type { NodeId } from "./state.ts";

/** The `count` lowest non-negative ids not in `used`, ascending. */
export function assignNodeIds(used: Iterable<NodeId>, count: number): NodeId[] {
  const taken = new Set(used);
  const ids: NodeId[] = [];
  for (let id = 0; ids.length < count; id++) {
    if (!taken.has(id)) ids.push(id);
  }
  return ids;
}
