/**
 * The apache/kafka and zookeeper images run the real Kafka and ZooKeeper
 * from their Maven Central jars: a KRaft broker started by an operator-style
 * command serves topics to the distribution's own CLI tools, the image's
 * default command starts a broker from KAFKA_* variables alone, and a
 * ZooKeeper server answers zkCli.sh — on a private one-node cluster. Kafka
 * 3.9 and 4.1 both run: they log through different log4j generations.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  createNamespace,
  eventually,
  type PrivateTestCluster,
  startTestCluster,
} from "@ballast/dev/testkit";

let cluster: PrivateTestCluster;
const createdAt = new Map<string, number>();
const ns = "images-kafka-test";
const clusterId = "q1Sh-9_ISia_zwGINzRvyQ";

interface PodView {
  status: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      ready: boolean;
      restartCount: number;
      state: { waiting?: { reason: string; message?: string }; terminated?: { exitCode: number } };
    }[];
  };
}

async function create(body: unknown): Promise<void> {
  const res = await cluster.api(`/api/v1/namespaces/${ns}/pods`, { method: "POST", body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  createdAt.set((body as { metadata: { name: string } }).metadata.name, Date.now());
}

async function pod(name: string): Promise<PodView | undefined> {
  const res = await cluster.api<PodView>(`/api/v1/namespaces/${ns}/pods/${name}`);
  return res.status === 200 ? res.body : undefined;
}

/** Waits until the pod is Ready and returns its IP; fails early if it crashed. */
async function ready(name: string, timeoutMs = 180_000): Promise<string> {
  return eventually(
    `pod ${name} to become Ready`,
    async () => {
      const p = await pod(name);
      const status = p?.status.containerStatuses?.[0];
      if (status?.state.waiting?.reason === "ErrImagePull") {
        throw new Error(`ErrImagePull: ${status.state.waiting.message}`);
      }
      if ((status?.restartCount ?? 0) > 0) {
        const logs = await cluster.kubectl("-n", ns, "logs", name, "--previous", "--tail", "30");
        assert.fail(`pod ${name} restarted:\n${logs.stdout}${logs.stderr}`);
      }
      const isReady = p?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      if (!isReady) return undefined;
      const since = (Date.now() - (createdAt.get(name) ?? Date.now())) / 1000;
      console.log(`pod ${name} Ready ${since.toFixed(1)}s after it was created`);
      return p?.status.podIP;
    },
    { timeoutMs, intervalMs: 1000 },
  );
}

async function exec(name: string, script: string): Promise<string> {
  const res = await cluster.kubectl("-n", ns, "exec", name, "--", "sh", "-c", script);
  assert.equal(res.code, 0, `exec in ${name} failed: ${script}\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

const podIP = { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } };
const tcpReady = (port: number) => ({
  tcpSocket: { port },
  periodSeconds: 2,
  failureThreshold: 1000,
});

/** Configuration an operator would render: one combined broker and controller on the pod IP. */
const brokerCommand = `cat > /tmp/server.properties <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$(POD_IP):9093
listeners=PLAINTEXT://$(POD_IP):9092,CONTROLLER://$(POD_IP):9093
advertised.listeners=PLAINTEXT://$(POD_IP):9092
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=/var/lib/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
kafka-storage.sh format --cluster-id ${clusterId} --config /tmp/server.properties --ignore-formatted
exec kafka-server-start.sh /tmp/server.properties`;

before(async () => {
  cluster = await startTestCluster({ name: "images-kafka", nodes: 1 });
  await createNamespace(cluster, ns);
  // All three start together: JVM start-up dominates, and the waits overlap.
  await create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "kafka" },
    spec: {
      containers: [
        {
          name: "kafka",
          image: "apache/kafka:3.9.1",
          command: ["sh", "-c", brokerCommand],
          env: [podIP, { name: "KAFKA_HEAP_OPTS", value: "-Xmx384M -Xms128M" }],
          volumeMounts: [{ name: "data", mountPath: "/var/lib/kafka/data" }],
          readinessProbe: tcpReady(9092),
        },
      ],
      volumes: [{ name: "data", emptyDir: {} }],
    },
  });
  await create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "kafka-env" },
    spec: {
      containers: [
        {
          name: "kafka",
          // 4.x, which logs through log4j2, where 3.x uses reload4j.
          image: "apache/kafka:4.1.0",
          env: [
            podIP,
            { name: "KAFKA_NODE_ID", value: "7" },
            { name: "KAFKA_PROCESS_ROLES", value: "broker,controller" },
            { name: "KAFKA_LISTENERS", value: "PLAINTEXT://:9092,CONTROLLER://:9093" },
            { name: "KAFKA_ADVERTISED_LISTENERS", value: "PLAINTEXT://$(POD_IP):9092" },
            { name: "KAFKA_CONTROLLER_LISTENER_NAMES", value: "CONTROLLER" },
            {
              name: "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
              value: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            },
            { name: "KAFKA_CONTROLLER_QUORUM_VOTERS", value: "7@localhost:9093" },
            { name: "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", value: "1" },
            { name: "KAFKA_LOG_DIRS", value: "/tmp/kraft-logs" },
            { name: "KAFKA_HEAP_OPTS", value: "-Xmx256M -Xms64M" },
            // The image's escapes: ___ is "-", __ is "_" (Kafka ignores unknown names).
            { name: "KAFKA_BALLAST_TEST___DASH__UNDER", value: "yes" },
          ],
          readinessProbe: tcpReady(9092),
        },
      ],
    },
  });
  await create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "zookeeper" },
    spec: {
      containers: [
        {
          name: "zookeeper",
          image: "zookeeper:3.9.3",
          env: [{ name: "ZK_SERVER_HEAP", value: "128" }],
          readinessProbe: tcpReady(2181),
        },
      ],
    },
  });
});

after(async () => {
  await cluster?.api(`/api/v1/namespaces/${ns}`, { method: "DELETE" });
  await cluster?.stop();
});

test("apache/kafka runs a KRaft broker whose own CLI tools create, produce and consume a topic", async () => {
  const ip = await ready("kafka");
  const logs = await cluster.kubectl("-n", ns, "logs", "kafka");
  const startedLine = logs.stdout.split("\n").find((l) => l.includes("Kafka Server started"));
  assert.ok(startedLine, `the broker logs to the console through reload4j:\n${logs.stdout}`);
  console.log(`broker: ${startedLine}`);
  const bootstrap = `--bootstrap-server ${ip}:9092`;

  await exec(
    "kafka",
    `kafka-topics.sh ${bootstrap} --create --topic greetings --partitions 1 --replication-factor 1`,
  );
  const described = await exec(
    "kafka",
    `kafka-topics.sh ${bootstrap} --describe --topic greetings`,
  );
  assert.match(described, /Topic: greetings\s+TopicId: \S+\s+PartitionCount: 1/);

  await exec(
    "kafka",
    `printf 'hello\\nfrom\\nballast\\n' | kafka-console-producer.sh ${bootstrap} --topic greetings`,
  );
  const consumed = await exec(
    "kafka",
    `kafka-console-consumer.sh ${bootstrap} --topic greetings --from-beginning --max-messages 3 --timeout-ms 60000`,
  );
  assert.deepEqual(consumed.trim().split("\n"), ["hello", "from", "ballast"]);

  const quorum = await exec("kafka", `kafka-metadata-quorum.sh ${bootstrap} describe --status`);
  assert.match(quorum, new RegExp(`ClusterId:\\s+${clusterId}`));
  assert.match(quorum, /LeaderId:\s+1/);
});

test("apache/kafka with no command configures a broker from KAFKA_* variables, as the image's run script does", async () => {
  const ip = await ready("kafka-env");
  const logs = await cluster.kubectl("-n", ns, "logs", "kafka-env");
  assert.match(
    logs.stdout,
    /Kafka Server started/,
    "the 4.x broker logs to the console through log4j2",
  );
  const props = await exec("kafka-env", "cat /tmp/server.properties");
  assert.match(props, /^node\.id=7$/m);
  assert.match(props, /^controller\.quorum\.voters=7@localhost:9093$/m);
  assert.ok(props.includes(`advertised.listeners=PLAINTEXT://${ip}:9092\n`), props);
  assert.match(props, /^ballast\.test-dash_under=yes$/m);
  // JVM options are not broker properties.
  assert.doesNotMatch(props, /heap/);

  const quorum = await exec(
    "kafka-env",
    `kafka-metadata-quorum.sh --bootstrap-server ${ip}:9092 describe --status`,
  );
  assert.match(quorum, /LeaderId:\s+7/);
  // The image's default cluster id, used when CLUSTER_ID is unset.
  assert.match(quorum, /ClusterId:\s+5L6g3nShT-eMCtK--X86sw/);
});

test("zookeeper runs the real server from its image defaults and zkCli.sh reads back what it wrote", async () => {
  await ready("zookeeper");
  await exec("zookeeper", "zkCli.sh -server localhost:2181 create /ballast hello-from-zk");
  const got = await exec("zookeeper", "zkCli.sh -server localhost:2181 get /ballast");
  assert.match(got, /^hello-from-zk$/m);

  const status = await exec("zookeeper", "zkServer.sh status");
  assert.match(status, /Mode: standalone/);
  // The generated configuration lives in the container's private /tmp, not the host's /conf.
  const config = await exec("zookeeper", "cat /tmp/zookeeper/conf/zoo.cfg");
  assert.match(config, /^dataDir=\/tmp\/zookeeper\/data$/m);
});

test("an apache/kafka version Maven Central does not have fails with ErrImagePull naming it", async () => {
  await create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "kafka-missing" },
    spec: { containers: [{ name: "kafka", image: "apache/kafka:3.9.99" }] },
  });
  const waiting = await eventually(
    "pod kafka-missing to report ErrImagePull",
    async () => {
      const state = (await pod("kafka-missing"))?.status.containerStatuses?.[0]?.state.waiting;
      return state?.reason === "ErrImagePull" ? state : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  assert.match(waiting.message ?? "", /3\.9\.99 is not on Maven Central/);
});
