/**
 * Act-layer tests of the KafkaCluster pipeline: the real `reconcileCluster`
 * with its two ports faked (the API server, and Kafka's admin API), driven
 * reconcile by reconcile. Every reconcile builds a new scope from what the
 * fake API server (`@ballast/stateful/testing`) holds, as a restarted
 * operator would; `killBefore` kills the operator in the middle of one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Action, KubeApiError } from "@ballast/runtime";
import { type Operation, type PodLike, rejectedRetryMs } from "@ballast/stateful";
import type { KubeWrite, Stored } from "@ballast/stateful/testing";
import type { KafkaCluster } from "../api.ts";
import { planReassignment } from "../plan/reassign.ts";
import type { NodeId, PartitionState } from "../plan/state.ts";
import {
  FakeKafka,
  type KafkaCall,
  type KafkaWorld,
  kafkaClusterObject,
  kafkaWorld,
  partitionsOver,
  reconcileOnce,
} from "./_act-world.ts";

interface Run {
  world: KafkaWorld;
  kafka: FakeKafka;
  cluster(): KafkaCluster;
  operation(): Operation | undefined;
  /** Reconciles (starting pods and brokers as a kubelet and Kafka would) until `done` or `max` reconciles. */
  until(done: () => boolean, max?: number, between?: () => void): Promise<number>;
}

async function readyCluster(
  spec: Partial<KafkaCluster["spec"]> = {},
  racks?: Record<NodeId, string>,
): Promise<Run> {
  const world = kafkaWorld();
  world.put(kafkaClusterObject(spec));
  const brokers = Array.from({ length: spec.brokers ?? 3 }, (_, i) => i);
  const kafka = new FakeKafka(world, brokers, partitionsOver(12, [0, 1, 2]));
  if (racks) kafka.racks = new Map(Object.entries(racks).map(([id, r]) => [Number(id), r]));
  const run: Run = {
    world,
    kafka,
    cluster: () => world.get("KafkaCluster", "k") as KafkaCluster,
    operation: () => run.cluster().status?.operation,
    until: (done, max = 60, between = () => {}) =>
      world.reconcileUntil(done, () => reconcileOnce(world, kafka), {
        max,
        between,
        describe: () => `operation: ${JSON.stringify(run.operation())}`,
      }),
  };
  await run.until(() => {
    const c = run.cluster();
    const ready = c.status?.conditions?.find((x) => x.type === "Ready")?.status === "True";
    return ready && !c.status?.operation;
  });
  world.calls.length = 0;
  return run;
}

function changeSpec(run: Run, spec: Partial<KafkaCluster["spec"]>): void {
  const c = run.cluster();
  c.spec = { ...c.spec, ...spec };
  c.metadata.generation = (c.metadata.generation ?? 1) + 1;
}

/** The operation recorded by the last status write before each pod deletion. */
function recordedBeforeDeletes(
  calls: readonly (KubeWrite | KafkaCall)[],
): { pod: string; current: unknown }[] {
  const out: { pod: string; current: unknown }[] = [];
  let last: Operation | undefined;
  for (const call of calls) {
    if (call.verb === "applyStatus") last = call.operation;
    if (call.verb === "delete" && call.kind === "Pod")
      out.push({ pod: call.name, current: last?.type === "Roll" ? last.current : undefined });
  }
  return out;
}

test("a roll records each broker as current before deleting its pod, active controller last", async () => {
  const run = await readyCluster();
  changeSpec(run, { config: { "log.retention.hours": 100 } });
  await run.until(() => run.world.deleted("Pod").length === 3 && !run.operation(), 80);
  assert.deepEqual(run.world.deleted("Pod"), ["Pod/k-1", "Pod/k-2", "Pod/k-0"]);
  assert.deepEqual(recordedBeforeDeletes(run.world.calls), [
    { pod: "k-1", current: 1 },
    { pod: "k-2", current: 2 },
    { pod: "k-0", current: 0 },
  ]);
});

test("a roll restarts nothing while the broker restarted last is out of an ISR, and says so", async () => {
  const run = await readyCluster();
  changeSpec(run, { config: { "log.retention.hours": 100 } });
  await run.until(() => run.world.deleted("Pod").length === 1);
  // Broker 1 is back (its new pod is Ready, it is registered) but still replicating.
  run.kafka.lagging.add(1);
  for (let i = 0; i < 5; i++) {
    await reconcileOnce(run.world, run.kafka);
    run.world.startPods();
  }
  assert.deepEqual(run.world.deleted("Pod"), ["Pod/k-1"], "no second broker went down");
  const op = run.operation();
  assert.equal(op?.type, "Roll");
  assert.match(
    op?.waitingFor ?? "",
    /broker 1 was restarted and is not yet back in the ISR of \d+ partitions \(e\.g\. t-\d+\)/,
  );
  run.kafka.lagging.delete(1);
  await run.until(() => run.world.deleted("Pod").length === 2);
  assert.deepEqual(run.world.deleted("Pod"), ["Pod/k-1", "Pod/k-2"]);
});

test("a roll whose operator died between the status write and the delete deletes that pod, and only it", async () => {
  const run = await readyCluster();
  changeSpec(run, { config: { "log.retention.hours": 100 } });
  run.world.killBefore = (call) => call.verb === "delete" && call.kind === "Pod";
  await run.until(() => {
    const op = run.operation();
    return op?.type === "Roll" && op.current !== undefined;
  });
  assert.deepEqual(run.world.deleted("Pod"), [], "the kill came before the delete");
  const recorded = run.operation();
  await run.until(() => run.world.deleted("Pod").length === 1);
  assert.deepEqual(run.world.deleted("Pod"), [
    `Pod/k-${recorded?.type === "Roll" ? recorded.current : "?"}`,
  ]);
});

/** Partitions of the plan whose replicas share a rack. */
function rackCollisions(
  replicaSets: readonly (readonly NodeId[])[],
  racks: Map<NodeId, string>,
): number {
  return replicaSets.filter((r) => new Set(r.map((id) => racks.get(id))).size < r.length).length;
}

test("scale 3 → 6 over three racks puts no two replicas of a partition on one rack", async () => {
  const racks = { 0: "a", 1: "b", 2: "c", 3: "a", 4: "b", 5: "c" };
  const run = await readyCluster({ rack: { topologyKey: "topology.kubernetes.io/zone" } }, racks);
  // The test is sensitive: without racks, the plan for this cluster crowds a rack.
  const start: PartitionState[] = run.kafka.partitions.map((p) => ({ ...p }));
  const unaware = planReassignment(start, [0, 1, 2, 3, 4, 5]);
  const after = start.map(
    (p) => unaware.find((m) => m.partition === p.partition)?.to ?? p.replicas,
  );
  assert.ok(
    rackCollisions(after, new Map(Object.entries(racks).map(([k, v]) => [Number(k), v]))) > 0,
  );

  changeSpec(run, { brokers: 6 });
  run.kafka.liveBrokers = new Set([0, 1, 2, 3, 4, 5]);
  await run.until(() => !run.operation() && run.world.calls.some((c) => c.verb === "reassign"));
  const moved = run.world.calls.flatMap((c) => (c.verb === "reassign" ? c.moves : []));
  assert.ok(moved.length > 0);
  const final = run.kafka.partitions.map((p) => p.replicas);
  assert.equal(
    rackCollisions(final, new Map(Object.entries(racks).map(([k, v]) => [Number(k), v]))),
    0,
  );
  assert.ok(
    final.flat().some((id) => id >= 3),
    "the new brokers took replicas",
  );
});

test("scale 4 → 3 drains broker 3, then stops it, unregisters it and deletes its volume, in that order", async () => {
  const run = await readyCluster({ brokers: 4 });
  run.kafka.partitions = partitionsOver(12, [0, 1, 2, 3]);
  changeSpec(run, { brokers: 3 });
  // The operator dies before three of its writes; every reconcile starts from status anyway.
  let kills = 0;
  const kill = () => {
    if (kills >= 3 || run.world.killBefore) return;
    run.world.killBefore = (c) => {
      const dies = c.verb === "delete" || c.verb === "applyStatus";
      if (dies) kills++;
      return dies;
    };
  };
  await run.until(() => !run.cluster().status?.nodes?.some((n) => n.id === 3), 120, kill);
  const order = run.world.calls.flatMap((c): string[] => {
    if (c.verb === "reassign") return ["reassign"];
    if (c.verb === "delete") return [`delete ${c.kind}/${c.name}`];
    if (c.verb === "unregister") return [`unregister ${c.id}`];
    return [];
  });
  const first = (s: string) => order.indexOf(s);
  assert.ok(first("reassign") >= 0, order.join(", "));
  assert.ok(first("reassign") < first("delete Pod/k-3"));
  assert.ok(first("delete Pod/k-3") < first("unregister 3"));
  assert.ok(first("unregister 3") < first("delete PersistentVolumeClaim/data-k-3"));
  assert.ok(
    run.kafka.partitions.every((p) => !p.replicas.includes(3)),
    "no replica left on 3",
  );
  assert.equal(run.operation(), undefined);
  assert.ok(kills >= 3, "the operator was killed mid-way");
});

test("a topic the scale-down's first look missed calls the removal off before anything stops; the refusal then names it", async () => {
  const run = await readyCluster({ brokers: 4 });
  run.kafka.partitions = partitionsOver(12, [0, 1, 2, 3]);
  changeSpec(run, { brokers: 3 });
  // The first reconcile reads metadata from a broker that has not yet heard of topic "wide".
  await reconcileOnce(run.world, run.kafka);
  assert.deepEqual(
    run
      .cluster()
      .status?.nodes?.filter((n) => n.removing)
      .map((n) => n.id),
    [3],
    "the removal was recorded",
  );
  run.kafka.partitions.push({
    topic: "wide",
    partition: 0,
    replicas: [0, 1, 2, 3],
    isr: [0, 1, 2, 3],
    leader: 0,
  });
  await run.until(() => conditionOf(run, "Degraded")?.reason === "ScaleDownRefused", 20);
  assert.match(conditionOf(run, "Degraded")?.message ?? "", /wide \(replication factor 4\)/);
  assert.equal(run.operation(), undefined);
  assert.deepEqual(
    run.cluster().status?.nodes?.map((n) => [n.id, n.removing ?? false]),
    [
      [0, false],
      [1, false],
      [2, false],
      [3, false],
    ],
  );
  const stopped = run.world.calls.filter((c) => c.verb === "delete" || c.verb === "unregister");
  assert.deepEqual(stopped, [], "no pod, volume or broker was removed");
  const wide = run.kafka.partitions.find((p) => p.topic === "wide");
  assert.deepEqual(wide?.replicas, [0, 1, 2, 3], "wide keeps every replica");
});

function conditionOf(run: Run, type: string) {
  return run.cluster().status?.conditions?.find((c) => c.type === type);
}

/** Writes that would change what a broker runs: pods created or deleted, the ConfigMap applied. */
function touches(calls: readonly (KubeWrite | KafkaCall)[]): string[] {
  return calls.flatMap((c) =>
    (c.verb === "create" || c.verb === "delete" || c.verb === "apply") &&
    (c.kind === "Pod" || c.kind === "ConfigMap")
      ? [`${c.verb} ${c.kind}/${c.name}`]
      : [],
  );
}

test("a config value Kafka would not take is Degraded InvalidConfig with key, value and reason; no pod, ConfigMap or dynamic config is touched until it is fixed", async () => {
  const run = await readyCluster();
  run.kafka.refuses.set("log.cleaner.backoff.ms", (v) =>
    Number(v) < 0
      ? `Invalid value ${v} for configuration log.cleaner.backoff.ms: Value must be at least 0`
      : undefined,
  );
  changeSpec(run, {
    config: {
      "log.retention.hours": "a week",
      "min.insync.replicas": 7,
      "log.cleaner.backoff.ms": -5,
    },
  });
  for (let i = 0; i < 6; i++) {
    await reconcileOnce(run.world, run.kafka);
    run.world.startPods();
  }
  assert.deepEqual(touches(run.world.calls), []);
  assert.deepEqual(run.kafka.altered, [], "no dynamic update was sent");
  assert.equal(run.operation(), undefined, "no roll started");
  const degraded = conditionOf(run, "Degraded");
  assert.equal(degraded?.status, "True");
  assert.equal(degraded?.reason, "InvalidConfig");
  assert.equal(
    degraded?.message,
    'spec.config log.cleaner.backoff.ms="-5" is refused by Kafka: Invalid value -5 for configuration log.cleaner.backoff.ms: Value must be at least 0; ' +
      'spec.config log.retention.hours="a week" is not a number of type int; ' +
      'spec.config min.insync.replicas="7" exceeds the 3 broker(s) of spec.brokers: every acks=all write would be refused; ' +
      "nothing is changed until it is fixed",
  );
  assert.equal(conditionOf(run, "Ready")?.status, "True", "the running brokers still serve");

  changeSpec(run, { config: { "log.cleaner.backoff.ms": 20000 } });
  await run.until(
    () => conditionOf(run, "Degraded")?.status === "False" && run.kafka.altered.length === 3,
  );
  assert.deepEqual(run.world.deleted("Pod"), [], "the fixed, dynamic value needed no restart");
});

test("a new cluster whose min ISR exceeds its brokers creates no pod and says why", async () => {
  const world = kafkaWorld();
  world.put(kafkaClusterObject({ config: { "min.insync.replicas": 4 } }));
  const kafka = new FakeKafka(world, [], []);
  for (let i = 0; i < 5; i++) await reconcileOnce(world, kafka);
  assert.equal(world.list("Pod").length, 0);
  const c = world.get("KafkaCluster", "k") as KafkaCluster;
  const degraded = c.status?.conditions?.find((x) => x.type === "Degraded");
  assert.equal(degraded?.reason, "InvalidConfig");
  assert.match(degraded?.message ?? "", /min\.insync\.replicas="4" exceeds the 3 broker\(s\)/);
});

test("a pod the API server refuses is Degraded ObjectRejected with the server's message, retried slowly; once accepted the cluster comes up", async () => {
  const world = kafkaWorld();
  world.put(kafkaClusterObject());
  const kafka = new FakeKafka(world, [0, 1, 2], partitionsOver(3, [0, 1, 2]));
  const quota =
    'pods "k-0" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10';
  world.refuse = (verb, kind, name) =>
    verb === "create" && kind === "Pod" && name === "k-0"
      ? new KubeApiError({ code: 403, reason: "Forbidden", message: quota }, 403, { kind, name })
      : undefined;
  let action: unknown;
  for (let i = 0; i < 4; i++) action = await reconcileOnce(world, kafka);
  const c = world.get("KafkaCluster", "k") as KafkaCluster;
  const degraded = c.status?.conditions?.find((x) => x.type === "Degraded");
  assert.equal(degraded?.status, "True");
  assert.equal(degraded?.reason, "ObjectRejected");
  assert.match(degraded?.message ?? "", /refused to create Pod k-0: .*exceeded quota: pods/);
  assert.match(degraded?.message ?? "", /ResourceQuota/);
  assert.deepEqual(
    action,
    Action.requeueAfter(rejectedRetryMs),
    "retried slowly, not in a hot loop",
  );
  world.refuse = undefined;
  const ready = await world.reconcileUntil(
    () =>
      (world.get("KafkaCluster", "k") as KafkaCluster).status?.conditions?.find(
        (x) => x.type === "Ready",
      )?.status === "True",
    () => reconcileOnce(world, kafka),
    { max: 30, describe: () => JSON.stringify(world.get("KafkaCluster", "k")?.status) },
  );
  assert.ok(ready > 0);
  const after = (world.get("KafkaCluster", "k") as KafkaCluster).status?.conditions;
  assert.equal(after?.find((x) => x.type === "Degraded")?.status, "False");
});

const startupFailure =
  "[2026-01-01 12:00:01,000] ERROR Exiting Kafka due to fatal exception (kafka.Kafka$)\n" +
  "org.apache.kafka.common.config.ConfigException: Invalid value 0 for configuration socket.request.max.bytes: Value must be at least 1\n" +
  "\tat kafka.Kafka.main(Kafka.scala)";

/** The kubelet's part for a broker whose config Kafka refuses at startup: its new pod crash-loops. */
function crashLoop(run: Run, id: NodeId, oldUid: string | undefined): void {
  const p = run.world.get("Pod", `k-${id}`) as (PodLike & Stored) | undefined;
  if (!p || p.metadata.uid === oldUid || p.status?.podIP) return;
  p.status = {
    podIP: `10.0.0.${id}`,
    conditions: [{ type: "Ready", status: "False" }],
    containerStatuses: [
      {
        name: "kafka",
        restartCount: 3,
        state: {
          waiting: {
            reason: "CrashLoopBackOff",
            message: "back-off 40s restarting failed container",
          },
        },
        lastState: { terminated: { exitCode: 1, message: startupFailure } },
      } as never,
    ],
  };
}

test("a restarted broker that crash-loops halts the roll with its reason; reverting the spec replaces its pod and the roll completes", async () => {
  const run = await readyCluster();
  const uid1 = run.world.get("Pod", "k-1")?.metadata.uid;
  changeSpec(run, { config: { "socket.request.max.bytes": 0 } });
  await run.until(() => run.world.deleted("Pod").length === 1);
  assert.deepEqual(run.world.deleted("Pod"), ["Pod/k-1"]);
  run.kafka.liveBrokers.delete(1);
  for (let i = 0; i < 8; i++) {
    await reconcileOnce(run.world, run.kafka);
    crashLoop(run, 1, uid1);
    run.world.startPods([1]);
  }
  assert.deepEqual(run.world.deleted("Pod"), ["Pod/k-1"], "no second broker was touched");
  const halted =
    "node 1 did not come back after its restart: container kafka restarted 3 time(s) (CrashLoopBackOff): back-off 40s restarting failed container; " +
    "last exit: org.apache.kafka.common.config.ConfigException: Invalid value 0 for configuration socket.request.max.bytes: Value must be at least 1";
  assert.deepEqual(
    [conditionOf(run, "Degraded")?.reason, conditionOf(run, "Degraded")?.message],
    ["RollHalted", halted],
  );
  assert.deepEqual(
    [conditionOf(run, "Progressing")?.reason, conditionOf(run, "Progressing")?.message],
    ["RollHalted", halted],
  );

  // The user reverts; the broken pod is replaced by one of the reverted spec, which starts.
  changeSpec(run, { config: {} });
  run.kafka.liveBrokers.add(1);
  await run.until(() => !run.operation() && conditionOf(run, "Degraded")?.status === "False");
  assert.deepEqual(run.world.deleted("Pod"), ["Pod/k-1", "Pod/k-1"]);
  assert.equal(conditionOf(run, "Progressing")?.status, "False");
  assert.equal(conditionOf(run, "Ready")?.status, "True");
});
