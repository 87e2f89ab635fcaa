/**
 * `@ballast/kafka`: the Kafka operator. `kafka` is its descriptor (what the
 * `ballast` CLI, the chart generator and the build read, and what
 * `runOperator` runs); `kafkaOperator(client)` assembles it under a Manager;
 * `installKafkaCrds(client)` installs its kinds; the kinds
 * themselves (`KafkaCluster`, `KafkaTopic`), the Kafka admin client the
 * operator speaks through, and the pure plans it decides with are exported
 * for tools (the `ballast` CLI) and tests.
 */
export { KafkaAdmin, KafkaAdminError } from "./admin/index.ts";
export {
  group,
  KafkaCluster,
  type KafkaClusterStatus,
  type KafkaOperation,
  KafkaTopic,
  version,
} from "./api.ts";
export {
  crds,
  installKafkaCrds,
  type KafkaBuildOptions,
  type KafkaOperatorOptions,
  kafka,
  kafkaOperator,
} from "./operator.ts";
export { annotations, labels } from "./resources.ts";
