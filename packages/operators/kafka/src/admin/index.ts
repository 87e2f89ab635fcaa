/**
 * The Kafka admin client: observe a cluster as `plan/state.ts` data and
 * carry out the planners' decisions over Kafka's own protocol.
 */
export {
  type BrokerInfo,
  type ConfigEntry,
  KafkaAdmin,
  type KafkaAdminOptions,
  type NewTopic,
  type PartitionMove,
  type ThrottleTargets,
  type TopicDescription,
} from "./admin.ts";
export { KafkaAdminError, type KafkaAdminErrorDetails } from "./errors.ts";
export { type ThrottlePlan, throttleFor } from "./throttle.ts";
