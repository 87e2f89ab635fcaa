/**
 * Which replica to promote: the one that has the most of the master's
 * writes, so that a write acknowledged by `WAIT 1` (it reached at least
 * one replica) survives. All replicas read one replication stream, so the
 * highest offset holds every write any other replica holds.
 *
 * - With a master that answers (a controlled failover): only replicas in
 *   sync with it (`syncState`) are candidates; the highest offset wins.
 * - Without one (it is lost): every replica that answers and is not
 *   loading; the highest offset wins. A replica that does not answer may
 *   have had more; the caller decides whether to wait for it.
 *
 * Ties go to the lowest id, so the choice is stable across reconciles.
 */
import {
  defaultSyncBound,
  type ReplicationObservation,
  type SyncBound,
  syncState,
} from "./state.ts";

export function promotionCandidate(
  obs: ReplicationObservation,
  master?: number,
  bound: SyncBound = defaultSyncBound,
): number | undefined {
  const live =
    master !== undefined && obs.members.some((m) => m.id === master && m.report?.role === "master");
  let best: { id: number; offset: number } | undefined;
  for (const m of obs.members) {
    if (m.id === master) continue;
    let offset: number;
    if (live) {
      const state = syncState(obs, m.id, master, bound);
      if (!state.inSync) continue;
      offset = state.offset;
    } else {
      const r = m.report;
      if (r?.role !== "replica" || r.loading) continue;
      offset = r.offset;
    }
    if (!best || offset > best.offset || (offset === best.offset && m.id < best.id)) {
      best = { id: m.id, offset };
    }
  }
  return best?.id;
}
