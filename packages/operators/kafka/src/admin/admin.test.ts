import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { eventually } from "@ballast/dev/testkit";
import { Consumer, ProduceAcks, Producer } from "@platformatic/kafka";
import { type HostKafka, startHostKafka } from "../../test-support/host-kafka.ts";
import { KafkaAdmin, KafkaAdminError } from "./index.ts";

let kafka: HostKafka;
let admin: KafkaAdmin;

/**
 * Config writes are committed by the controller and applied by each broker
 * when it reads the metadata log, so a read right after a write may be stale:
 * poll until `read()` equals `expected`, then assert it (failing with a diff).
 */
async function settlesTo<T>(
  what: string,
  read: () => Promise<T>,
  expected: T,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let actual = await read();
  while (!isDeepStrictEqual(actual, expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    actual = await read();
  }
  assert.deepEqual(actual, expected, what);
}

async function rejectsWith(
  promise: Promise<unknown>,
  codeName: string,
  resource?: string,
): Promise<KafkaAdminError> {
  const error = await promise.then(
    () => assert.fail(`expected ${codeName}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof KafkaAdminError, `not a KafkaAdminError: ${String(error)}`);
  assert.equal(error.name, "KafkaAdminError");
  assert.equal(error.codeName, codeName, error.message);
  if (resource !== undefined) assert.equal(error.resource, resource);
  return error;
}

async function createAndWait(
  name: string,
  partitions: number,
  replicationFactor: number,
  config = {},
) {
  await admin.createTopic({ name, partitions, replicationFactor, config });
  return await eventually(`topic ${name}`, () => admin.describeTopic(name));
}

async function produce(topic: string, count: number, bytes: number) {
  const producer = new Producer({
    clientId: "admin-test",
    bootstrapBrokers: kafka.bootstrap(),
    acks: ProduceAcks.ALL,
  });
  try {
    const value = Buffer.alloc(bytes, 120);
    for (let i = 0; i < count; i += 50) {
      await producer.send({ messages: Array.from({ length: 50 }, () => ({ topic, value })) });
    }
  } finally {
    await producer.close();
  }
}

describe("KafkaAdmin against a 3-node KRaft cluster", { timeout: 600_000 }, () => {
  before(async () => {
    kafka = await startHostKafka({ nodes: 3 });
    admin = new KafkaAdmin({ bootstrap: kafka.bootstrap().slice(0, 1), timeoutMs: 10_000 });
  });
  after(async () => {
    await admin?.close();
    await kafka?.close();
  });

  test("clusterId() and brokers() describe the cluster", async () => {
    assert.match(await admin.clusterId(), /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(
      await admin.brokers(),
      kafka.nodes.map((n) => ({ id: n.id, host: "127.0.0.1", port: n.port, rack: null })),
    );
  });

  test("a KafkaAdmin whose first bootstrap broker is down asks the next one", async () => {
    const spare = new KafkaAdmin({
      bootstrap: ["127.0.0.1:1", ...kafka.bootstrap().slice(1, 2)],
      timeoutMs: 5_000,
    });
    try {
      assert.equal(await spare.clusterId(), await admin.clusterId());
    } finally {
      await spare.close();
    }
    const nowhere = new KafkaAdmin({ bootstrap: ["127.0.0.1:1"], timeoutMs: 2_000 });
    try {
      const error = await nowhere.clusterId().then(
        () => assert.fail("nothing listens on port 1"),
        (e: unknown) => e,
      );
      assert.ok(
        error instanceof KafkaAdminError && error.call === "DescribeCluster",
        String(error),
      );
      assert.match(error.message, /127\.0\.0\.1:1/);
    } finally {
      await nowhere.close();
    }
  });

  test("createTopic() then describeTopic() reports partitions, replication factor and the topic's own configs", async () => {
    const described = await createAndWait("orders", 3, 2, {
      "min.insync.replicas": "2",
      "retention.ms": "3600000",
    });
    assert.deepEqual(described, {
      partitions: 3,
      replicationFactor: 2,
      config: { "min.insync.replicas": "2", "retention.ms": "3600000" },
    });
    await rejectsWith(
      admin.createTopic({ name: "orders", partitions: 1, replicationFactor: 1 }),
      "TOPIC_ALREADY_EXISTS",
      'topic "orders"',
    );
    await rejectsWith(
      admin.createTopic({ name: "too-wide", partitions: 1, replicationFactor: 4 }),
      "INVALID_REPLICATION_FACTOR",
    );
  });

  test("describeTopic() returns undefined for a topic that does not exist", async () => {
    assert.equal(await admin.describeTopic("no-such-topic"), undefined);
  });

  test("createPartitions() grows a topic and refuses to shrink it", async () => {
    await createAndWait("grow", 1, 1);
    await admin.createPartitions("grow", 4);
    await eventually("4 partitions", async () =>
      (await admin.describeTopic("grow"))?.partitions === 4 ? true : undefined,
    );
    await rejectsWith(admin.createPartitions("grow", 2), "INVALID_PARTITIONS", 'topic "grow"');
  });

  test("alterTopicConfig() sets and removes topic configs", async () => {
    await createAndWait("tuned", 1, 1);
    await admin.alterTopicConfig(
      "tuned",
      { "retention.ms": "60000", "cleanup.policy": "compact" },
      [],
    );
    await settlesTo("tuned config", async () => (await admin.describeTopic("tuned"))?.config, {
      "retention.ms": "60000",
      "cleanup.policy": "compact",
    });
    await admin.alterTopicConfig("tuned", {}, ["cleanup.policy", "never.set.anywhere"]);
    await settlesTo("tuned config", async () => (await admin.describeTopic("tuned"))?.config, {
      "retention.ms": "60000",
    });
    await rejectsWith(
      admin.alterTopicConfig("tuned", { "min.insync.replicas": "zero" }, []),
      "INVALID_CONFIG",
      'topic "tuned"',
    );
    await rejectsWith(
      admin.alterTopicConfig("ghost", { "retention.ms": "1" }, []),
      "UNKNOWN_TOPIC_OR_PARTITION",
      'topic "ghost"',
    );
  });

  test("deleteTopic() removes a topic and accepts one already gone", async () => {
    await createAndWait("doomed", 1, 1);
    await admin.deleteTopic("doomed");
    await eventually("doomed gone", async () =>
      (await admin.describeTopic("doomed")) === undefined ? true : undefined,
    );
    await admin.deleteTopic("doomed");
  });

  test("observe() reports brokers, every partition including internal topics, min ISR, quorum and reassignments", async () => {
    await createAndWait("observed", 2, 3, { "min.insync.replicas": "2" });
    // Looking up a group coordinator makes the cluster create __consumer_offsets.
    const consumer = new Consumer({
      clientId: "admin-test",
      groupId: "observer",
      bootstrapBrokers: kafka.bootstrap(),
    });
    await eventually("group coordinator", () => consumer.findGroupCoordinator());
    await consumer.close();

    const o = await eventually("__consumer_offsets and a full ISR on observed", async () => {
      const seen = await admin.observe();
      const ok =
        seen.partitions.some((p) => p.topic === "__consumer_offsets") &&
        seen.partitions.filter((p) => p.topic === "observed").every((p) => p.isr.length === 3);
      return ok ? seen : undefined;
    });
    assert.deepEqual([...o.liveBrokers].sort(), [0, 1, 2]);
    const observed = o.partitions.filter((p) => p.topic === "observed");
    assert.equal(observed.length, 2);
    for (const p of observed) {
      assert.equal(p.replicas.length, 3);
      assert.deepEqual([...p.isr].sort(), [...p.replicas].sort());
      assert.equal(p.leader, p.replicas[0]);
    }
    assert.equal(o.partitions.filter((p) => p.topic === "__consumer_offsets").length, 3);
    assert.equal(o.minIsr.get("observed"), 2);
    assert.equal(
      o.minIsr.get("__consumer_offsets"),
      1,
      "internal topics carry the effective broker default",
    );
    assert.equal(o.defaultMinIsr, 1);
    assert.ok([0, 1, 2].includes(o.quorum.leaderId));
    assert.deepEqual(o.quorum.voters.map((v) => v.id).sort(), [0, 1, 2]);
    assert.equal(typeof o.quorum.highWatermark, "number");
    assert.ok(o.quorum.highWatermark > 0);
    for (const v of o.quorum.voters) {
      assert.ok(v.logEndOffset > 0 && v.logEndOffset <= o.quorum.highWatermark + 1000);
      assert.ok(v.lastCaughtUpTimestamp > Date.now() - 60_000, `voter ${v.id} caught up recently`);
    }
    assert.deepEqual(o.reassignments, []);
    assert.ok(Math.abs(o.observedAt - Date.now()) < 10_000);
  });

  test("brokerConfig() tells static from dynamic configs", async () => {
    const config = await admin.brokerConfig(1);
    assert.deepEqual(config.get("node.id"), {
      value: "1",
      readOnly: true,
      source: "STATIC_BROKER_CONFIG",
      type: "int",
    });
    assert.equal(config.get("log.retention.hours")?.type, "int");
    assert.equal(config.get("log.retention.ms")?.type, "long");
    assert.equal(config.get("auto.create.topics.enable")?.type, "boolean");
    assert.equal(config.get("log.retention.ms")?.readOnly, false);
    assert.equal(config.get("num.io.threads")?.readOnly, false);
    assert.equal(config.get("min.insync.replicas")?.readOnly, false);
    assert.equal(config.get("auto.create.topics.enable")?.readOnly, true);
    assert.equal(config.get("log.retention.hours")?.readOnly, true);
    assert.equal(config.get("process.roles")?.readOnly, true);
    const unknown = await admin.brokerConfig(42).then(
      () => assert.fail("broker 42 does not exist"),
      (e: unknown) => e,
    );
    assert.ok(unknown instanceof KafkaAdminError, String(unknown));
    assert.equal(unknown.resource, "broker 42");
  });

  test("validateBrokerConfig() refuses a value Kafka cannot parse or range-check, with Kafka's reason, and changes nothing", async () => {
    for (const [key, value] of [
      ["log.cleaner.threads", "x"],
      ["num.io.threads", "0"],
    ] as const) {
      const refused = await admin.validateBrokerConfig(1, { [key]: value }).then(
        () => assert.fail(`${key}=${value} was accepted`),
        (e: unknown) => e,
      );
      assert.ok(refused instanceof KafkaAdminError, String(refused));
      // A value that does not parse is INVALID_REQUEST, one out of range INVALID_CONFIG.
      assert.ok(
        ["INVALID_REQUEST", "INVALID_CONFIG"].includes(refused.codeName ?? ""),
        refused.message,
      );
      assert.match(refused.serverMessage ?? "", new RegExp(key.replaceAll(".", "\\.")));
    }
    await admin.validateBrokerConfig(1, { "log.cleaner.threads": "2" });
    assert.equal(
      (await admin.brokerConfig(1)).get("log.cleaner.threads")?.source,
      "DEFAULT_CONFIG",
    );
  });

  test("alterBrokerConfig() sets per-broker and cluster-wide dynamic configs and removes them", async () => {
    await admin.alterBrokerConfig(1, { "log.retention.ms": "7200000" }, []);
    // The controller commits the change; each broker applies it when it reads the metadata log (for
    // a moment it may even answer source DYNAMIC_BROKER_CONFIG with the old value).
    await settlesTo(
      "log.retention.ms on broker 1",
      async () => (await admin.brokerConfig(1)).get("log.retention.ms"),
      {
        value: "7200000",
        readOnly: false,
        source: "DYNAMIC_BROKER_CONFIG",
        type: "long",
      },
    );
    assert.equal(
      (await admin.brokerConfig(2)).get("log.retention.ms")?.value,
      null,
      "other brokers unchanged",
    );

    await admin.alterBrokerConfig("", { "log.cleaner.threads": "2" }, []);
    await eventually("the cluster default on broker 2", async () => {
      const entry = (await admin.brokerConfig(2)).get("log.cleaner.threads");
      return entry?.source === "DYNAMIC_DEFAULT_BROKER_CONFIG" && entry.value === "2"
        ? true
        : undefined;
    });

    await admin.alterBrokerConfig(1, {}, ["log.retention.ms"]);
    await admin.alterBrokerConfig("", {}, ["log.cleaner.threads"]);
    await eventually("log.retention.ms removed", async () =>
      (await admin.brokerConfig(1)).get("log.retention.ms")?.source === "DEFAULT_CONFIG"
        ? true
        : undefined,
    );
    await eventually("the cluster default removed", async () =>
      (await admin.brokerConfig(2)).get("log.cleaner.threads")?.source === "DEFAULT_CONFIG"
        ? true
        : undefined,
    );
    await rejectsWith(
      admin.alterBrokerConfig(1, { "auto.create.topics.enable": "false" }, []),
      "INVALID_REQUEST",
      "broker 1",
    );
  });

  test("reassign() with a throttle is listed in flight, cancelReassignment() stops it, an unthrottled one completes", async () => {
    await createAndWait("moving", 1, 1);
    await admin.reassign([{ topic: "moving", partition: 0, replicas: [0] }]);
    await eventually("moving on broker 0", async () => {
      const o = await admin.observe();
      const p = o.partitions.find((x) => x.topic === "moving");
      return p?.replicas.join() === "0" && o.reassignments.length === 0 ? true : undefined;
    });
    await produce("moving", 2000, 1000); // ~2 MB: at 10 kB/s the copy takes minutes

    const targets = await admin.setThrottle(
      [{ topic: "moving", partition: 0, replicas: [1, 2] }],
      10_000,
    );
    assert.deepEqual(targets, { brokers: [0, 1, 2], topics: ["moving"] });
    await settlesTo("moving config", async () => (await admin.describeTopic("moving"))?.config, {
      "leader.replication.throttled.replicas": "0:0",
      "follower.replication.throttled.replicas": "0:1,0:2",
    });
    for (const id of [0, 1, 2]) {
      await settlesTo(
        `throttle rates on broker ${id}`,
        async () => {
          const c = await admin.brokerConfig(id);
          return [
            c.get("leader.replication.throttled.rate"),
            c.get("follower.replication.throttled.rate"),
          ];
        },
        // Kafka 3.9 calls the throttle rates readOnly although they are set dynamically: readOnly
        // only reflects the KafkaConfig definitions, which do not include them.
        [0, 1].map(() => ({
          value: "10000",
          readOnly: true,
          source: "DYNAMIC_BROKER_CONFIG",
          type: "long",
        })),
      );
    }

    await admin.reassign([{ topic: "moving", partition: 0, replicas: [1, 2] }]);
    const inFlight = await admin.listReassignments();
    assert.deepEqual(inFlight, [
      { topic: "moving", partition: 0, replicas: [1, 2, 0], adding: [1, 2], removing: [0] },
    ]);
    assert.deepEqual((await admin.observe()).reassignments, inFlight);

    await admin.cancelReassignment([{ topic: "moving", partition: 0 }]);
    await admin.cancelReassignment([{ topic: "moving", partition: 0 }]); // nothing in flight: not an error
    assert.deepEqual(await admin.listReassignments(), []);
    await eventually("moving back on [0] alone", async () =>
      (await admin.observe()).partitions.find((p) => p.topic === "moving")?.replicas.join() === "0"
        ? true
        : undefined,
    );

    await admin.clearThrottle(targets);
    await settlesTo("moving config", async () => (await admin.describeTopic("moving"))?.config, {});
    for (const id of [0, 1, 2]) {
      await eventually(`no throttle on broker ${id}`, async () =>
        (await admin.brokerConfig(id)).has("leader.replication.throttled.rate") ? undefined : true,
      );
    }

    await admin.reassign([{ topic: "moving", partition: 0, replicas: [2, 1] }]);
    await eventually("moving on [2, 1]", async () => {
      const o = await admin.observe();
      const p = o.partitions.find((x) => x.topic === "moving");
      return p?.replicas.join() === "2,1" && p.isr.length === 2 && o.reassignments.length === 0
        ? true
        : undefined;
    });
  });

  test("reassign() names the partition Kafka refused", async () => {
    await rejectsWith(
      admin.reassign([{ topic: "nowhere", partition: 3, replicas: [0] }]),
      "UNKNOWN_TOPIC_OR_PARTITION",
      "nowhere-3",
    );
    await createAndWait("pinned", 1, 1);
    await rejectsWith(
      admin.reassign([{ topic: "pinned", partition: 0, replicas: [9] }]),
      "INVALID_REPLICA_ASSIGNMENT",
      "pinned-0",
    );
  });

  test("a stopped broker stays in Metadata until fenced, then unregisterBroker() removes its registration", async (t) => {
    const stoppedAt = Date.now();
    await kafka.stop(2, { hard: true });
    const firstSeen = await admin.observe();
    assert.ok(firstSeen.liveBrokers.has(2), "Metadata still lists a broker killed a moment ago");
    await eventually(
      "broker 2 fenced",
      async () => ((await admin.observe()).liveBrokers.has(2) ? undefined : true),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    t.diagnostic(`broker 2 left Metadata ${Date.now() - stoppedAt} ms after SIGKILL`);
    assert.deepEqual(
      (await admin.brokers()).map((b) => b.id),
      [0, 1],
    );
    const o = await admin.observe();
    const offsets = o.partitions.filter((p) => p.topic === "__consumer_offsets");
    assert.ok(
      offsets.every((p) => p.replicas.includes(2) && !p.isr.includes(2)),
      "replicas keep the fenced broker, ISRs drop it",
    );
    assert.ok(
      o.quorum.voters.some((v) => v.id === 2),
      "a static voter stays in the quorum",
    );

    await admin.unregisterBroker(2);
    // Kafka answers BROKER_ID_NOT_REGISTERED to a repeat; an operator killed
    // after unregistering repeats it, so a repeat (or an unknown id) succeeds.
    await admin.unregisterBroker(2);
    await admin.unregisterBroker(17);

    await kafka.start(2);
    await eventually("broker 2 registered again", async () =>
      (await admin.observe()).liveBrokers.has(2) ? true : undefined,
    );
  });
});
