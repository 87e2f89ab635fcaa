import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createNamespace, type TestCluster, useCluster } from "@ballast/dev/testkit";
import { ballast } from "../_test-cli.ts";

const ns = `cli-status-${randomBytes(3).toString("hex")}`;
const base = `/apis/ballast.dev/v1alpha1/namespaces/${ns}`;
let cluster: TestCluster;
let kube: string[];

const startedAt = new Date(Date.now() - 5 * 60_000).toISOString();

async function create(cluster: TestCluster, plural: string, body: object, status: object) {
  const created = await cluster.api(`${base}/${plural}`, { method: "POST", body });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const name = (body as { metadata: { name: string } }).metadata.name;
  const written = await cluster.api(`${base}/${plural}/${name}/status`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { status },
  });
  assert.equal(written.status, 200, JSON.stringify(written.body));
}

before(async () => {
  cluster = await useCluster();
  kube = ["--kubeconfig", cluster.kubeconfig];
  const installed = await ballast(["install", ...kube]);
  assert.equal(installed.code, 0, installed.stderr);
  await createNamespace(cluster, ns);
  await create(
    cluster,
    "kafkaclusters",
    {
      apiVersion: "ballast.dev/v1alpha1",
      kind: "KafkaCluster",
      metadata: { name: "events", namespace: ns },
      spec: { version: "3.9.1", brokers: 3, storage: { size: "1Gi" } },
    },
    {
      clusterId: "MkU3OEVBNTcwNTJENDM2Qk",
      version: "3.9.1",
      readyBrokers: 2,
      brokers: "2/3",
      activeController: 0,
      nodes: [
        { id: 0, roles: ["broker", "controller"], pod: "events-0", ready: true },
        { id: 1, roles: ["broker", "controller"], pod: "events-1", ready: true },
        { id: 2, roles: ["broker", "controller"], pod: "events-2", ready: false },
      ],
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "Rolling",
          message: "node 2 is restarting",
          lastTransitionTime: startedAt,
        },
        {
          type: "Progressing",
          status: "True",
          reason: "Roll",
          message: "broker 2 is catching up",
          lastTransitionTime: startedAt,
        },
      ],
      operation: {
        type: "Roll",
        reason: "restart requested",
        startedAt,
        done: [1],
        pending: [0, 2],
        current: 2,
        waitingFor: "broker 2 is catching up",
        summary: "Roll 1/3",
      },
    },
  );
  await create(
    cluster,
    "kafkatopics",
    {
      apiVersion: "ballast.dev/v1alpha1",
      kind: "KafkaTopic",
      metadata: { name: "orders", namespace: ns },
      spec: { cluster: "events", partitions: 12, replicas: 3 },
    },
    {
      topicName: "orders",
      partitions: 12,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Created",
          message: "12 partitions",
          lastTransitionTime: startedAt,
        },
      ],
    },
  );
});

after(async () => {
  await cluster?.api(`/api/v1/namespaces/${ns}`, { method: "DELETE" });
});

describe("ballast status", () => {
  test("status kafkacluster/<name> shows the nodes, the conditions and the roll's progress", async () => {
    const { code, stdout, stderr } = await ballast([
      "status",
      "kafkacluster/events",
      "-n",
      ns,
      ...kube,
    ]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`KafkaCluster ${ns}/events: not Ready`));
    assert.match(stdout, /Version\s+3\.9\.1/);
    assert.match(stdout, /Brokers ready\s+2\/3/);
    assert.match(stdout, /Cluster id\s+MkU3OEVBNTcwNTJENDM2Qk/);
    assert.match(stdout, /Controller\s+node 0 \(active\)/);
    // The nodes table: header, then one row per node with its columns in order.
    assert.match(stdout, /ID\s+ROLES\s+POD\s+READY\s+REMOVING/);
    assert.match(stdout, /0\*\s+broker,controller\s+events-0\s+yes\s+-/);
    assert.match(stdout, /2\s+broker,controller\s+events-2\s+no\s+-/);
    assert.match(stdout, /TYPE\s+STATUS\s+REASON\s+MESSAGE/);
    assert.match(stdout, /Ready\s+False\s+Rolling\s+node 2 is restarting/);
    assert.match(stdout, /Progressing\s+True\s+Roll\s+broker 2 is catching up/);
    assert.match(stdout, /Operation: Roll/);
    assert.match(stdout, /Reason\s+restart requested/);
    assert.match(stdout, new RegExp(`Since\\s+${startedAt.replace(/\./g, "\\.")} \\(5m ago\\)`));
    assert.match(stdout, /Waiting for\s+broker 2 is catching up/);
    // One of three nodes restarted (node 2 is the one restarting now).
    assert.match(stdout, /Progress\s+\[###-------\] 1\/3 nodes restarted/);
    assert.match(stdout, /Restarting\s+node 2/);
    assert.ok(!stdout.includes("\u001b["), "no colour codes when stdout is not a terminal");
  });

  test("status accepts the kind's short, singular and plural names", async () => {
    for (const kind of ["kc", "kafka", "kafkaclusters", "KafkaCluster"]) {
      const { code, stdout, stderr } = await ballast([
        "status",
        `${kind}/events`,
        "-n",
        ns,
        ...kube,
      ]);
      assert.equal(code, 0, `${kind}: ${stderr}`);
      assert.match(stdout, /1\/3 nodes restarted/, kind);
    }
  });

  test("status kafkatopic/<name> shows partitions, replicas, cluster and Ready", async () => {
    const { code, stdout, stderr } = await ballast([
      "status",
      "kafkatopic/orders",
      "--namespace",
      ns,
      ...kube,
    ]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`KafkaTopic ${ns}/orders: Ready`));
    assert.match(stdout, /Cluster\s+events/);
    assert.match(stdout, /Partitions\s+12/);
    assert.match(stdout, /Replicas\s+3/);
    assert.match(stdout, /Ready\s+True/);
  });

  test("status --output json prints the object as the API server has it", async () => {
    const { code, stdout, stderr } = await ballast([
      "status",
      "kc/events",
      "-n",
      ns,
      "-o",
      "json",
      ...kube,
    ]);
    assert.equal(code, 0, stderr);
    const object = JSON.parse(stdout);
    assert.equal(object.kind, "KafkaCluster");
    assert.equal(object.metadata.namespace, ns);
    assert.deepEqual(object.status.operation.pending, [0, 2]);
  });

  test("status of a missing object names its kind, namespace and name", async () => {
    const { code, stdout, stderr } = await ballast([
      "status",
      "kafkacluster/nothere",
      "-n",
      ns,
      ...kube,
    ]);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.equal(
      stderr.trim(),
      `ballast status: KafkaCluster "nothere" not found in namespace "${ns}"`,
    );
  });

  test("status of an unknown kind lists the kinds it knows, exit code 2", async () => {
    const { code, stderr } = await ballast(["status", "deployment/web", "-n", ns, ...kube]);
    assert.equal(code, 2);
    assert.match(
      stderr,
      /unknown kind "deployment": expected one of kafkacluster\|kafkaclusters\|kc\|kafka/,
    );
    assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
  });

  test("status refuses an --output it cannot write", async () => {
    const { code, stderr } = await ballast(["status", "kc/events", "-o", "yaml", ...kube]);
    assert.equal(code, 2);
    assert.match(stderr, /--output must be text or json, not "yaml"/);
  });
});
