/**
 * The chart's life on a real cluster: install, upgrade with a changed value,
 * rollback, uninstall. The shared cluster has no nodes, so the operator's
 * pods never run: what is checked is Helm's release and the objects it made.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type TestCluster, useCluster } from "@ballast/dev/testkit";
import { chartDir, helm, ok, uniqueName } from "./_chart.ts";

describe("helm install, upgrade, rollback and uninstall of the chart", () => {
  let cluster: TestCluster;
  const namespace = uniqueName("helm-life");
  const release = uniqueName("bl");
  // The Kafka operator's objects: each operator's are named <release>-ballast-<operator>.
  const fullname = `${release}-ballast-kafka`;
  let installed = false;

  const h = (...args: string[]) => helm(cluster.kubeconfig, ...args, "--namespace", namespace);

  async function logLevel(): Promise<string | undefined> {
    const got = await cluster.kubectl("get", "deployment", fullname, "-n", namespace, "-o", "json");
    assert.equal(got.code, 0, got.stderr);
    const deployment = JSON.parse(got.stdout) as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    return deployment.spec.template.spec.containers[0]?.env.find(
      (e) => e.name === "BALLAST_LOG_LEVEL",
    )?.value;
  }

  async function status(): Promise<{ status: string; version: number }> {
    const out = ok(await h("status", release, "-o", "json"), "helm status");
    const parsed = JSON.parse(out) as { info: { status: string }; version: number };
    return { status: parsed.info.status, version: parsed.version };
  }

  async function exists(...what: string[]): Promise<boolean> {
    return (await cluster.kubectl("get", ...what)).code === 0;
  }

  before(async () => {
    cluster = await useCluster();
  });

  after(async () => {
    if (installed) await h("uninstall", release);
    await cluster.kubectl("delete", "namespace", namespace, "--wait=false");
  });

  test("install deploys the release and creates its objects and CRDs", async () => {
    ok(await h("install", release, chartDir, "--create-namespace"), "helm install");
    installed = true;
    assert.deepEqual(await status(), { status: "deployed", version: 1 });
    for (const object of [
      ["serviceaccount", fullname, "-n", namespace],
      ["deployment", fullname, "-n", namespace],
      ["service", `${fullname}-metrics`, "-n", namespace],
      ["role", `${fullname}-leader-election`, "-n", namespace],
      ["rolebinding", `${fullname}-leader-election`, "-n", namespace],
      ["clusterrole", fullname],
      ["clusterrolebinding", fullname],
      ["clusterrole", `${fullname}-crds`],
      ["clusterrolebinding", `${fullname}-crds`],
      ["crd", "kafkaclusters.ballast.dev"],
      ["crd", "kafkatopics.ballast.dev"],
    ])
      assert.ok(await exists(...object), `${object.join(" ")} exists`);
    assert.equal(await logLevel(), "info");
  });

  test("upgrade with logLevel=debug changes the Deployment's environment", async () => {
    ok(await h("upgrade", release, chartDir, "--set", "logLevel=debug"), "helm upgrade");
    assert.deepEqual(await status(), { status: "deployed", version: 2 });
    assert.equal(await logLevel(), "debug");
  });

  test("rollback to revision 1 puts the environment back", async () => {
    ok(await h("rollback", release, "1"), "helm rollback");
    assert.deepEqual(await status(), { status: "deployed", version: 3 });
    assert.equal(await logLevel(), "info");
    const history = JSON.parse(ok(await h("history", release, "-o", "json"), "helm history")) as {
      revision: number;
      status: string;
    }[];
    assert.deepEqual(
      history.map((r) => [r.revision, r.status]),
      [
        [1, "superseded"],
        [2, "superseded"],
        [3, "deployed"],
      ],
    );
  });

  test("uninstall removes the release's objects but keeps the CRDs (and so the users' data)", async () => {
    ok(await h("uninstall", release, "--wait"), "helm uninstall");
    installed = false;
    assert.notEqual((await h("status", release)).code, 0);
    assert.ok(!(await exists("deployment", fullname, "-n", namespace)));
    assert.ok(!(await exists("clusterrole", fullname)));
    assert.ok(!(await exists("clusterrolebinding", `${fullname}-crds`)));
    assert.ok(await exists("crd", "kafkaclusters.ballast.dev"));
  });
});
