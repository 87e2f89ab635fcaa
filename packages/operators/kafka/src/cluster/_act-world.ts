/**
 * A fake world for act-layer tests of the KafkaCluster pipeline: an API
 * server that keeps objects in maps and records every write in order, and a
 * Kafka that answers `observe()` from plain data and carries out
 * reassignments when told. The pipeline under test is the real one
 * (`reconcileCluster`); only its two ports are fake, so a test can hold a
 * restarted broker out of its ISRs and see what the roll does meanwhile.
 */
import {
  type ControllerContext,
  createLogger,
  KubeApiError,
  type KubeClient,
  type KubeObject,
} from "@ballast/runtime";
import type { PodLike } from "@ballast/stateful";
import type { KafkaCluster } from "../api.ts";
import type { KafkaObservation, NodeId, PartitionState } from "../plan/state.ts";
import { labels } from "../resources.ts";
import type { AdminPool, KafkaAdminPort, PartitionMove } from "./admin-pool.ts";
import { reconcileCluster } from "./controller.ts";
import { ClusterScope } from "./scope.ts";

export type Call =
  | { verb: "applyStatus"; operation: unknown }
  | { verb: "create" | "delete" | "apply"; kind: string; name: string }
  | { verb: "reassign"; moves: readonly PartitionMove[] }
  | { verb: "unregister"; id: NodeId };

function apiError(code: number, reason: string, kind: string, name: string): KubeApiError {
  return new KubeApiError({ code, reason, message: `${kind} ${name}: ${reason}` }, code, {
    kind,
    name,
  });
}

export class OperatorKilled extends Error {
  override name = "OperatorKilled";
}

export class FakeKubernetes {
  readonly objects = new Map<string, KubeObject & Record<string, unknown>>();
  readonly calls: Call[] = [];
  /** The operator dies just before the next write this matches (once). */
  killBefore: ((call: Call) => boolean) | undefined;
  #uid = 0;

  /** Records `call`, unless the operator is to die right before it. */
  #write(call: Call): void {
    if (this.killBefore?.(call)) {
      this.killBefore = undefined;
      throw new OperatorKilled(`killed before ${JSON.stringify(call).slice(0, 120)}`);
    }
    this.calls.push(call);
  }

  #key(kind: string, name: string): string {
    return `${kind}/${name}`;
  }

  get(kind: string, name: string) {
    return this.objects.get(this.#key(kind, name));
  }

  of(kind: string) {
    return [...this.objects.values()].filter((o) => o.kind === kind);
  }

  put(object: KubeObject & Record<string, unknown>): void {
    this.objects.set(this.#key(object.kind ?? "", object.metadata.name ?? ""), object);
  }

  /** What the pipeline's client may call; anything else fails the test. */
  client(): KubeClient {
    const world = this;
    const fake = {
      async get(_type: unknown, ref: { name: string }) {
        const c = world.get("KafkaCluster", ref.name);
        if (!c) throw apiError(404, "NotFound", "KafkaCluster", ref.name);
        return structuredClone(c);
      },
      async create(object: KubeObject & Record<string, unknown>) {
        const name = object.metadata.name ?? "";
        if (world.get(object.kind ?? "", name))
          throw apiError(409, "AlreadyExists", object.kind ?? "", name);
        world.#write({ verb: "create", kind: object.kind ?? "", name });
        const stored = structuredClone(object);
        stored.metadata.uid = `uid-${++world.#uid}`;
        world.put(stored);
        return stored;
      },
      async apply(object: KubeObject & Record<string, unknown>) {
        world.#write({ verb: "apply", kind: object.kind ?? "", name: object.metadata.name ?? "" });
        world.put(structuredClone(object));
        return object;
      },
      async applyStatus(object: { status: { operation?: unknown } } & KubeObject) {
        world.#write({ verb: "applyStatus", operation: structuredClone(object.status.operation) });
        const c = world.get("KafkaCluster", object.metadata.name ?? "");
        if (c) c.status = structuredClone(object.status);
        return object;
      },
      async delete(
        type: { kind: string },
        ref: { name: string },
        options: { preconditions?: { uid?: string } } = {},
      ) {
        const held = world.get(type.kind, ref.name);
        if (!held) throw apiError(404, "NotFound", type.kind, ref.name);
        if (options.preconditions?.uid && held.metadata.uid !== options.preconditions.uid)
          throw apiError(409, "Conflict", type.kind, ref.name);
        world.#write({ verb: "delete", kind: type.kind, name: ref.name });
        world.objects.delete(world.#key(type.kind, ref.name));
        return {};
      },
      async patch(
        type: { kind: string },
        ref: { name: string },
        body: { metadata?: { annotations?: Record<string, string> } },
      ) {
        const held = world.get(type.kind, ref.name);
        if (!held) throw apiError(404, "NotFound", type.kind, ref.name);
        held.metadata.annotations = { ...held.metadata.annotations, ...body.metadata?.annotations };
        return held;
      },
      async patchStatus(
        type: { kind: string },
        ref: { name: string },
        body: { status: { conditions: { type: string; status: string }[] } },
      ) {
        const held = world.get(type.kind, ref.name) as PodLike | undefined;
        if (!held) throw apiError(404, "NotFound", type.kind, ref.name);
        const others = (held.status?.conditions ?? []).filter(
          (c) => !body.status.conditions.some((n) => n.type === c.type),
        );
        held.status = { ...held.status, conditions: [...others, ...body.status.conditions] };
        return held;
      },
    };
    return fake as unknown as KubeClient;
  }

  /** The kubelet's part: every pod without a status starts, Ready, with an IP. */
  startPods(except: readonly NodeId[] = []): void {
    for (const pod of this.of("Pod") as PodLike[]) {
      const id = Number(pod.metadata.labels?.[labels.nodeId]);
      if (except.includes(id) || pod.status?.podIP) continue;
      pod.status = {
        podIP: `10.0.0.${id}`,
        conditions: [
          { type: "ContainersReady", status: "True" },
          { type: "Ready", status: "True" },
        ],
      };
    }
  }

  /** Pod deletions, in order, by name. */
  deletedPods(): string[] {
    return this.calls.flatMap((c) => (c.verb === "delete" && c.kind === "Pod" ? [c.name] : []));
  }
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
  readonly world: FakeKubernetes;
  readOnlyKeys = new Set(["log.retention.hours", "num.network.threads"]);

  constructor(world: FakeKubernetes, brokers: NodeId[], partitions: PartitionState[]) {
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
  async brokerConfig() {
    const entries = new Map<string, { value: string | null; readOnly: boolean; source: string }>();
    for (const key of [
      "min.insync.replicas",
      "log.retention.hours",
      "log.retention.bytes",
      "num.network.threads",
    ])
      entries.set(key, {
        value: null,
        readOnly: this.readOnlyKeys.has(key),
        source: "DEFAULT_CONFIG",
      });
    return entries;
  }
  async alterBrokerConfig() {}
  async reassign(moves: readonly PartitionMove[]) {
    this.world.calls.push({ verb: "reassign", moves });
    this.#inFlight.push(...moves);
  }
  async setThrottle() {
    return undefined;
  }
  async clearThrottle() {}
  async unregisterBroker(id: NodeId) {
    this.world.calls.push({ verb: "unregister", id });
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
export async function reconcileOnce(world: FakeKubernetes, kafka: FakeKafka, name = "k") {
  const client = world.client();
  const live = world.get("KafkaCluster", name) as KafkaCluster | undefined;
  if (!live) throw new Error(`no KafkaCluster ${name}`);
  const ctx: ControllerContext<KafkaCluster> = {
    object: live,
    client,
    signal: new AbortController().signal,
    log: createLogger({ level: "error" }),
    owned: <U extends KubeObject>(type: { kind: string }) =>
      structuredClone(world.of(type.kind)) as unknown as U[],
  };
  const admins = { get: () => kafka, reset: async () => {} } as unknown as AdminPool;
  const scope = new ClusterScope(structuredClone(live), ctx, { admins, busyRequeueMs: 1 });
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
