/**
 * Why Redis's plans wait, as data: status and events turn them into
 * sentences with `describeBlocker`, tests compare the data.
 */
import type { NotInSync } from "./state.ts";

export type Blocker =
  /** A sentinel is carrying out a failover: nothing else happens meanwhile. */
  | { kind: "FailoverInProgress"; sentinel: number }
  /** A sentinel holds a newer configuration than the majority: they are converging (seconds). */
  | { kind: "SentinelsConverging"; sentinel: number; epoch: number }
  /** The master the sentinels agree on does not answer; Sentinel can fail over and will. */
  | { kind: "MasterDown"; id: number }
  /** The sentinels agree on a member that says it is a replica (a failover will follow). */
  | { kind: "SentinelsPointAtReplica"; id: number }
  /** No member is master, and nothing says which should be yet. */
  | { kind: "NoMaster" }
  /** Several members say they are master and neither Sentinel nor their history tells which is. */
  | { kind: "MastersDisagree"; ids: readonly number[] }
  /** The operator would promote, but no replica answers. */
  | { kind: "NoCandidate" }
  /** The last master stopped answering too recently to promote behind Sentinel's back. */
  | { kind: "MasterLostRecently"; id: number; forMs: number; afterMs: number }
  /** The operator is promoting member `id` (Sentinel cannot). */
  | { kind: "PromotionPending"; id: number }
  /** Members still to be demoted to replicas (they must not take clients as masters). */
  | { kind: "DemotionPending"; ids: readonly number[] }
  /** Fewer than a majority of the sentinels agree on the master. */
  | { kind: "SentinelsNotAgreeing"; agreeing: number; needed: number }
  | { kind: "ReplicaNotInSync"; id: number; why: NotInSync }
  /** No replica is in sync, so a controlled failover has nowhere to go. */
  | { kind: "NoInSyncReplica" }
  /** No answering sentinel lists the replica to promote as healthy (its failover would abort). */
  | { kind: "SentinelDoesNotKnowReplica"; id: number };

const notInSync: Record<NotInSync, string> = {
  down: "does not answer",
  "not-a-replica": "is not a replica",
  "following-another": "follows another master",
  "link-down": "has its link to the master down",
  syncing: "is receiving a full resync",
  loading: "is loading its dataset",
  "not-listed": "is not listed online by the master",
  lagging: "is behind the master by more than the sync bound",
};

export function describeBlocker(b: Blocker): string {
  switch (b.kind) {
    case "FailoverInProgress":
      return `sentinel ${b.sentinel} is carrying out a failover`;
    case "SentinelsConverging":
      return `sentinel ${b.sentinel} holds a newer configuration (epoch ${b.epoch}) than the others; waiting for them to learn it`;
    case "MasterDown":
      return `the master (member ${b.id}) does not answer; waiting for Sentinel to fail over`;
    case "SentinelsPointAtReplica":
      return `the sentinels agree on member ${b.id} as master, but it reports itself a replica`;
    case "NoMaster":
      return "no member is master, and the sentinels do not agree on one";
    case "MastersDisagree":
      return `members ${b.ids.join(", ")} all say they are master, and neither the sentinels nor their replication history tell which is`;
    case "NoCandidate":
      return "no member is master and no replica answers to be promoted";
    case "MasterLostRecently":
      return `the master (member ${b.id}) has not answered for ${Math.round(b.forMs / 1000)}s; the sentinels cannot fail over, and the operator promotes a replica itself after ${Math.round(b.afterMs / 1000)}s`;
    case "PromotionPending":
      return `member ${b.id} is being promoted to master by the operator`;
    case "DemotionPending":
      return `member${b.ids.length > 1 ? "s" : ""} ${b.ids.join(", ")} must be demoted to replica first`;
    case "SentinelsNotAgreeing":
      return `${b.agreeing} ${b.agreeing === 1 ? "sentinel agrees" : "sentinels agree"} on the master, ${b.needed} needed`;
    case "ReplicaNotInSync":
      return `member ${b.id} ${notInSync[b.why]}`;
    case "NoInSyncReplica":
      return "no replica is in sync with the master to fail over to";
    case "SentinelDoesNotKnowReplica":
      return `no sentinel lists member ${b.id} as a healthy replica yet (a failover now would abort)`;
  }
}
