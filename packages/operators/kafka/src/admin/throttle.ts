/**
 * Which replicas a reassignment throttle applies to, computed the way
 * kafka-reassign-partitions does it. Pure, so the exact "partition:broker"
 * lists are tested without Kafka.
 *
 * Kafka throttles a replica's traffic only if it is listed: the leader side
 * (`leader.replication.throttled.replicas`) lists every current replica,
 * because any of them may be the leader the new replicas fetch from; the
 * follower side (`follower.replication.throttled.replicas`) lists only the
 * replicas being added, so followers already in sync keep full speed. The
 * rate itself is a broker config, set on every broker that sends or receives.
 */
import type { NodeId } from "../plan/state.ts";

/** One partition's target replica set, the preferred leader first. */
export interface PartitionMove {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly NodeId[];
}

/** What `setThrottle` touched, so `clearThrottle` can undo exactly that. */
export interface ThrottleTargets {
  readonly brokers: readonly NodeId[];
  readonly topics: readonly string[];
}

export interface ThrottlePlan {
  /** Brokers whose throttled rate must be set: current ∪ target replicas of every move. */
  readonly brokers: NodeId[];
  /** Per topic, the config values: "p:b,p:b" lists, ordered by partition then broker. */
  readonly topicReplicas: Map<string, { leader: string; follower: string }>;
}

export function throttleFor(
  moves: readonly PartitionMove[],
  currentReplicas: (topic: string, partition: number) => readonly NodeId[],
): ThrottlePlan {
  const brokers = new Set<NodeId>();
  const perTopic = new Map<string, { leader: [number, NodeId][]; follower: [number, NodeId][] }>();
  for (const move of moves) {
    const current = currentReplicas(move.topic, move.partition);
    const lists = perTopic.get(move.topic) ?? { leader: [], follower: [] };
    perTopic.set(move.topic, lists);
    for (const b of current) {
      lists.leader.push([move.partition, b]);
      brokers.add(b);
    }
    for (const b of move.replicas) {
      brokers.add(b);
      if (!current.includes(b)) lists.follower.push([move.partition, b]);
    }
  }
  const render = (pairs: [number, NodeId][]): string =>
    pairs
      .sort((x, y) => x[0] - y[0] || x[1] - y[1])
      .map(([p, b]) => `${p}:${b}`)
      .join(",");
  return {
    brokers: [...brokers].sort((a, b) => a - b),
    topicReplicas: new Map(
      [...perTopic].map(([t, l]) => [
        t,
        { leader: render(l.leader), follower: render(l.follower) },
      ]),
    ),
  };
}
