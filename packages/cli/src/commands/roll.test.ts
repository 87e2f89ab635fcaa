import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { createNamespace, type TestCluster, useCluster } from "@ballast/dev/testkit";
import { ballast } from "../_test-cli.ts";

const ns = `cli-roll-${randomBytes(3).toString("hex")}`;
const path = `/apis/ballast.dev/v1alpha1/namespaces/${ns}/kafkaclusters/events`;
const annotation = "kafka.ballast.dev/restart-requested";
let cluster: TestCluster;
let kube: string[];

before(async () => {
  cluster = await useCluster();
  kube = ["--kubeconfig", cluster.kubeconfig];
  const installed = await ballast(["install", ...kube]);
  assert.equal(installed.code, 0, installed.stderr);
  await createNamespace(cluster, ns);
  const created = await cluster.api(path.replace(/\/events$/, ""), {
    method: "POST",
    body: {
      apiVersion: "ballast.dev/v1alpha1",
      kind: "KafkaCluster",
      metadata: { name: "events", namespace: ns, annotations: { keep: "me" } },
      spec: { version: "3.9.1", brokers: 3, storage: { size: "1Gi" } },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(async () => {
  await cluster?.api(`/api/v1/namespaces/${ns}`, { method: "DELETE" });
});

type Annotated = { metadata: { annotations?: Record<string, string> } };

async function annotations(): Promise<Record<string, string>> {
  const got = await cluster.api<Annotated>(path);
  assert.equal(got.status, 200);
  return got.body.metadata.annotations ?? {};
}

test("roll sets the restart annotation to the current time and says how to follow it", async () => {
  const from = Date.now();
  const { code, stdout, stderr } = await ballast([
    "roll",
    "kafkacluster/events",
    "-n",
    ns,
    ...kube,
  ]);
  assert.equal(code, 0, stderr);
  const value = (await annotations())[annotation];
  assert.ok(value, `annotation ${annotation} is set`);
  assert.match(value, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const at = Date.parse(value);
  assert.ok(at >= from - 1000 && at <= Date.now(), `${value} is the time of the request`);
  assert.match(stdout, new RegExp(`Rolling restart of KafkaCluster ${ns}/events requested`));
  assert.ok(stdout.includes(`${annotation}=${value}`), stdout);
  assert.ok(stdout.includes(`ballast status kafkacluster/events -n ${ns}`), stdout);
  assert.equal((await annotations()).keep, "me", "other annotations are left alone");
});

test("roll again is a new request: the annotation changes", async () => {
  const first = await ballast(["roll", "kc/events", "-n", ns, ...kube]);
  assert.equal(first.code, 0, first.stderr);
  const before = (await annotations())[annotation];
  await new Promise((r) => setTimeout(r, 5));
  const second = await ballast(["roll", "kc/events", "-n", ns, ...kube]);
  assert.equal(second.code, 0, second.stderr);
  assert.notEqual((await annotations())[annotation], before);
});

test("roll of a missing cluster names namespace and name and changes nothing", async () => {
  const { code, stderr } = await ballast(["roll", "kafkacluster/ghost", "-n", ns, ...kube]);
  assert.equal(code, 1);
  assert.equal(stderr.trim(), `ballast roll: KafkaCluster "ghost" not found in namespace "${ns}"`);
  const ghost = await cluster.api(path.replace(/events$/, "ghost"));
  assert.equal(ghost.status, 404, "a merge patch must not create the object");
});

test("roll refuses kinds that cannot be rolled", async () => {
  const { code, stderr } = await ballast(["roll", "kafkatopic/orders", "-n", ns, ...kube]);
  assert.equal(code, 2);
  assert.match(stderr, /unknown kind "kafkatopic": expected one of kafkacluster/);
});
