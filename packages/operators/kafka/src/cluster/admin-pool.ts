/**
 * One Kafka admin connection per KafkaCluster, reused across reconciles
 * and replaced when the brokers it was bootstrapped from are gone (pods get
 * new IPs when they restart).
 */
import type { KafkaObservation, NodeId } from "../plan/state.ts";
import type { ConfigType } from "../plan/validate.ts";

/** What the cluster controller asks of Kafka; `KafkaAdmin` implements it. */
export interface ClusterAdmin {
  observe(): Promise<KafkaObservation>;
  brokerConfig(
    id: NodeId,
  ): Promise<
    Map<string, { value: string | null; readOnly: boolean; source: string; type?: ConfigType }>
  >;
  alterBrokerConfig(id: NodeId | "", set: Record<string, string>, remove: string[]): Promise<void>;
  /** Asks broker `id` whether it would accept `set` (IncrementalAlterConfigs validateOnly); raises with Kafka's reason if not. */
  validateBrokerConfig(id: NodeId, set: Record<string, string>): Promise<void>;
  reassign(moves: readonly PartitionMove[]): Promise<void>;
  /** Throttles the replication the moves cause (rate per broker, each direction). */
  setThrottle(moves: readonly PartitionMove[], bytesPerSecond: number): Promise<unknown>;
  clearThrottle(targets: { brokers: readonly NodeId[]; topics: readonly string[] }): Promise<void>;
  unregisterBroker(id: NodeId): Promise<void>;
  close(): Promise<void> | void;
}

/** A partition's target replica set, the preferred leader first. */
export interface PartitionMove {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly NodeId[];
}

/** What the topic controller asks of Kafka; `KafkaAdmin` implements it. */
export interface TopicAdmin {
  describeTopic(
    name: string,
  ): Promise<
    { partitions: number; replicationFactor: number; config: Record<string, string> } | undefined
  >;
  createTopic(topic: {
    name: string;
    partitions: number;
    replicationFactor: number;
    config: Record<string, string>;
  }): Promise<void>;
  createPartitions(name: string, total: number): Promise<void>;
  alterTopicConfig(name: string, set: Record<string, string>, remove: string[]): Promise<void>;
  deleteTopic(name: string): Promise<void>;
}

/** One connection serves both controllers; `KafkaAdmin` is both. */
export type KafkaAdminPort = ClusterAdmin & TopicAdmin;

export type AdminFactory = (bootstrap: string[]) => KafkaAdminPort;

export class AdminPool {
  readonly #factory: AdminFactory;
  readonly #admins = new Map<string, { bootstrap: string[]; admin: KafkaAdminPort }>();

  constructor(factory: AdminFactory) {
    this.#factory = factory;
  }

  /** An admin for `key`, re-created when none of its bootstrap addresses is still offered. */
  get(key: string, bootstrap: string[]): KafkaAdminPort {
    const held = this.#admins.get(key);
    if (held?.bootstrap.some((b) => bootstrap.includes(b))) return held.admin;
    if (held) void Promise.resolve(held.admin.close()).catch(() => {});
    const admin = this.#factory(bootstrap);
    this.#admins.set(key, { bootstrap, admin });
    return admin;
  }

  /** Drops the admin of `key` (after an error, so the next reconcile reconnects). */
  async reset(key: string): Promise<void> {
    const held = this.#admins.get(key);
    this.#admins.delete(key);
    if (held) await Promise.resolve(held.admin.close()).catch(() => {});
  }

  async closeAll(): Promise<void> {
    const all = [...this.#admins.keys()];
    await Promise.all(all.map((k) => this.reset(k)));
  }
}
