import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type PrivateTestCluster, startTestCluster } from "@ballast/dev/testkit";
import { ballast } from "../_test-cli.ts";

// CRDs are cluster-wide: "not installed yet" can only be seen on a cluster of our own.
let cluster: PrivateTestCluster;
let kube: string[];

before(async () => {
  cluster = await startTestCluster({ name: "cli-install" });
  kube = ["--kubeconfig", cluster.kubeconfig];
});

after(async () => {
  await cluster?.stop();
});

const crdNames = ["kafkaclusters.ballast.dev", "kafkatopics.ballast.dev"];

test("before install, commands say the CRD is missing and how to install it", async () => {
  const status = await ballast(["status", "kafkacluster/events", ...kube]);
  assert.equal(status.code, 1);
  assert.equal(
    status.stderr.trim(),
    "ballast status: the KafkaCluster CRD is not installed in this cluster: run `ballast install`",
  );
  const topic = await ballast(["status", "kt/orders", ...kube]);
  assert.equal(topic.code, 1);
  assert.match(
    topic.stderr,
    /the KafkaTopic CRD is not installed in this cluster: run `ballast install`/,
  );
  const roll = await ballast(["roll", "kc/events", ...kube]);
  assert.equal(roll.code, 1);
  assert.match(roll.stderr, /the KafkaCluster CRD is not installed/);
  const run = await ballast(["run", "--metrics-port", "0", "--health-port", "0", ...kube]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /the KafkaCluster CRD is not installed in this cluster: run `ballast install` or pass --install-crds/,
  );
});

test("install creates every CRD, reports them Established, and the API server serves them", async () => {
  const { code, stdout, stderr } = await ballast(["install", ...kube]);
  assert.equal(code, 0, stderr);
  assert.ok(stdout.includes(`Installing Ballast CRDs into ${cluster.server}`), stdout);
  assert.match(stdout, /KafkaCluster\s+kafkaclusters\.ballast\.dev\s+created\s+Established/);
  assert.match(stdout, /KafkaTopic\s+kafkatopics\.ballast\.dev\s+created\s+Established/);
  for (const name of crdNames) {
    const crd = await cluster.api<{ status: { conditions: { type: string; status: string }[] } }>(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    assert.equal(crd.status, 200, name);
    assert.equal(crd.body.status.conditions.find((c) => c.type === "Established")?.status, "True");
  }
  // Served: listing each kind works.
  for (const plural of ["kafkaclusters", "kafkatopics"]) {
    const list = await cluster.api(`/apis/ballast.dev/v1alpha1/${plural}`);
    assert.equal(list.status, 200, `${plural}: ${JSON.stringify(list.body)}`);
  }
  const status = await ballast(["status", "kafkacluster/events", ...kube]);
  assert.equal(status.code, 1);
  assert.match(status.stderr, /KafkaCluster "events" not found in namespace "default"/);
});

test("install again leaves up-to-date CRDs unchanged", async () => {
  const before = await cluster.api<{ metadata: { generation: number } }>(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdNames[0]}`,
  );
  const { code, stdout, stderr } = await ballast(["install", ...kube]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /kafkaclusters\.ballast\.dev\s+unchanged\s+Established/);
  assert.match(stdout, /kafkatopics\.ballast\.dev\s+unchanged\s+Established/);
  const afterwards = await cluster.api<{ metadata: { generation: number } }>(
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdNames[0]}`,
  );
  assert.equal(afterwards.body.metadata.generation, before.body.metadata.generation);
});

test("install upgrades a CRD that differs and says it updated it", async () => {
  // An older version of the CRD: without the short names.
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdNames[1]}`;
  const patched = await cluster.api(path, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { spec: { names: { shortNames: null } } },
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const { code, stdout, stderr } = await ballast(["install", ...kube]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /kafkatopics\.ballast\.dev\s+updated\s+Established/);
  assert.match(stdout, /kafkaclusters\.ballast\.dev\s+unchanged\s+Established/);
  const crd = await cluster.api<{ spec: { names: { shortNames?: string[] } } }>(path);
  assert.deepEqual(crd.body.spec.names.shortNames, ["kt"]);
});
