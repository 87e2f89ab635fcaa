/**
 * The Kafka kinds, declared once: `KafkaCluster` and `KafkaTopic` in
 * `ballast.dev/v1alpha1`. Their TypeScript types, CRD manifests and
 * validators all come from these schemas.
 *
 * What can be checked without looking at the running cluster is checked
 * here, at admission (schema and CEL, with messages that say what to fix);
 * the rest (a scale-down that would lose data, a partition decrease) is
 * refused by the controllers in a condition.
 */
import { Conditions, defineResource, IntOrString, type ResourceOf } from "@ballast/runtime";
import {
  ComputeResources,
  MemberStorage,
  memberSetNameRule,
  OperationStatus,
} from "@ballast/stateful";
import Type from "typebox";

export const group = "ballast.dev";
export const version = "v1alpha1";

/** Broker configuration values: Kafka reads every value as text; numbers are accepted unquoted. */
const configMap = (description: string) =>
  Type.Record(Type.String({ minLength: 1, maxLength: 253 }), IntOrString(), {
    description,
    maxProperties: 256,
  });

const resources = ComputeResources("Compute resources of each Kafka container.");

const zoneKey = "topology.kubernetes.io/zone";
const regionKey = "topology.kubernetes.io/region";

export const KafkaCluster = defineResource({
  group,
  version,
  kind: "KafkaCluster",
  plural: "kafkaclusters",
  shortNames: ["kc", "kafka"],
  categories: ["ballast", "all"],
  scope: "Namespaced",
  description:
    "An Apache Kafka cluster in KRaft mode. The operator restarts it one node at a time, only when no partition would fall below min.insync.replicas, and moves partitions before removing a broker.",
  spec: Type.Object(
    {
      version: Type.String({
        description:
          "The Kafka release to run, e.g. 3.9.1. Changing it upgrades the cluster with a rolling restart.",
        pattern: "^[34]\\.[0-9]+\\.[0-9]+$",
      }),
      image: Type.Optional(
        Type.String({
          description: "The container image. @default apache/kafka:<version>",
          minLength: 1,
          maxLength: 512,
        }),
      ),
      brokers: Type.Integer({
        description:
          "How many nodes serve clients (the broker role). Scaling up reassigns partitions onto the new brokers; scaling down moves them off first.",
        minimum: 1,
        maximum: 64,
      }),
      controllers: Type.Object(
        {
          replicas: Type.Integer({
            description:
              "Size of the KRaft controller quorum: 1, 3 or 5. Fixed once the cluster exists.",
            enum: [1, 3, 5],
            default: 3,
          }),
          mode: Type.Union([Type.Literal("combined"), Type.Literal("dedicated")], {
            description:
              "combined: the first nodes are broker and controller at once (small clusters); dedicated: controllers are separate nodes.",
            default: "combined",
          }),
        },
        {
          description: "The KRaft controller quorum.",
          default: {},
          "x-kubernetes-validations": [
            {
              rule: "self.replicas == oldSelf.replicas",
              message:
                "controllers.replicas cannot change once the cluster exists (the quorum's voters are fixed); create a new cluster to change it",
            },
            {
              rule: "self.mode == oldSelf.mode",
              message: "controllers.mode cannot change once the cluster exists",
            },
          ],
        },
      ),
      storage: MemberStorage({
        size: "Size of each node's data volume, e.g. 10Gi.",
        description: "Each node's data volume (a PersistentVolumeClaim kept across restarts).",
        what: "the cluster",
      }),
      config: Type.Optional(
        configMap(
          "Cluster-wide broker configuration, e.g. min.insync.replicas: 2. Keys Kafka can change at runtime are applied without a restart; the others roll the cluster. Per-node keys (node.id, listeners, log.dirs, broker.rack, ...) are set by the operator.",
        ),
      ),
      rack: Type.Optional(
        Type.Object(
          {
            topologyKey: Type.Union([Type.Literal(zoneKey), Type.Literal(regionKey)], {
              description:
                "The node label each broker's broker.rack is read from (the API server copies these two onto scheduled pods).",
            }),
          },
          { description: "Rack awareness: replicas spread across the nodes' zones or regions." },
        ),
      ),
      clientPort: Type.Integer({
        description: "Port of the plaintext client listener.",
        minimum: 1024,
        maximum: 65535,
        default: 9092,
      }),
      resources: Type.Optional(resources),
      jvm: Type.Optional(
        Type.Object(
          {
            heap: Type.String({
              description: "Heap size of each node (-Xms and -Xmx), e.g. 1G.",
              pattern: "^[0-9]+[kKmMgG]$",
              default: "512M",
            }),
            options: Type.Optional(
              Type.Array(Type.String({ pattern: "^-", maxLength: 256 }), {
                description: "Extra JVM options, e.g. -XX:+UseZGC.",
                maxItems: 32,
              }),
            ),
          },
          { description: "JVM settings of the Kafka processes." },
        ),
      ),
      rebalance: Type.Optional(
        Type.Object(
          {
            throttleBytesPerSecond: Type.Integer({
              description:
                "Replication throttle while partitions move between brokers (per broker, each direction).",
              minimum: 1024,
              default: 52428800,
            }),
          },
          { description: "How partitions move when brokers are added or removed." },
        ),
      ),
    },
    {
      "x-kubernetes-validations": [
        {
          rule: "self.controllers.mode != 'combined' || self.brokers >= self.controllers.replicas",
          message:
            "in combined mode every controller is also a broker: spec.brokers must be at least spec.controllers.replicas",
        },
      ],
    },
  ),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    conditions: Type.Optional(Conditions()),
    clusterId: Type.Optional(
      Type.String({ description: "The KRaft cluster id the storage was formatted with." }),
    ),
    version: Type.Optional(
      Type.String({ description: "The Kafka version every node runs (unset mid-upgrade)." }),
    ),
    readyBrokers: Type.Optional(Type.Integer({ minimum: 0 })),
    brokers: Type.Optional(Type.String({ description: "Ready brokers out of desired, e.g. 3/3." })),
    activeController: Type.Optional(Type.Integer()),
    bootstrapServers: Type.Optional(
      Type.String({ description: "host:port list for clients inside the cluster." }),
    ),
    nodes: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.Integer({ minimum: 0 }),
          roles: Type.Array(Type.Union([Type.Literal("broker"), Type.Literal("controller")])),
          pod: Type.String(),
          ready: Type.Boolean(),
          removing: Type.Optional(
            Type.Boolean({ description: "Set while the node is drained for removal." }),
          ),
        }),
        {
          description:
            "Every node the cluster has, by id: assigned once, never reused while it exists.",
        },
      ),
    ),
    operation: Type.Optional(OperationStatus()),
  }),
  printerColumns: [
    { name: "Brokers", type: "string", jsonPath: ".status.brokers" },
    { name: "Version", type: "string", jsonPath: ".status.version" },
    { name: "Operation", type: "string", jsonPath: ".status.operation.summary" },
    { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
  scale: {
    specReplicasPath: ".spec.brokers",
    statusReplicasPath: ".status.readyBrokers",
  },
  // Services <name>-bootstrap, <name>-nodes; pods <name>-<node id> (ids stay below 100).
  validations: [memberSetNameRule(["-bootstrap", "-nodes", "-config", "-kafka", "-99"])],
});

export type KafkaCluster = ResourceOf<typeof KafkaCluster>;
export type KafkaClusterStatus = NonNullable<KafkaCluster["status"]>;
export type KafkaOperation = NonNullable<KafkaClusterStatus["operation"]>;

export const KafkaTopic = defineResource({
  group,
  version,
  kind: "KafkaTopic",
  plural: "kafkatopics",
  shortNames: ["kt"],
  categories: ["ballast", "all"],
  scope: "Namespaced",
  description:
    "A topic of a KafkaCluster in the same namespace, created, grown and deleted by the operator.",
  spec: Type.Object({
    cluster: Type.String({
      description: "Name of the KafkaCluster (same namespace).",
      minLength: 1,
      maxLength: 253,
      "x-kubernetes-validations": [
        { rule: "self == oldSelf", message: "spec.cluster cannot change; create a new KafkaTopic" },
      ],
    }),
    topicName: Type.Optional(
      Type.String({
        description: "The topic's name in Kafka. @default metadata.name",
        pattern: "^[a-zA-Z0-9._-]+$",
        maxLength: 249,
        "x-kubernetes-validations": [
          { rule: "self == oldSelf", message: "spec.topicName cannot change" },
        ],
      }),
    ),
    partitions: Type.Integer({
      description: "Number of partitions. Can grow, never shrink (Kafka cannot merge partitions).",
      minimum: 1,
      maximum: 10000,
      default: 1,
    }),
    replicas: Type.Integer({
      description: "Replication factor.",
      minimum: 1,
      maximum: 16,
      default: 3,
    }),
    config: Type.Optional(configMap("Topic configuration, e.g. min.insync.replicas: 2.")),
  }),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    conditions: Type.Optional(Conditions()),
    topicName: Type.Optional(Type.String()),
    topicId: Type.Optional(Type.String()),
    partitions: Type.Optional(Type.Integer()),
  }),
  printerColumns: [
    { name: "Cluster", type: "string", jsonPath: ".spec.cluster" },
    { name: "Partitions", type: "integer", jsonPath: ".spec.partitions" },
    { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
    { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
  validations: [
    {
      // Until the topic exists (status.partitions is written once it does) a refused
      // replication factor can still be corrected.
      rule: "!has(oldSelf.status) || !has(oldSelf.status.partitions) || self.spec.replicas == oldSelf.spec.replicas",
      message:
        "spec.replicas cannot change once the topic exists; create a new topic to change the replication factor",
    },
    {
      rule: "has(self.spec.topicName) || size(self.metadata.name) <= 249",
      message:
        "metadata.name is the topic's name in Kafka, which is at most 249 characters: shorten it or set spec.topicName",
    },
  ],
});

export type KafkaTopic = ResourceOf<typeof KafkaTopic>;
