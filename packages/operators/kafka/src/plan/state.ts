/**
 * What the operator knows about a running Kafka cluster, as plain data: the
 * input of every safety decision in `plan/`. The admin client fills it from
 * the cluster's own answers (Metadata, DescribeConfigs, DescribeQuorum,
 * ListPartitionReassignments); tests generate it.
 */

/** A Kafka node id (`node.id`), shared by brokers and controllers in KRaft. */
export type NodeId = number;

export type Role = "broker" | "controller";

/** One partition as the cluster reports it. */
export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Assigned replicas, the preferred leader first. */
  readonly replicas: readonly NodeId[];
  /** In-sync replicas. */
  readonly isr: readonly NodeId[];
  /** The current leader, -1 when the partition is offline. */
  readonly leader: NodeId;
}

/** A controller in the KRaft quorum, as DescribeQuorum reports it. */
export interface QuorumVoter {
  readonly id: NodeId;
  /** Offset of the voter's metadata log end. */
  readonly logEndOffset: number;
  /** When the voter last caught up to the leader's end offset (epoch ms, -1 unknown). */
  readonly lastCaughtUpTimestamp: number;
}

export interface QuorumState {
  /** The active controller, -1 while an election is on. */
  readonly leaderId: NodeId;
  readonly highWatermark: number;
  readonly voters: readonly QuorumVoter[];
}

/** A partition reassignment the cluster is still carrying out. */
export interface ReassignmentInFlight {
  readonly topic: string;
  readonly partition: number;
  /** The full target replica set once it completes. */
  readonly replicas: readonly NodeId[];
  readonly adding: readonly NodeId[];
  readonly removing: readonly NodeId[];
}

export interface KafkaObservation {
  /** Brokers registered and unfenced: the ones the Metadata API lists. */
  readonly liveBrokers: ReadonlySet<NodeId>;
  /** `broker.rack` of each live broker that has one. */
  readonly racks: ReadonlyMap<NodeId, string>;
  readonly partitions: readonly PartitionState[];
  /** Effective `min.insync.replicas` per topic; topics missing here use `defaultMinIsr`. */
  readonly minIsr: ReadonlyMap<string, number>;
  readonly defaultMinIsr: number;
  readonly quorum: QuorumState;
  readonly reassignments: readonly ReassignmentInFlight[];
  /** When the observation was taken (epoch ms), to judge quorum lag. */
  readonly observedAt: number;
}

/** A node of the cluster the operator manages. */
export interface ClusterNode {
  readonly id: NodeId;
  readonly roles: readonly Role[];
}
