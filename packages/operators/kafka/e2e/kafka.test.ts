/**
 * The Kafka operator end to end, on the local cluster with real brokers
 * (Kafka 3.9.1 from its Maven Central jars, one JVM per pod). One cluster
 * goes through the scenarios in order; each operation runs under an acks=all
 * workload whose every acknowledged message must be consumed afterwards, and
 * a monitor that records how many nodes were down at once.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { condition, readTrace, refused, unexercised } from "@ballast/e2e-kit";
import { startWorkload, type WorkloadReport } from "../test-support/workload.ts";
import { clusterManifest, Harness, kafkaRbac, namespace, topicManifest } from "./harness.ts";

const name = "events";
const topic = "orders";
let h: Harness;

function nodeIds(): number[] {
  return lastNodeIds;
}
let lastNodeIds = [0, 1, 2];

async function refreshNodeIds(): Promise<void> {
  const c = await h.kafkaCluster(name);
  lastNodeIds = (c.status?.nodes ?? []).filter((n) => !n.removing).map((n) => n.id);
}

/** Runs `operation` under the workload and the disruption monitor; returns both reports. */
async function underLoad(
  operation: () => Promise<void>,
): Promise<{ workload: WorkloadReport; maxDown: number; samples: number }> {
  const workload = startWorkload({
    bootstrap: () => h.bootstrap(name),
    topic,
    intervalMs: 20,
    // The final re-read of the whole topic is what decides "lost"; the live consumer may lag.
    drainTimeoutMs: 15_000,
  });
  const monitor = h.monitorDisruption(name, nodeIds);
  try {
    // Load before, during and after the operation.
    await workload.waitFor({ acknowledged: 100 }, 120_000);
    const before = workload.progress().acknowledged;
    await operation();
    await workload.waitFor({ acknowledged: before + 100 }, 120_000);
  } finally {
    const disruption = await monitor.stop();
    const report = await workload.stop();
    process.stderr.write(
      `[e2e] acknowledged=${report.acknowledged} failed=${report.failed} lost=${report.lost.length} maxDown=${disruption.maxDown} samples=${disruption.samples} timeline=${JSON.stringify(disruption.timeline.map(([t, d]) => [new Date(t).toISOString().slice(11, 19), d]))}\n`,
    );
    // Checked by the callers, after both are stopped.
    Object.assign(lastRun, { workload: report, ...disruption });
  }
  return {
    workload: lastRun.workload as WorkloadReport,
    maxDown: lastRun.maxDown,
    samples: lastRun.samples,
  };
}
const lastRun: { workload?: WorkloadReport; maxDown: number; samples: number } = {
  maxDown: 0,
  samples: 0,
};

async function podUids(): Promise<Map<string | undefined, string | undefined>> {
  return new Map((await h.pods(name)).map((p) => [p.metadata.name, p.metadata.uid]));
}

function assertNoLoss(run: { workload: WorkloadReport; maxDown: number; samples: number }) {
  assert.ok(
    run.workload.acknowledged > 100,
    `only ${run.workload.acknowledged} messages acknowledged`,
  );
  assert.deepEqual(run.workload.lost, [], "acknowledged messages were lost");
  assert.ok(run.samples > 10, "the disruption monitor barely sampled");
  assert.ok(run.maxDown <= 1, `${run.maxDown} nodes were down at once`);
}

describe("Kafka operator on real brokers", { timeout: 45 * 60_000 }, () => {
  before(async () => {
    h = await Harness.start();
  });
  after(async () => {
    await h?.close();
  });
  // A failure in CI is read afterwards: say what the operator was doing.
  afterEach((t) => {
    if (t.passed || !h) return;
    process.stderr.write(
      `[e2e] "${t.name}" failed; the operator's last log lines:\n${h.operator.logTail(80)}\n`,
    );
  });

  test("a 3-node KRaft cluster comes up Ready with ids, racks and a cluster id in status", async () => {
    await h.apply(clusterManifest(name));
    const c = await h.settled(name, 420_000);
    assert.equal(c.status?.brokers, "3/3");
    assert.equal(c.status?.version, "3.9.1");
    assert.match(c.status?.clusterId ?? "", /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(
      c.status?.nodes?.map((n) => [n.id, [...n.roles].sort().join("+"), n.ready]),
      [
        [0, "broker+controller", true],
        [1, "broker+controller", true],
        [2, "broker+controller", true],
      ],
    );
    const racks = await h.withAdmin(name, (a) => a.brokers());
    assert.deepEqual(
      racks.map((b) => b.rack).sort(),
      ["zone-a", "zone-b", "zone-c"],
      "each broker's rack is its node's zone",
    );
    const clusterId = await h.withAdmin(name, (a) => a.clusterId());
    assert.equal(clusterId, c.status?.clusterId, "storage was formatted with the id in status");
    const table = await h.cluster.kubectl("get", "kafkaclusters", "-n", namespace);
    assert.match(table.stdout, /events\s+3\/3\s+3\.9\.1\s+\S*\s*True/);
    // Each broker pod is Ready only once Kafka lists it as running (the operator's readiness gate).
    for (const p of await h.pods(name))
      assert.equal(
        p.status?.conditions?.find((c) => c.type === "kafka.ballast.dev/broker-running")?.status,
        "True",
      );
    const metrics = await eventually("the operator's metrics", async () => {
      const text = await (
        await fetch(`http://127.0.0.1:${h.operator.metricsPort()}/metrics`)
      ).text();
      return /ballast_kafka_brokers_ready\{namespace="kafka-e2e",cluster="events"\} 3/.test(text)
        ? text
        : undefined;
    });
    assert.match(
      metrics,
      /ballast_kafka_under_replicated_partitions\{namespace="kafka-e2e",cluster="events"\} 0/,
    );
  });

  test("a KafkaTopic becomes a topic with its partitions, replicas and config", async () => {
    await h.apply(topicManifest(topic, name));
    await eventually(
      "topic Ready",
      async () => {
        const t = await h.topic(topic);
        return condition(t ?? {}, "Ready")?.status === "True" ? t : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // Kafka answers CreateTopics before every broker's metadata lists the topic.
    const described = await eventually(
      "the topic in Kafka's metadata",
      () => h.withAdmin(name, (a) => a.describeTopic(topic)),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.equal(described?.partitions, 6);
    assert.equal(described?.replicationFactor, 3);
    assert.equal(described?.config["min.insync.replicas"], "2");
  });

  test("a dynamic config change is applied without restarting any broker", async () => {
    const before = new Map((await h.pods(name)).map((p) => [p.metadata.name, p.metadata.uid]));
    await h.patchCluster(name, { spec: { config: { "log.cleaner.threads": 2 } } });
    await eventually(
      "every broker reports log.cleaner.threads=2",
      async () => {
        const values = await h.withAdmin(name, async (a) =>
          Promise.all(
            [0, 1, 2].map(
              async (id) => (await a.brokerConfig(id)).get("log.cleaner.threads")?.value,
            ),
          ),
        );
        return values.every((v) => v === "2") ? values : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const afterPods = new Map((await h.pods(name)).map((p) => [p.metadata.name, p.metadata.uid]));
    assert.deepEqual(afterPods, before, "no pod was replaced");
    await h.settled(name);
  });

  test("a read-only config change rolls the brokers one at a time with no acknowledged message lost", async () => {
    const before = new Map((await h.pods(name)).map((p) => [p.metadata.name, p.metadata.uid]));
    const run = await underLoad(async () => {
      await new Promise((r) => setTimeout(r, 3000));
      await h.patchCluster(name, { spec: { config: { "socket.request.max.bytes": 104857601 } } });
      await eventually(
        "the roll starts",
        async () =>
          (await h.kafkaCluster(name)).status?.operation?.type === "Roll" ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      await h.settled(name, 600_000);
    });
    assertNoLoss(run);
    const after = await h.pods(name);
    for (const p of after)
      assert.notEqual(
        p.metadata.uid,
        before.get(p.metadata.name),
        `${p.metadata.name} was restarted`,
      );
  });

  test("scale 3 → 4 adds broker 3 and moves partitions onto it under load", async () => {
    const run = await underLoad(async () => {
      await new Promise((r) => setTimeout(r, 2000));
      await h.patchCluster(name, { spec: { brokers: 4 } });
      await eventually("broker 3 recorded", async () => {
        await refreshNodeIds();
        return lastNodeIds.includes(3) ? true : undefined;
      });
      await h.settled(name, 600_000);
    });
    assertNoLoss(run);
    const c = await h.kafkaCluster(name);
    assert.equal(c.status?.brokers, "4/4");
    // The operator finished on the controller's word; the broker this
    // test's client asks may hold metadata a moment older (seen once, in a
    // cold CI run: 42,41,43,42 right after Ready). Read until it shows the
    // moves, a short while; a cluster left unbalanced still fails.
    let counts: number[] = [];
    let onNew = 0;
    const balanced = await eventually(
      "the rebalanced assignment in the metadata",
      async () => {
        const obs = await h.withAdmin(name, (a) => a.observe());
        onNew = obs.partitions.filter((p) => p.replicas.includes(3)).length;
        counts = [0, 1, 2, 3].map(
          (id) => obs.partitions.filter((p) => p.replicas.includes(id)).length,
        );
        return onNew >= 6 && Math.max(...counts) - Math.min(...counts) <= 1 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 1000 },
    ).catch(() => false);
    assert.ok(onNew >= 6, `broker 3 hosts ${onNew} replicas after the rebalance`);
    assert.ok(balanced, `replicas per broker ${counts}`);
  });

  test("a scale-down below a topic's replication factor is refused and removes nothing", async () => {
    await h.apply(topicManifest("wide", name, { partitions: 1, replicas: 4 }));
    await eventually(
      "topic wide Ready",
      async () =>
        condition((await h.topic("wide")) ?? {}, "Ready")?.status === "True" ? true : undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await h.patchCluster(name, { spec: { brokers: 3 } });
    const c = await eventually(
      "ScaleDownRefused",
      async () => {
        const c = await h.kafkaCluster(name);
        return condition(c, "Degraded")?.reason === "ScaleDownRefused" ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.match(condition(c, "Degraded")?.message ?? "", /wide \(replication factor 4\)/);
    await new Promise((r) => setTimeout(r, 3000));
    const still = await h.kafkaCluster(name);
    assert.equal((await h.pods(name)).length, 4);
    assert.deepEqual(
      still.status?.nodes?.map((n) => [n.id, n.removing ?? false]),
      [
        [0, false],
        [1, false],
        [2, false],
        [3, false],
      ],
    );
    const obs = await h.withAdmin(name, (a) => a.observe());
    assert.ok(
      obs.partitions.some((p) => p.replicas.includes(3)),
      "broker 3 still holds its replicas",
    );
  });

  test("once nothing blocks it, scale 4 → 3 moves every partition off broker 3 before removing it", async () => {
    const run = await underLoad(async () => {
      await new Promise((r) => setTimeout(r, 2000));
      // spec.brokers is already 3: removing the topic that blocked it lets the scale-down go on.
      const res = await h.cluster.kubectl(
        "delete",
        "kafkatopic",
        "wide",
        "-n",
        namespace,
        "--wait=true",
      );
      assert.equal(res.code, 0, res.stderr);
      await h.settled(name, 600_000);
      await refreshNodeIds();
    });
    assertNoLoss(run);
    const c = await h.kafkaCluster(name);
    assert.equal(condition(c, "Degraded")?.status, "False");
    assert.deepEqual(
      c.status?.nodes?.map((n) => n.id),
      [0, 1, 2],
    );
    assert.equal((await h.pods(name)).length, 3);
    const claims = await h.cluster.api<{ items: { metadata: { name: string } }[] }>(
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
    );
    assert.deepEqual(claims.body.items.map((i) => i.metadata.name).sort(), [
      "data-events-0",
      "data-events-1",
      "data-events-2",
    ]);
    const obs = await h.withAdmin(name, (a) => a.observe());
    assert.ok(!obs.liveBrokers.has(3));
    assert.ok(obs.partitions.every((p) => !p.replicas.includes(3)));
    const brokers = await h.withAdmin(name, (a) => a.brokers());
    assert.deepEqual(brokers.map((b) => b.id).sort(), [0, 1, 2], "broker 3 is unregistered");
  });

  test("a roll survives the operator being SIGKILLed at random points, one node at a time", async () => {
    const before = new Map((await h.pods(name)).map((p) => [p.metadata.name, p.metadata.uid]));
    const run = await underLoad(async () => {
      await h.patchCluster(name, {
        metadata: {
          annotations: { "kafka.ballast.dev/restart-requested": new Date().toISOString() },
        },
      });
      // Kill the operator three times mid-roll, each after a random delay.
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 4000 + Math.random() * 12_000));
        await h.operator.kill();
        await new Promise((r) => setTimeout(r, 1000 + Math.random() * 3000));
        await h.operator.start();
      }
      await h.settled(name, 900_000);
    });
    assertNoLoss(run);
    const pods = await h.pods(name);
    assert.equal(pods.length, 3);
    for (const p of pods)
      assert.notEqual(
        p.metadata.uid,
        before.get(p.metadata.name),
        `${p.metadata.name} was restarted`,
      );
    // Four operator processes took part; the Roll operation they shared is finished.
    const c = await h.kafkaCluster(name);
    assert.equal(c.status?.operation, undefined);
  });

  test("a config value Kafka would not take is Degraded InvalidConfig with the key, touches no pod, and fixing it clears it", async () => {
    const before = await podUids();
    const run = await underLoad(async () => {
      await h.patchCluster(name, {
        spec: { config: { "log.retention.hours": "a week", "min.insync.replicas": 7 } },
      });
      const c = await eventually(
        "InvalidConfig",
        async () => {
          const c = await h.kafkaCluster(name);
          return condition(c, "Degraded")?.reason === "InvalidConfig" &&
            c.status?.observedGeneration === c.metadata.generation
            ? c
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const message = condition(c, "Degraded")?.message ?? "";
      assert.match(message, /log\.retention\.hours="a week" is not a number of type int/);
      assert.match(message, /min\.insync\.replicas="7" exceeds the 3 broker\(s\)/);
      // Long enough for a roll or a dynamic update to have started, had one been let through.
      await new Promise((r) => setTimeout(r, 8000));
      assert.deepEqual(await podUids(), before, "no pod was touched");
      assert.equal((await h.kafkaCluster(name)).status?.operation, undefined, "no roll started");
      const minIsr = await h.withAdmin(name, async (a) =>
        Promise.all(
          [0, 1, 2].map(async (id) => (await a.brokerConfig(id)).get("min.insync.replicas")?.value),
        ),
      );
      assert.deepEqual(minIsr, ["2", "2", "2"], "no dynamic update was sent");
      await h.patchCluster(name, {
        spec: { config: { "log.retention.hours": null, "min.insync.replicas": 2 } },
      });
      await h.settled(name);
    });
    assertNoLoss(run);
    assert.deepEqual(await podUids(), before, "fixing the spec restarted nothing either");
  });

  test("a value Kafka refuses only at startup halts the roll at the broker restarted first, saying why; reverting resumes it", async () => {
    const before = await podUids();
    let halted = "";
    const run = await underLoad(async () => {
      // Passes every check before the roll (an int, a read-only key: no validateOnly), but Kafka
      // refuses it when the broker starts: "Invalid value 0 … Value must be at least 1".
      await h.patchCluster(name, { spec: { config: { "socket.request.max.bytes": 0 } } });
      const c = await eventually(
        "RollHalted",
        async () => {
          const c = await h.kafkaCluster(name);
          return condition(c, "Degraded")?.reason === "RollHalted" ? c : undefined;
        },
        { timeoutMs: 240_000, intervalMs: 1000 },
      );
      halted = condition(c, "Degraded")?.message ?? "";
      // The crash loop, as the kubelet reports it. Kafka's own line ("Invalid value 0 for
      // configuration socket.request.max.bytes") comes from the container's termination message,
      // which this suite's local kubelet does not fill in (a real one does: FallbackToLogsOnError);
      // the act-layer test covers that part.
      assert.match(
        halted,
        /^node \d did not come back after its restart: container kafka restarted \d+ time\(s\)/,
      );
      assert.equal(condition(c, "Progressing")?.reason, "RollHalted");
      assert.equal(condition(c, "Progressing")?.message, halted);
      // Nothing else is restarted while it is halted.
      await new Promise((r) => setTimeout(r, 10_000));
      const during = await podUids();
      const replaced = [...during].filter(([pod, uid]) => before.get(pod) !== uid);
      assert.equal(
        replaced.length,
        1,
        `only the first broker was restarted: ${JSON.stringify(replaced)}`,
      );
      await h.patchCluster(name, { spec: { config: { "socket.request.max.bytes": 104857601 } } });
      await h.settled(name, 600_000);
    });
    process.stderr.write(`[e2e] halted with: ${halted}\n`);
    assertNoLoss(run);
    const after = await podUids();
    const replaced = [...after].filter(([pod, uid]) => before.get(pod) !== uid);
    assert.equal(replaced.length, 1, "after the revert only that broker had to start again");
  });

  test("an upgrade 3.9.1 → 4.1.0 rolls node by node under load; status shows the version once all run it", async () => {
    const run = await underLoad(async () => {
      await h.patchCluster(name, { spec: { version: "4.1.0" } });
      await eventually(
        "the upgrade roll to start",
        async () =>
          (await h.kafkaCluster(name)).status?.operation?.type === "Roll" ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const mid = await h.kafkaCluster(name);
      assert.match(mid.status?.operation?.reason ?? "", /upgrade to Kafka 4\.1\.0/);
      await h.settled(name, 900_000);
    });
    assertNoLoss(run);
    const c = await h.kafkaCluster(name);
    assert.equal(c.status?.version, "4.1.0");
    for (const p of await h.pods(name))
      assert.equal(p.spec.containers[0]?.image, "apache/kafka:4.1.0");
  });

  test("partitions only grow: a decrease is refused in a condition, an increase is applied", async () => {
    await h.apply(topicManifest(topic, name, { partitions: 4 }));
    const refusal = await eventually(
      "PartitionDecreaseRefused",
      async () => {
        const t = await h.topic(topic);
        return condition(t ?? {}, "Ready")?.reason === "PartitionDecreaseRefused" ? t : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.match(condition(refusal, "Ready")?.message ?? "", /at least 6/);
    assert.equal((await h.withAdmin(name, (a) => a.describeTopic(topic)))?.partitions, 6);
    await h.apply(topicManifest(topic, name, { partitions: 8 }));
    await eventually(
      "8 partitions",
      async () =>
        (await h.withAdmin(name, (a) => a.describeTopic(topic)))?.partitions === 8
          ? true
          : undefined,
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  });

  test("deleting a KafkaTopic deletes the topic in Kafka", async () => {
    await h.apply(topicManifest("scratch", name, { partitions: 1 }));
    await eventually(
      "scratch exists",
      async () => ((await h.withAdmin(name, (a) => a.describeTopic("scratch"))) ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const res = await h.cluster.kubectl(
      "delete",
      "kafkatopic",
      "scratch",
      "-n",
      namespace,
      "--wait=true",
    );
    assert.equal(res.code, 0, res.stderr);
    await eventually(
      "scratch gone from Kafka",
      async () => ((await h.withAdmin(name, (a) => a.describeTopic("scratch"))) ? undefined : true),
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  });

  test("a topic with more replicas than brokers is Ready=False with Kafka's error; lowered to 3 it is created", async () => {
    await h.apply(topicManifest("oversized", name, { partitions: 1, replicas: 5 }));
    const refused = await eventually(
      "TopicRejected",
      async () => {
        const t = await h.topic("oversized");
        return condition(t ?? {}, "Ready")?.reason === "TopicRejected" ? t : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const ready = condition(refused, "Ready");
    assert.equal(ready?.status, "False");
    assert.match(ready?.message ?? "", /INVALID_REPLICATION_FACTOR/);
    assert.match(
      ready?.message ?? "",
      /spec\.replicas \(5\) must be at most the number of brokers/,
    );
    // Not yet created, so the replication factor can still be corrected.
    await h.apply(topicManifest("oversized", name, { partitions: 1, replicas: 3 }));
    await eventually(
      "oversized Ready",
      async () => {
        const t = await h.topic("oversized");
        return condition(t ?? {}, "Ready")?.status === "True" ? t : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const described = await eventually(
      "oversized in Kafka",
      () => h.withAdmin(name, (a) => a.describeTopic("oversized")),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.equal(described?.replicationFactor, 3);
    const res = await h.cluster.kubectl(
      "delete",
      "kafkatopic",
      "oversized",
      "-n",
      namespace,
      "--wait=true",
    );
    assert.equal(res.code, 0, res.stderr);
  });

  test("invalid specs are rejected at admission or reported, and nothing changes", async () => {
    const bad = clusterManifest("bad", { brokers: 1 });
    const res = await h.cluster.kubectlInput(bad, "apply", "-f", "-");
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /spec.brokers must be at least spec.controllers.replicas/);

    // Its Services (<name>-bootstrap) would exceed 63 characters: refused before any object exists.
    const long = clusterManifest("k".repeat(60));
    const named = await h.cluster.kubectlInput(long, "apply", "-f", "-");
    assert.notEqual(named.code, 0);
    assert.match(named.stderr, /metadata.name must be at most 53/);

    const quorum = await h.cluster.kubectl(
      "patch",
      "kafkacluster",
      name,
      "-n",
      namespace,
      "--type=merge",
      "-p",
      '{"spec":{"controllers":{"replicas":5}}}',
    );
    assert.notEqual(quorum.code, 0);
    assert.match(quorum.stderr, /controllers.replicas cannot change/);

    const before = new Map((await h.pods(name)).map((p) => [p.metadata.name, p.metadata.uid]));
    await h.patchCluster(name, { spec: { config: { "node.id": 7 } } });
    const c = await eventually(
      "InvalidSpec",
      async () => {
        const c = await h.kafkaCluster(name);
        return condition(c, "Degraded")?.reason === "InvalidSpec" ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.match(condition(c, "Degraded")?.message ?? "", /node\.id/);
    await new Promise((r) => setTimeout(r, 3000));
    const afterPods = new Map((await h.pods(name)).map((p) => [p.metadata.name, p.metadata.uid]));
    assert.deepEqual(afterPods, before, "no pod was touched because of the bad key");
    await h.patchCluster(name, { spec: { config: { "node.id": null } } });
    await h.settled(name);
  });
  test("dedicated mode: a controller-only node and a broker; deleting the cluster keeps its data volumes", async () => {
    await h.apply(
      clusterManifest("solo", {
        brokers: 1,
        controllers: { replicas: 1, mode: "dedicated" },
        config: {},
      }),
    );
    const c = await h.settled("solo", 420_000);
    assert.deepEqual(
      c.status?.nodes?.map((n) => [n.id, n.roles.join("+")]),
      [
        [0, "controller"],
        [1, "broker"],
      ],
    );
    const pods = await h.pods("solo");
    assert.equal(pods.length, 2);
    const brokers = await h.withAdmin("solo", (a) => a.brokers());
    assert.deepEqual(
      brokers.map((b) => b.id),
      [1],
      "only the broker serves clients",
    );
    const res = await h.cluster.kubectl(
      "delete",
      "kafkacluster",
      "solo",
      "-n",
      namespace,
      "--wait=true",
    );
    assert.equal(res.code, 0, res.stderr);
    await eventually(
      "solo's pods gone with it",
      async () => ((await h.pods("solo")).length === 0 ? true : undefined),
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
    const claims = await h.cluster.api<{ items: { metadata: { name: string } }[] }>(
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
    );
    const kept = claims.body.items.map((i) => i.metadata.name).filter((n) => n.includes("solo"));
    assert.deepEqual(kept.sort(), ["data-solo-0", "data-solo-1"]);
  });

  test("RBAC: every scenario ran as the operator's ServiceAccount with only the declared rules — none refused, each one used", () => {
    const accesses = readTrace(h.traceFile);
    assert.ok(accesses.length > 100, `only ${accesses.length} API requests traced`);
    assert.deepEqual(
      refused(accesses).map((a) => a.line),
      [],
      "requests the API server refused",
    );
    const declared = [...kafkaRbac.namespaced, ...kafkaRbac.cluster, ...kafkaRbac.leaderElection];
    // Checked by admission (OwnerReferencesPermissionEnforcement) on pod creation, not a request of its own.
    const notARequest = ["ballast.dev|kafkaclusters/finalizers|update"];
    assert.deepEqual(
      unexercised(declared, accesses, notARequest),
      [],
      "declared rules no scenario needed",
    );
  });
});
