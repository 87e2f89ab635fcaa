/**
 * Member ids. A data system keys what a member owns by its id (Kafka's
 * `node.id`, ZooKeeper's `myid`, a Cassandra host's volume), so a new member
 * never reuses an id still in use; otherwise the lowest free ids are handed
 * out, so they stay small and pod names keep matching ids where they can.
 */

/** A member's id: a small non-negative integer, stable for the member's life. */
export type MemberId = number;

/**
 * The `count` lowest ids from `first` on not in `used`, ascending. `first`
 * is for systems whose ids start above 0 (ZooKeeper's myid is 1–255).
 */
export function assignIds(used: Iterable<MemberId>, count: number, first = 0): MemberId[] {
  const taken = new Set(used);
  const ids: MemberId[] = [];
  for (let id = first; ids.length < count; id++) {
    if (!taken.has(id)) ids.push(id);
  }
  return ids;
}
