/**
 * A fake world for act-layer tests of the KafkaCluster pipeline: the shared
 * fake API server (`@ballast/stateful/testing`), and a Kafka that answers
 * `observe()` from plain data and carries out reassignments when told,
 * recording them in the API server's ordered list of calls. The pipeline under test is the real one
 * (`reconcileCluster`); only its two ports are fake, so a test can hold a
 * restarted broker out of its ISRs and see what the roll does meanwhile.
 */
import { FakeKubernetes } from "@ballast/stateful/testing";
import { KafkaAdminError } from "../admin/errors.ts";
import type { KafkaCluster } from "../api.ts";
import type { KafkaObservation, NodeId, PartitionState } from "../plan/state.ts";
import type { ConfigType } from "../plan/validate.ts";
import { labels } from "../resources.ts";
import type { AdminPool, KafkaAdminPort, PartitionMove } from "./admin-pool.ts";
import { reconcileCluster } from "./controller.ts";
import { ClusterScope } from "./scope.ts";

/** What the fake Kafka records beside the API server's writes, in the same list. */
export type KafkaCall =
  | { verb: "reassign"; moves: readonly PartitionMove[] }
  | { verb: "unregister"; id: NodeId };

export type KafkaWorld = FakeKubernetes<KafkaCall>;

/** The shared fake API server, holding KafkaClusters and their pods by node id. */
export function kafkaWorld(): KafkaWorld {
  return new FakeKubernetes<KafkaCall>({ ownerKind: "KafkaCluster", memberLabel: labels.nodeId });
}

/** A Kafka that reports what the test says, and moves partitions at once when asked. */
export class FakeKafka implements KafkaAdminPort {
  partitions: PartitionState[];
  liveBrokers: Set<NodeId>;
  racks = new Map<NodeId, string>();
  /** Brokers kept out of every ISR (a restarted broker still replicating). */
  lagging = new Set<NodeId>();
  /** Reassignments carry out at the next observe unless held. */
  holdReassignments = false;
  #inFlight: PartitionMove[] = [];
  readonly world: KafkaWorld;
  readOnlyKeys = new Set(["log.retention.hours", "num.network.threads"]);

  constructor(world: KafkaWorld, brokers: NodeId[], partitions: PartitionState[]) {
    this.world = world;
    this.liveBrokers = new Set(brokers);
    this.partitions = partitions;
  }

  async observe(): Promise<KafkaObservation> {
    if (!this.holdReassignments) {
      for (const m of this.#inFlight) {
        const p = this.partitions.find((x) => x.topic === m.topic && x.partition === m.partition);
        if (p)
          Object.assign(p, {
            replicas: [...m.replicas],
            isr: [...m.replicas],
            leader: m.replicas[0],
          });
      }
      this.#inFlight = [];
    }
    const isr = (p: PartitionState) =>
      p.isr.filter((id) => !this.lagging.has(id) && this.liveBrokers.has(id));
    return {
      liveBrokers: new Set(this.liveBrokers),
      racks: new Map([...this.racks].filter(([id]) => this.liveBrokers.has(id))),
      partitions: this.partitions.map((p) => ({ ...p, isr: isr(p) })),
      minIsr: new Map(),
      defaultMinIsr: 2,
      quorum: {
        leaderId: 0,
        highWatermark: 10,
        voters: [0, 1, 2].map((id) => ({
          id,
          logEndOffset: 10,
          lastCaughtUpTimestamp: Date.now(),
        })),
      },
      reassignments: this.#inFlight.map((m) => ({ ...m, adding: [], removing: [] })),
      observedAt: Date.now(),
    };
  }
  /** Each key's type, as DescribeConfigs reports it. */
  types = new Map<string, ConfigType>([
    ["min.insync.replicas", "int"],
    ["log.retention.hours", "int"],
    ["log.retention.bytes", "long"],
    ["num.network.threads", "int"],
    ["log.cleaner.backoff.ms", "long"],
  ]);
  /** What validateOnly refuses: key → Kafka's reason. */
  refuses = new Map<string, (value: string) => string | undefined>();
  /** Dynamic configs sent for real (not validateOnly), in order. */
  altered: Record<string, string>[] = [];

  async brokerConfig() {
    const entries = new Map<
      string,
      { value: string | null; readOnly: boolean; source: string; type?: ConfigType }
    >();
    for (const [key, type] of this.types)
      entries.set(key, {
        value: null,
        readOnly: this.readOnlyKeys.has(key),
        source: "DEFAULT_CONFIG",
        type,
      });
    return entries;
  }
  async alterBrokerConfig(_id: NodeId | "", set: Record<string, string>) {
    if (Object.keys(set).length > 0) this.altered.push(set);
  }
  async validateBrokerConfig(id: NodeId, set: Record<string, string>) {
    for (const [key, value] of Object.entries(set)) {
      const reason = this.refuses.get(key)?.(value);
      if (reason)
        throw new KafkaAdminError(
          `IncrementalAlterConfigs failed for broker ${id}: INVALID_CONFIG`,
          {
            call: "IncrementalAlterConfigs",
            code: 40,
            codeName: "INVALID_CONFIG",
            serverMessage: reason,
          },
        );
    }
  }
  async reassign(moves: readonly PartitionMove[]) {
    this.world.record({ verb: "reassign", moves });
    this.#inFlight.push(...moves);
  }
  async setThrottle() {
    return undefined;
  }
  async clearThrottle() {}
  async unregisterBroker(id: NodeId) {
    this.world.record({ verb: "unregister", id });
    this.liveBrokers.delete(id);
  }
  async describeTopic() {
    return undefined;
  }
  async createTopic() {}
  async createPartitions() {}
  async alterTopicConfig() {}
  async deleteTopic() {}
  close() {}
}

/** One reconcile of the real pipeline against the fake world; returns the Action. */
export async function reconcileOnce(world: KafkaWorld, kafka: FakeKafka, name = "k") {
  const ctx = world.controllerContext<KafkaCluster>(name);
  const admins = { get: () => kafka, reset: async () => {} } as unknown as AdminPool;
  const scope = new ClusterScope(structuredClone(ctx.object as KafkaCluster), ctx, {
    admins,
    busyRequeueMs: 1,
  });
  return reconcileCluster(scope);
}

/** A Ready 3-node combined cluster as status and pods record it, for tests to change. */
export function kafkaClusterObject(
  spec: Partial<KafkaCluster["spec"]> = {},
): KafkaCluster & Record<string, unknown> {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "KafkaCluster",
    metadata: { name: "k", namespace: "ns", uid: "cluster-uid", generation: 1 },
    spec: {
      version: "3.9.1",
      brokers: 3,
      controllers: { replicas: 3, mode: "combined" },
      storage: { size: "1Gi" },
      clientPort: 9092,
      ...spec,
    },
  };
}

/** `count` partitions of topic "t", replication factor 3 over brokers 0–2, all in sync. */
export function partitionsOver(count: number, brokers: readonly NodeId[]): PartitionState[] {
  return Array.from({ length: count }, (_, p) => {
    const replicas = [0, 1, 2].map((i) => brokers[(p + i) % brokers.length] ?? 0);
    return { topic: "t", partition: p, replicas, isr: [...replicas], leader: replicas[0] ?? 0 };
  });
}
