/**
 * The KafkaTopic controller: the topic exists in its cluster with the
 * partitions and configuration the spec gives, and goes with its
 * KafkaTopic (a finalizer deletes it in Kafka first).
 *
 * Partitions only grow: a spec asking for fewer than Kafka has is refused
 * in a condition and nothing changes. Configuration keys the spec no longer
 * names are reset to the cluster default, but only those the operator set
 * (recorded in an annotation): keys set by hand outside Ballast are left.
 *
 * A change Kafka refuses (more replicas than brokers, an invalid config) is
 * `Ready=False, TopicRejected` with Kafka's error code and message and what
 * to fix (refusal.ts), and is asked again only slowly or when the spec
 * changes; a transient failure is said the same way and retried with backoff.
 */
import {
  Action,
  type ConditionUpdate,
  type ControllerContext,
  type ControllerOptions,
  controller,
  type EventRecorder,
  finalize,
  isNotFound,
  type KubeClient,
  setCondition,
  statusEqual,
} from "@ballast/runtime";
import { type PodLike, podReady } from "@ballast/stateful";
import { KafkaCluster, KafkaTopic } from "../api.ts";
import type { AdminPool, TopicAdmin } from "../cluster/admin-pool.ts";
import { labels, selectorLabels } from "../resources.ts";
import { refusedRetryMs, type TopicShape, topicRefusal } from "./refusal.ts";

export const topicFinalizer = "kafka.ballast.dev/topic";

export interface TopicControllerDeps {
  /** Admins keyed like the cluster controller's ("namespace/cluster"). */
  admins: AdminPool;
  events?: EventRecorder;
}

const managedKeys = "kafka.ballast.dev/managed-config";

export function kafkaTopicController(
  client: KubeClient,
  deps: TopicControllerDeps,
  options: ControllerOptions = {},
) {
  return controller(client, KafkaTopic)
    .withOptions({ name: "kafkatopic", resyncPeriodMs: 300_000, ...options })
    .build(async (_ref, ctx) => {
      const topic = ctx.object;
      if (!topic) return Action.done();
      return finalize(ctx.client, topic, topicFinalizer, {
        apply: (live) => ensureTopic(live, ctx, deps),
        cleanup: (live) => removeTopic(live, ctx, deps),
      });
    });
}

function topicName(t: KafkaTopic): string {
  return t.spec.topicName ?? t.metadata.name ?? "";
}

/** A topic's cluster, reachable or not (and why not). */
type Reachable =
  | { kind: "ok"; admin: TopicAdmin }
  | { kind: "no-cluster"; message: string }
  | { kind: "no-broker"; message: string };

async function adminFor(
  t: KafkaTopic,
  ctx: ControllerContext<KafkaTopic>,
  deps: TopicControllerDeps,
): Promise<Reachable> {
  const namespace = t.metadata.namespace ?? "default";
  let cluster: KafkaCluster;
  try {
    cluster = await ctx.client.get<KafkaCluster>(
      KafkaCluster,
      { namespace, name: t.spec.cluster },
      { signal: ctx.signal },
    );
  } catch (err) {
    if (isNotFound(err)) {
      const message = `KafkaCluster ${t.spec.cluster} does not exist in namespace ${namespace}`;
      return { kind: "no-cluster", message };
    }
    throw err;
  }
  const selector = Object.entries({
    ...selectorLabels({ metadata: { name: t.spec.cluster } } as KafkaCluster),
    [labels.broker]: "true",
  })
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const pods = await ctx.client.list<PodLike>(
    { apiVersion: "v1", kind: "Pod" },
    { namespace, labelSelector: selector, signal: ctx.signal },
  );
  const port = cluster.spec.clientPort;
  const bootstrap = pods.items
    .filter((p) => podReady(p) && p.status?.podIP)
    .map((p) => `${p.status?.podIP}:${port}`)
    .sort();
  if (bootstrap.length === 0)
    return { kind: "no-broker", message: `KafkaCluster ${t.spec.cluster} has no ready broker yet` };
  return { kind: "ok", admin: deps.admins.get(`${namespace}/${t.spec.cluster}`, bootstrap) };
}

async function ensureTopic(
  t: KafkaTopic,
  ctx: ControllerContext<KafkaTopic>,
  deps: TopicControllerDeps,
): Promise<Action> {
  const reach = await adminFor(t, ctx, deps);
  if (reach.kind !== "ok") {
    await writeStatus(t, ctx, {
      ready: { status: "False", reason: "ClusterUnavailable", message: reach.message },
    });
    return Action.requeueAfter(5000);
  }
  const { admin } = reach;
  const name = topicName(t);
  const desired: Record<string, string> = {};
  for (const [k, v] of Object.entries(t.spec.config ?? {})) desired[k] = String(v);

  const existing = await admin.describeTopic(name);
  if (!existing) {
    try {
      await admin.createTopic({
        name,
        partitions: t.spec.partitions,
        replicationFactor: t.spec.replicas,
        config: desired,
      });
    } catch (err) {
      // Created a moment ago and not yet in the metadata we described: look again shortly.
      if ((err as { codeName?: string }).codeName === "TOPIC_ALREADY_EXISTS")
        return Action.requeueAfter(1000);
      return refused(t, ctx, deps, err, "create");
    }
    deps.events?.event(t, {
      type: "Normal",
      reason: "Created",
      action: "CreateTopic",
      note: `topic ${name}: ${t.spec.partitions} partition(s), replication factor ${t.spec.replicas}`,
    });
    await recordManagedKeys(t, ctx, Object.keys(desired));
    await writeStatus(t, ctx, {
      partitions: t.spec.partitions,
      ready: { status: "True", reason: "Created", message: `topic ${name} exists` },
    });
    return Action.done();
  }

  if (existing.replicationFactor !== t.spec.replicas) {
    const message = `topic ${name} has replication factor ${existing.replicationFactor} in Kafka but spec.replicas is ${t.spec.replicas}; set spec.replicas to ${existing.replicationFactor}`;
    await writeStatus(t, ctx, {
      partitions: existing.partitions,
      ready: { status: "False", reason: "ReplicationFactorMismatch", message },
    });
    return Action.done();
  }
  if (t.spec.partitions < existing.partitions) {
    const message = `spec.partitions=${t.spec.partitions} is below the ${existing.partitions} partitions topic ${name} has: Kafka cannot remove partitions; set spec.partitions to at least ${existing.partitions}`;
    deps.events?.event(t, {
      type: "Warning",
      reason: "PartitionDecreaseRefused",
      action: "CreatePartitions",
      note: message,
    });
    await writeStatus(t, ctx, {
      partitions: existing.partitions,
      ready: { status: "False", reason: "PartitionDecreaseRefused", message },
    });
    return Action.done();
  }
  if (t.spec.partitions > existing.partitions) {
    try {
      await admin.createPartitions(name, t.spec.partitions);
    } catch (err) {
      return refused(t, ctx, deps, err, "grow", existing.partitions);
    }
    deps.events?.event(t, {
      type: "Normal",
      reason: "PartitionsAdded",
      action: "CreatePartitions",
      note: `topic ${name}: ${existing.partitions} → ${t.spec.partitions} partitions`,
    });
  }

  const previous = managedKeysOf(t);
  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(desired)) if (existing.config[k] !== v) set[k] = v;
  const remove = previous.filter((k) => !(k in desired) && k in existing.config);
  if (Object.keys(set).length > 0 || remove.length > 0) {
    try {
      await admin.alterTopicConfig(name, set, remove);
    } catch (err) {
      return refused(t, ctx, deps, err, "configure", t.spec.partitions);
    }
    deps.events?.event(t, {
      type: "Normal",
      reason: "ConfigUpdated",
      action: "AlterConfigs",
      note: `topic ${name}: ${[...Object.keys(set), ...remove].join(", ")}`,
    });
  }
  await recordManagedKeys(t, ctx, Object.keys(desired));
  await writeStatus(t, ctx, {
    partitions: t.spec.partitions,
    ready: { status: "True", reason: "InSync", message: `topic ${name} matches the spec` },
  });
  return Action.done();
}

/**
 * Says in `Ready` why Kafka did not take the change. One that needs the
 * user is asked again slowly (a spec change reconciles at once); a
 * transient one is thrown for the work queue's backoff.
 */
async function refused(
  t: KafkaTopic,
  ctx: ControllerContext<KafkaTopic>,
  deps: TopicControllerDeps,
  err: unknown,
  verb: "create" | "grow" | "configure",
  partitions?: number,
): Promise<Action> {
  const shape: TopicShape = {
    name: topicName(t),
    partitions: t.spec.partitions,
    replicas: t.spec.replicas,
  };
  const refusal = topicRefusal(err, verb, shape);
  const changed =
    t.status?.conditions?.find((c) => c.type === "Ready")?.message !== refusal.message;
  if (refusal.needsChange && changed)
    deps.events?.event(t, {
      type: "Warning",
      reason: refusal.reason,
      action:
        verb === "create" ? "CreateTopic" : verb === "grow" ? "CreatePartitions" : "AlterConfigs",
      note: refusal.message,
    });
  await writeStatus(t, ctx, {
    ...(partitions === undefined ? {} : { partitions }),
    ready: { status: "False", reason: refusal.reason, message: refusal.message },
  });
  if (!refusal.needsChange) throw err;
  return Action.requeueAfter(refusedRetryMs);
}

async function removeTopic(
  t: KafkaTopic,
  ctx: ControllerContext<KafkaTopic>,
  deps: TopicControllerDeps,
): Promise<Action> {
  const reach = await adminFor(t, ctx, deps);
  // The cluster itself is gone: so is the topic.
  if (reach.kind === "no-cluster") return Action.done();
  if (reach.kind === "no-broker") {
    await writeStatus(t, ctx, {
      ready: { status: "False", reason: "DeletePending", message: reach.message },
    });
    return Action.requeueAfter(5000);
  }
  const { admin } = reach;
  const name = topicName(t);
  if (await admin.describeTopic(name)) await admin.deleteTopic(name);
  deps.events?.event(t, {
    type: "Normal",
    reason: "Deleted",
    action: "DeleteTopic",
    note: `topic ${name}`,
  });
  return Action.done();
}

function managedKeysOf(t: KafkaTopic): string[] {
  const text = t.metadata.annotations?.[managedKeys];
  return text ? text.split(",").filter(Boolean) : [];
}

async function recordManagedKeys(
  t: KafkaTopic,
  ctx: ControllerContext<KafkaTopic>,
  keys: string[],
): Promise<void> {
  const value = [...keys].sort().join(",");
  if ((t.metadata.annotations?.[managedKeys] ?? "") === value) return;
  await ctx.client.patch(
    KafkaTopic,
    { namespace: t.metadata.namespace ?? "default", name: t.metadata.name ?? "" },
    { metadata: { annotations: { [managedKeys]: value } } },
    { type: "merge", signal: ctx.signal },
  );
}

async function writeStatus(
  t: KafkaTopic,
  ctx: ControllerContext<KafkaTopic>,
  update: {
    partitions?: number;
    ready: Pick<ConditionUpdate, "status" | "reason" | "message">;
  },
): Promise<void> {
  const generation = t.metadata.generation;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  const partitions = update.partitions ?? t.status?.partitions;
  const status = {
    ...gen,
    topicName: topicName(t),
    // Kept while Kafka is not asked (cluster unavailable): it marks the topic as existing,
    // which is what makes spec.replicas immutable at admission.
    ...(partitions !== undefined ? { partitions } : {}),
    conditions: setCondition(
      t.status?.conditions,
      { type: "Ready", ...update.ready, ...gen },
      new Date(),
    ),
  };
  if (statusEqual(t.status, status)) return;
  await ctx.client.applyStatus(
    {
      apiVersion: KafkaTopic.apiVersion,
      kind: KafkaTopic.kind,
      metadata: { name: t.metadata.name ?? "", namespace: t.metadata.namespace ?? "default" },
      status,
    },
    { force: true, signal: ctx.signal },
  );
}
