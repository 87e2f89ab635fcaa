/**
 * `KafkaAdmin`: the operator's only way of talking to Kafka. It turns the
 * cluster's protocol answers into the plain data of `plan/state.ts`, and the
 * plans' decisions into protocol requests. No policy lives here: every method
 * does one request (or one batch), raises `KafkaAdminError` naming the
 * resource Kafka blamed, and returns.
 */
import {
  alterPartitionReassignmentsV0,
  alterPartitionReassignmentsV1,
  ConfigResourceTypes,
  ConfigSources,
  createPartitionsV3,
  createTopicsV7,
  DescribeClusterEndpointTypes,
  deleteTopicsV6,
  describeClusterV1,
  describeConfigsV4,
  describeQuorumV2,
  IncrementalAlterConfigOperationTypes,
  incrementalAlterConfigsV1,
  listPartitionReassignmentsV0,
  unregisterBrokerV0,
} from "@platformatic/kafka";
import type {
  KafkaObservation,
  NodeId,
  PartitionState,
  QuorumState,
  ReassignmentInFlight,
} from "../plan/state.ts";
import { type ConfigType, configTypeOf } from "../plan/validate.ts";
import { METADATA, versions, Wire } from "./_wire.ts";
import { check, errorName, KafkaAdminError } from "./errors.ts";
import { type PartitionMove, type ThrottleTargets, throttleFor } from "./throttle.ts";

export interface KafkaAdminOptions {
  /** "host:port" of one or more brokers. */
  bootstrap: string[];
  /** @default "ballast-kafka-operator" */
  clientId?: string;
  /** Per-request timeout, also sent to Kafka as the request's own timeout. @default 30000 */
  timeoutMs?: number;
}

export interface BrokerInfo {
  id: NodeId;
  host: string;
  port: number;
  rack: string | null;
}

export interface ConfigEntry {
  value: string | null;
  /**
   * False when the broker applies a change without a restart (a "dynamic"
   * config). Kafka 3.9 derives it from its static config definitions only, so
   * dynamic-only keys such as `leader.replication.throttled.rate` read true.
   */
  readOnly: boolean;
  /** Where the value comes from: "DEFAULT_CONFIG", "STATIC_BROKER_CONFIG", "DYNAMIC_BROKER_CONFIG", ... */
  source: string;
  /** The value's type as the broker's ConfigDef declares it ("int", "boolean", ...). */
  type: ConfigType;
}

export interface TopicDescription {
  partitions: number;
  replicationFactor: number;
  /** Configs set on the topic itself (not inherited from broker defaults). */
  config: Record<string, string>;
}

export interface NewTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

export type { PartitionMove, ThrottleTargets } from "./throttle.ts";

const API = {
  describeCluster: versions("DescribeCluster", [describeClusterV1]),
  describeConfigs: versions("DescribeConfigs", [describeConfigsV4]),
  incrementalAlterConfigs: versions("IncrementalAlterConfigs", [incrementalAlterConfigsV1]),
  describeQuorum: versions("DescribeQuorum", [describeQuorumV2]),
  listReassignments: versions("ListPartitionReassignments", [listPartitionReassignmentsV0]),
  alterReassignments: versions("AlterPartitionReassignments", [
    alterPartitionReassignmentsV0,
    alterPartitionReassignmentsV1,
  ]),
  unregisterBroker: versions("UnregisterBroker", [unregisterBrokerV0]),
  createTopics: versions("CreateTopics", [createTopicsV7]),
  createPartitions: versions("CreatePartitions", [createPartitionsV3]),
  deleteTopics: versions("DeleteTopics", [deleteTopicsV6]),
};

const SOURCE_NAMES = new Map<number, string>(
  Object.entries(ConfigSources)
    .filter(([name]) => name !== "TOPIC_CONFIG")
    .map(([name, value]) => [value, name]),
);

const UNKNOWN_TOPIC_OR_PARTITION = 3;
const LEADER_NOT_AVAILABLE = 5;
const NO_REASSIGNMENT_IN_PROGRESS = 85;
const BROKER_ID_NOT_REGISTERED = 102;
const THROTTLE_BROKER_CONFIGS = [
  "leader.replication.throttled.rate",
  "follower.replication.throttled.rate",
];
const THROTTLE_TOPIC_CONFIGS = [
  "leader.replication.throttled.replicas",
  "follower.replication.throttled.replicas",
];

export class KafkaAdmin {
  readonly #wire: Wire;

  constructor(options: KafkaAdminOptions) {
    this.#wire = new Wire({
      bootstrap: options.bootstrap,
      clientId: options.clientId ?? "ballast-kafka-operator",
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  async close(): Promise<void> {
    await this.#wire.close();
  }

  /** Everything the planners need, from one Metadata round and four requests made concurrently after it. */
  async observe(): Promise<KafkaObservation> {
    const metadata = await this.#metadata(null);
    const partitions: PartitionState[] = [];
    const topics: string[] = [];
    for (const topic of metadata.topics) {
      const name = topic.name;
      if (name === null || name === undefined) continue;
      // A topic being deleted or created may answer with an error; it has no partitions to protect yet.
      if (topic.errorCode !== 0 && topic.errorCode !== LEADER_NOT_AVAILABLE) continue;
      topics.push(name);
      for (const p of topic.partitions) {
        partitions.push({
          topic: name,
          partition: p.partitionIndex,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          leader: p.leaderId,
        });
      }
    }
    partitions.sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
    const first = metadata.brokers[0];
    if (!first) {
      throw new KafkaAdminError("Metadata lists no live broker", {
        call: "Metadata",
        resource: "cluster",
      });
    }
    const [configs, quorum, reassignments] = await Promise.all([
      this.#minIsr(first.nodeId, topics),
      this.#quorum(),
      this.listReassignments(),
    ]);
    return {
      liveBrokers: new Set(metadata.brokers.map((b) => b.nodeId)),
      racks: new Map(
        metadata.brokers.flatMap((b) => (b.rack ? [[b.nodeId, b.rack] as const] : [])),
      ),
      partitions,
      minIsr: configs.topics,
      defaultMinIsr: configs.broker,
      quorum,
      reassignments,
      observedAt: Date.now(),
    };
  }

  async clusterId(): Promise<string> {
    return (await this.#describeCluster()).clusterId;
  }

  /** Brokers registered and unfenced, as DescribeCluster lists them. */
  async brokers(): Promise<BrokerInfo[]> {
    const cluster = await this.#describeCluster();
    return cluster.brokers
      .map((b) => ({ id: b.brokerId, host: b.host, port: b.port, rack: b.rack ?? null }))
      .sort((a, b) => a.id - b.id);
  }

  /**
   * Every config of broker `id`, asked of that broker (only it answers for
   * itself). Dynamic-only keys (the replication throttle rates) appear only
   * while set.
   */
  async brokerConfig(id: NodeId): Promise<Map<string, ConfigEntry>> {
    const response = await this.#wire.broker(id, API.describeConfigs, [
      { resourceType: ConfigResourceTypes.BROKER, resourceName: String(id) },
    ]);
    const result = response.results[0];
    if (!result)
      throw new KafkaAdminError(`DescribeConfigs returned nothing for broker ${id}`, {
        call: "DescribeConfigs",
      });
    check(result.errorCode, result.errorMessage, "DescribeConfigs", `broker ${id}`);
    return new Map(
      result.configs.map((c) => [
        c.name,
        {
          value: c.value ?? null,
          readOnly: c.readOnly,
          source: SOURCE_NAMES.get(c.configSource) ?? `UNKNOWN(${c.configSource})`,
          type: configTypeOf(c.configType),
        },
      ]),
    );
  }

  /**
   * Sets and removes dynamic configs of broker `id`, or of every broker when
   * `id` is "" (the cluster-wide default). Removing a key that is not set is
   * not an error.
   */
  async alterBrokerConfig(
    id: NodeId | "",
    set: Record<string, string>,
    remove: string[],
  ): Promise<void> {
    await this.#alterConfigs(
      ConfigResourceTypes.BROKER,
      String(id),
      set,
      remove,
      id === "" ? undefined : id,
    );
  }

  /**
   * Whether broker `id` would accept `set` as its dynamic config: the same
   * request with validateOnly, so Kafka parses and range-checks each value
   * and changes nothing. Raises `KafkaAdminError` (code INVALID_CONFIG,
   * Kafka's reason in `serverMessage`) if it would not.
   */
  async validateBrokerConfig(id: NodeId, set: Record<string, string>): Promise<void> {
    await this.#alterConfigs(ConfigResourceTypes.BROKER, String(id), set, [], id, true);
  }

  /**
   * Starts moving each partition to its `replicas` (the first one becomes the
   * preferred leader). Raises for the first partition Kafka refused, after
   * the others were accepted.
   */
  async reassign(moves: readonly PartitionMove[]): Promise<void> {
    await this.#alterReassignments(moves.map((m) => ({ ...m, replicas: [...m.replicas] })));
  }

  /** Stops reassignments in flight; partitions not being reassigned are ignored. */
  async cancelReassignment(
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<void> {
    await this.#alterReassignments(
      partitions.map((p) => ({ ...p, replicas: null })),
      new Set([NO_REASSIGNMENT_IN_PROGRESS]),
    );
  }

  async listReassignments(): Promise<ReassignmentInFlight[]> {
    const response = await this.#wire.any(API.listReassignments, this.#wire.timeoutMs, null);
    check(response.errorCode, response.errorMessage, "ListPartitionReassignments");
    const result: ReassignmentInFlight[] = [];
    for (const topic of response.topics) {
      for (const p of topic.partitions) {
        result.push({
          topic: topic.name,
          partition: p.partitionIndex,
          replicas: p.replicas,
          adding: p.addingReplicas,
          removing: p.removingReplicas,
        });
      }
    }
    return result;
  }

  /**
   * Throttles the replication traffic of `moves` to `bytesPerSecond` per
   * broker, as kafka-reassign-partitions does: a rate on every broker that
   * sends or receives data, and, per topic, the exact "partition:broker"
   * replicas the rate applies to (leader side: the current replicas;
   * follower side: the replicas being added). The topics' throttled-replica
   * lists are replaced, not merged: pass every move in flight. Returns what
   * was throttled, for `clearThrottle`.
   */
  async setThrottle(
    moves: readonly PartitionMove[],
    bytesPerSecond: number,
  ): Promise<ThrottleTargets> {
    if (!Number.isInteger(bytesPerSecond) || bytesPerSecond <= 0) {
      throw new RangeError(
        `throttle rate must be a positive integer of bytes per second, got ${bytesPerSecond}`,
      );
    }
    const metadata = await this.#metadata([...new Set(moves.map((m) => m.topic))]);
    const current = new Map<string, readonly NodeId[]>();
    for (const topic of metadata.topics) {
      check(topic.errorCode, null, "Metadata", `topic ${JSON.stringify(topic.name)}`);
      for (const p of topic.partitions)
        current.set(`${topic.name}:${p.partitionIndex}`, p.replicaNodes);
    }
    const plan = throttleFor(moves, (topic, partition) => {
      const replicas = current.get(`${topic}:${partition}`);
      if (!replicas) {
        throw new KafkaAdminError(`cannot throttle ${topic}-${partition}: no such partition`, {
          call: "setThrottle",
          resource: `${topic}-${partition}`,
          code: UNKNOWN_TOPIC_OR_PARTITION,
          codeName: errorName(UNKNOWN_TOPIC_OR_PARTITION),
        });
      }
      return replicas;
    });
    const rate = String(bytesPerSecond);
    for (const [topic, lists] of plan.topicReplicas) {
      await this.alterTopicConfig(
        topic,
        {
          "leader.replication.throttled.replicas": lists.leader,
          "follower.replication.throttled.replicas": lists.follower,
        },
        [],
      );
    }
    for (const broker of plan.brokers) {
      await this.alterBrokerConfig(
        broker,
        { "leader.replication.throttled.rate": rate, "follower.replication.throttled.rate": rate },
        [],
      );
    }
    return { brokers: plan.brokers, topics: [...plan.topicReplicas.keys()] };
  }

  /** Removes the throttle configs from the given brokers and topics (missing ones are fine). */
  async clearThrottle(targets: ThrottleTargets): Promise<void> {
    for (const broker of targets.brokers)
      await this.alterBrokerConfig(broker, {}, THROTTLE_BROKER_CONFIGS);
    for (const topic of targets.topics) {
      try {
        await this.alterTopicConfig(topic, {}, THROTTLE_TOPIC_CONFIGS);
      } catch (error) {
        if (!(error instanceof KafkaAdminError && error.code === UNKNOWN_TOPIC_OR_PARTITION))
          throw error;
      }
    }
  }

  /**
   * Removes broker `id`'s registration from the cluster metadata, so
   * replicas it held show as offline instead of waiting for it. Only for a
   * broker that is gone for good.
   */
  /**
   * Removes broker `id`'s registration. A broker that is not registered
   * (unregistered before, by an operator killed before it recorded that) is
   * not an error: the call is safe to repeat.
   */
  async unregisterBroker(id: NodeId): Promise<void> {
    const response = await this.#wire.any(API.unregisterBroker, id);
    if (response.errorCode === BROKER_ID_NOT_REGISTERED) return;
    check(response.errorCode, response.errorMessage, "UnregisterBroker", `broker ${id}`);
  }

  /** The topic's shape and its own configs, or `undefined` when it does not exist. */
  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    const metadata = await this.#metadata([name]);
    const topic = metadata.topics[0];
    if (!topic || topic.errorCode === UNKNOWN_TOPIC_OR_PARTITION) return undefined;
    if (topic.errorCode !== LEADER_NOT_AVAILABLE)
      check(topic.errorCode, null, "Metadata", `topic ${JSON.stringify(name)}`);
    const response = await this.#wire.any(API.describeConfigs, [
      { resourceType: ConfigResourceTypes.TOPIC, resourceName: name },
    ]);
    const result = response.results[0];
    if (!result)
      throw new KafkaAdminError(
        `DescribeConfigs returned nothing for topic ${JSON.stringify(name)}`,
        { call: "DescribeConfigs" },
      );
    if (result.errorCode === UNKNOWN_TOPIC_OR_PARTITION) return undefined;
    check(
      result.errorCode,
      result.errorMessage,
      "DescribeConfigs",
      `topic ${JSON.stringify(name)}`,
    );
    const config: Record<string, string> = {};
    for (const c of result.configs) {
      if (c.configSource === ConfigSources.DYNAMIC_TOPIC_CONFIG && typeof c.value === "string")
        config[c.name] = c.value;
    }
    return {
      partitions: topic.partitions.length,
      replicationFactor: Math.max(0, ...topic.partitions.map((p) => p.replicaNodes.length)),
      config,
    };
  }

  /** Creates a topic; raises with codeName "TOPIC_ALREADY_EXISTS" when it exists. */
  async createTopic(topic: NewTopic): Promise<void> {
    const response = await this.#wire.any(
      API.createTopics,
      [
        {
          name: topic.name,
          numPartitions: topic.partitions,
          replicationFactor: topic.replicationFactor,
          assignments: [],
          configs: Object.entries(topic.config ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
      this.#wire.timeoutMs,
      false,
    );
    for (const t of response.topics)
      check(t.errorCode, t.errorMessage, "CreateTopics", `topic ${JSON.stringify(t.name)}`);
  }

  /** Grows the topic to `total` partitions (Kafka never shrinks one). */
  async createPartitions(name: string, total: number): Promise<void> {
    const response = await this.#wire.any(
      API.createPartitions,
      [{ name, count: total, assignments: null }],
      this.#wire.timeoutMs,
      false,
    );
    for (const r of response.results)
      check(r.errorCode, r.errorMessage, "CreatePartitions", `topic ${JSON.stringify(r.name)}`);
  }

  async alterTopicConfig(
    name: string,
    set: Record<string, string>,
    remove: string[],
  ): Promise<void> {
    await this.#alterConfigs(ConfigResourceTypes.TOPIC, name, set, remove, undefined);
  }

  /** Deletes a topic; deleting one that does not exist is not an error (level-driven callers retry). */
  async deleteTopic(name: string): Promise<void> {
    const response = await this.#wire.any(API.deleteTopics, [{ name }], this.#wire.timeoutMs);
    for (const r of response.responses) {
      if (r.errorCode === UNKNOWN_TOPIC_OR_PARTITION) continue;
      check(r.errorCode, r.errorMessage, "DeleteTopics", `topic ${JSON.stringify(name)}`);
    }
  }

  async #metadata(topics: string[] | null) {
    const metadata = await this.#wire.any(METADATA, topics, false, false);
    this.#wire.learn(metadata.brokers);
    return metadata;
  }

  async #describeCluster() {
    const response = await this.#wire.any(
      API.describeCluster,
      false,
      DescribeClusterEndpointTypes.BROKERS,
    );
    check(response.errorCode, response.errorMessage, "DescribeCluster");
    return response;
  }

  /** Effective min.insync.replicas of `topics` and of broker `brokerId`, in one request to that broker. */
  async #minIsr(
    brokerId: NodeId,
    topics: string[],
  ): Promise<{ topics: Map<string, number>; broker: number }> {
    const key = ["min.insync.replicas"];
    const response = await this.#wire.broker(brokerId, API.describeConfigs, [
      {
        resourceType: ConfigResourceTypes.BROKER,
        resourceName: String(brokerId),
        configurationKeys: key,
      },
      ...topics.map((t) => ({
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: t,
        configurationKeys: key,
      })),
    ]);
    const byTopic = new Map<string, number>();
    let broker: number | undefined;
    for (const result of response.results) {
      const isBroker = result.resourceType === ConfigResourceTypes.BROKER;
      const resource = isBroker
        ? `broker ${result.resourceName}`
        : `topic ${JSON.stringify(result.resourceName)}`;
      // Deleted since the Metadata answer: nothing left to protect.
      if (!isBroker && result.errorCode === UNKNOWN_TOPIC_OR_PARTITION) continue;
      check(result.errorCode, result.errorMessage, "DescribeConfigs", resource);
      const raw = result.configs.find((c) => c.name === "min.insync.replicas")?.value;
      const value = Number(raw);
      if (raw === null || raw === undefined || !Number.isInteger(value)) {
        throw new KafkaAdminError(
          `${resource} has no integer min.insync.replicas (got ${JSON.stringify(raw)})`,
          {
            call: "DescribeConfigs",
            resource,
          },
        );
      }
      if (isBroker) broker = value;
      else byTopic.set(result.resourceName, value);
    }
    if (broker === undefined) {
      throw new KafkaAdminError(`DescribeConfigs did not answer for broker ${brokerId}`, {
        call: "DescribeConfigs",
      });
    }
    return { topics: byTopic, broker };
  }

  async #quorum(): Promise<QuorumState> {
    const response = await this.#wire.any(API.describeQuorum, [
      { topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] },
    ]);
    check(response.errorCode, response.errorMessage, "DescribeQuorum");
    const partition = response.topics[0]?.partitions[0];
    if (!partition)
      throw new KafkaAdminError("DescribeQuorum answered without __cluster_metadata-0", {
        call: "DescribeQuorum",
      });
    check(partition.errorCode, partition.errorMessage, "DescribeQuorum", "__cluster_metadata-0");
    return {
      leaderId: partition.leaderId,
      highWatermark: Number(partition.highWatermark),
      voters: partition.currentVoters.map((v) => ({
        id: v.replicaId,
        logEndOffset: Number(v.logEndOffset),
        lastCaughtUpTimestamp: Number(v.lastCaughtUpTimestamp),
      })),
    };
  }

  async #alterReassignments(
    moves: readonly { topic: string; partition: number; replicas: number[] | null }[],
    ignore: ReadonlySet<number> = new Set(),
  ): Promise<void> {
    if (moves.length === 0) return;
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const m of moves) {
      const list = byTopic.get(m.topic) ?? [];
      list.push({ partitionIndex: m.partition, replicas: m.replicas });
      byTopic.set(m.topic, list);
    }
    const response = await this.#wire.any(
      API.alterReassignments,
      this.#wire.timeoutMs,
      true,
      [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    );
    check(response.errorCode, response.errorMessage, "AlterPartitionReassignments");
    for (const topic of response.responses) {
      for (const p of topic.partitions) {
        if (ignore.has(p.errorCode)) continue;
        check(
          p.errorCode,
          p.errorMessage,
          "AlterPartitionReassignments",
          `${topic.name}-${p.partitionIndex}`,
        );
      }
    }
  }

  async #alterConfigs(
    resourceType: typeof ConfigResourceTypes.BROKER | typeof ConfigResourceTypes.TOPIC,
    resourceName: string,
    set: Record<string, string>,
    remove: string[],
    brokerId: NodeId | undefined,
    validateOnly = false,
  ): Promise<void> {
    const configs = [
      ...Object.entries(set).map(([name, value]) => ({
        name,
        configOperation: IncrementalAlterConfigOperationTypes.SET,
        value,
      })),
      ...remove.map((name) => ({
        name,
        configOperation: IncrementalAlterConfigOperationTypes.DELETE,
      })),
    ];
    if (configs.length === 0) return;
    const resources = [{ resourceType, resourceName, configs }];
    // A broker's own dynamic configs are validated by that broker before it forwards them.
    const response =
      brokerId === undefined
        ? await this.#wire.any(API.incrementalAlterConfigs, resources, validateOnly)
        : await this.#wire.broker(brokerId, API.incrementalAlterConfigs, resources, validateOnly);
    const kind = resourceType === ConfigResourceTypes.BROKER ? "broker" : "topic";
    for (const r of response.responses) {
      const resource =
        kind === "broker"
          ? r.resourceName === ""
            ? "cluster-wide broker defaults"
            : `broker ${r.resourceName}`
          : `topic ${JSON.stringify(r.resourceName)}`;
      check(r.errorCode, r.errorMessage, "IncrementalAlterConfigs", resource);
    }
  }
}
