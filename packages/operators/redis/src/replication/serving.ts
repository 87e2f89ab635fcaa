/**
 * Whether a member serves, the one answer behind its readiness gate
 * (`redis.ballast.dev/serving`), `status.members[].ready` and the Ready
 * condition: THE master (as `chooseMaster` decided) accepting writes — it
 * answers as master and is not loading —, or a replica linked to it and
 * in sync (`syncState`). Pure.
 */
import type { MasterDecision } from "../plan/master.ts";
import { type ReplicationObservation, syncState } from "../plan/state.ts";

const notInSync = {
  down: "does not answer",
  "not-a-replica": "says it is master, but is not THE master",
  "following-another": "follows another master",
  "link-down": "has its link to the master down",
  syncing: "is receiving a full resync",
  loading: "is loading its dataset",
  "not-listed": "is not listed online by the master",
  lagging: "is behind the master",
} as const;

export type Serving = { serving: true; as: "master" | "replica" } | { serving: false; why: string };

export function servingState(
  obs: ReplicationObservation,
  decision: MasterDecision,
  id: number,
): Serving {
  const report = obs.members.find((m) => m.id === id)?.report;
  if (!report?.reachable) return { serving: false, why: "does not answer" };
  if (decision.kind !== "master") return { serving: false, why: "the set has no master yet" };
  if (decision.id === id) {
    if (report.role !== "master") return { serving: false, why: "is not master yet" };
    if (report.loading) return { serving: false, why: "is loading its dataset" };
    return { serving: true, as: "master" };
  }
  const state = syncState(obs, id, decision.id);
  return state.inSync
    ? { serving: true, as: "replica" }
    : { serving: false, why: notInSync[state.why] };
}
