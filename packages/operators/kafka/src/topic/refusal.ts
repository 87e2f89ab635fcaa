/**
 * What Kafka's refusal of a topic change means for the user: a refusal that
 * only a spec change (or more brokers) can fix becomes `Ready=False` with
 * Kafka's error code, its message and what to change, and is retried slowly;
 * anything else (a controller moving, a timeout) is transient and goes to the
 * work queue's backoff, also said in status meanwhile.
 */
import { KafkaAdminError } from "../admin/errors.ts";

/** How long to wait before asking Kafka again after a refusal: a person has to change something. */
export const refusedRetryMs = 30_000;

export interface TopicRefusal {
  reason: "TopicRejected" | "TopicChangeFailed";
  message: string;
  /** False when retrying soon may succeed on its own. */
  needsChange: boolean;
}

const hints: Record<string, (t: TopicShape) => string> = {
  INVALID_REPLICATION_FACTOR: (t) =>
    `spec.replicas (${t.replicas}) must be at most the number of brokers: lower it or add brokers`,
  INVALID_PARTITIONS: (t) => `check spec.partitions (${t.partitions})`,
  INVALID_CONFIG: () => "fix the key or value in spec.config that Kafka names",
  POLICY_VIOLATION: () =>
    "the cluster's create-topic policy refused it: change the spec to meet it",
  INVALID_TOPIC_EXCEPTION: () => "choose another spec.topicName",
  INVALID_REPLICA_ASSIGNMENT: () => "check spec.replicas and spec.partitions",
  INVALID_REQUEST: () => "check the spec",
  TOPIC_AUTHORIZATION_FAILED: () => "grant the operator's principal the topic ACLs it needs",
  CLUSTER_AUTHORIZATION_FAILED: () => "grant the operator's principal the cluster ACLs it needs",
};

export interface TopicShape {
  name: string;
  partitions: number;
  replicas: number;
}

/** The status a failed topic change (`verb`: "create", "grow", "configure") asks for. */
export function topicRefusal(
  err: unknown,
  verb: "create" | "grow" | "configure",
  topic: TopicShape,
): TopicRefusal {
  const what = `Kafka refused to ${verb} topic ${topic.name}`;
  if (!(err instanceof KafkaAdminError) || !err.codeName) {
    const why = err instanceof Error ? err.message : String(err);
    return {
      reason: "TopicChangeFailed",
      message: `${what}: ${why}; retrying`,
      needsChange: false,
    };
  }
  const detail = err.serverMessage ? `: ${err.serverMessage}` : "";
  const hint = hints[err.codeName];
  if (!hint)
    return {
      reason: "TopicChangeFailed",
      message: `${what}: ${err.codeName}${detail}; retrying`,
      needsChange: false,
    };
  return {
    reason: "TopicRejected",
    message: `${what}: ${err.codeName}${detail}; ${hint(topic)}`,
    needsChange: true,
  };
}
