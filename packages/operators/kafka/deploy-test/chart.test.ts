/**
 * The Helm chart, rendered and checked: it lints, its generated files match
 * the TypeScript definitions, its RBAC is exactly rbac.ts's (never a
 * wildcard), each enabled operator gets its own Deployment, ServiceAccount,
 * RBAC and Lease, and what it renders is accepted by a real API server,
 * including the Pod Security "restricted" profile for the operator's pod.
 */
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestCluster, useCluster } from "@ballast/dev/testkit";
import { operatorRules } from "@ballast/runtime";
import { parse, parseAllDocuments, stringify } from "yaml";
import { postgres } from "../../postgres/src/operator.ts";
import { clusterRules, leaderElectionRules, namespacedRules, toPolicyRule } from "../src/rbac.ts";
import {
  chartDir,
  helm,
  type Manifest,
  ofKind,
  ok,
  render,
  repoRoot,
  rulesOf,
  run,
  scratchDir,
  uniqueName,
  valuesFile,
} from "./_chart.ts";

const generator = join(repoRoot, "scripts/generate-chart.ts");

describe("chart without a cluster", () => {
  test("helm lint passes", async () => {
    const result = await helm(undefined, "lint", "--strict", chartDir);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  test("generate-chart --check finds the committed CRDs and rules up to date", async () => {
    const result = await run(process.execPath, [generator, "--check"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /up to date/);
  });

  test("generate-chart --check exits 1 naming a stale rules file", async () => {
    const copy = join(scratchDir(), "chart");
    cpSync(chartDir, copy, { recursive: true });
    writeFileSync(join(copy, "files/rules.yaml"), "namespaced: []\n");
    const result = await run(process.execPath, [generator, "--check", "--chart", copy]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /stale/);
    assert.match(result.stderr, /files\/rules\.yaml/);
  });

  test("by default the namespaced rules are one ClusterRole, bound to the operator's ServiceAccount", async () => {
    const { objects } = await render({ release: "r", namespace: "ops" });
    const roles = ofKind(objects, "ClusterRole");
    const main = roles.find((r) => r.metadata.name === "r-ballast-kafka");
    assert.ok(main, "a ClusterRole named r-ballast-kafka");
    assert.deepEqual(rulesOf(main), namespacedRules.map(toPolicyRule));
    const crds = roles.find((r) => r.metadata.name === "r-ballast-kafka-crds");
    assert.ok(crds);
    assert.deepEqual(rulesOf(crds), clusterRules.map(toPolicyRule));
    const leases = ofKind(objects, "Role");
    assert.deepEqual(
      leases.map((r) => [r.metadata.namespace, rulesOf(r)]),
      [["ops", leaderElectionRules.map(toPolicyRule)]],
    );
    for (const binding of [
      ...ofKind(objects, "ClusterRoleBinding"),
      ...ofKind(objects, "RoleBinding"),
    ]) {
      assert.deepEqual((binding as unknown as { subjects: unknown }).subjects, [
        { kind: "ServiceAccount", name: "r-ballast-kafka", namespace: "ops" },
      ]);
    }
  });

  test("watchNamespaces [a, b] gives a Role in a and in b and no ClusterRole for namespaced kinds", async () => {
    const { objects } = await render({
      release: "r",
      namespace: "ops",
      values: { watchNamespaces: ["a", "b"] },
    });
    const clusterRoles = ofKind(objects, "ClusterRole");
    assert.deepEqual(
      clusterRoles.map((r) => r.metadata.name),
      ["r-ballast-kafka-crds"],
    );
    for (const rule of clusterRoles.flatMap(rulesOf))
      assert.deepEqual(rule.apiGroups, ["apiextensions.k8s.io"]);
    const byNamespace = new Map(
      ofKind(objects, "Role")
        .filter((r) => r.metadata.name === "r-ballast-kafka")
        .map((r) => [r.metadata.namespace, rulesOf(r)]),
    );
    assert.deepEqual([...byNamespace.keys()].sort(), ["a", "b"]);
    for (const rules of byNamespace.values())
      assert.deepEqual(rules, namespacedRules.map(toPolicyRule));
    const bindings = ofKind(objects, "RoleBinding").filter(
      (b) => b.metadata.name === "r-ballast-kafka",
    );
    assert.deepEqual(bindings.map((b) => b.metadata.namespace).sort(), ["a", "b"]);
    // The operator watches exactly the namespaces its Roles cover.
    const args = deploymentContainer(objects).args ?? [];
    assert.ok(args.includes("--namespace=a,b"), args.join(" "));
  });

  test("watched namespaces and the release's own lease name are passed to the operator", async () => {
    const { objects } = await render({ values: { watchNamespaces: ["team-a"] } });
    assert.deepEqual(deploymentContainer(objects).args, [
      "--install-crds",
      "--namespace=team-a",
      "--lease-name=ballast-kafka",
    ]);
  });

  test("the CRD ClusterRole grants get and patch only on the operator's own CRDs", async () => {
    const { objects } = await render({ release: "r" });
    const [crds] = ofKind(objects, "ClusterRole").filter(
      (r) => r.metadata.name === "r-ballast-kafka-crds",
    );
    assert.ok(crds);
    const rules = rulesOf(crds);
    const own = ["kafkaclusters.ballast.dev", "kafkatopics.ballast.dev"];
    const getPatch = rules.filter((r) => r.verbs.includes("get") || r.verbs.includes("patch"));
    assert.deepEqual(
      getPatch.map((r) => [r.verbs, r.resourceNames]),
      [[["get", "patch"], own]],
    );
    // Only create is unnamed: RBAC does not limit create by name.
    for (const rule of rules.filter((r) => !r.resourceNames))
      assert.deepEqual(rule.verbs, ["create"]);
  });

  test("an operator that is not enabled gets no Deployment, ServiceAccount or RBAC", async () => {
    const { objects } = await render({ values: { operators: { kafka: { enabled: false } } } });
    const kinds = objects.map((o) => o.kind);
    for (const kind of ["Deployment", "ServiceAccount", "ClusterRole", "Role", "Service"])
      assert.ok(!kinds.includes(kind), `${kind} rendered: ${kinds.join(", ")}`);
  });

  test("operators.postgres.enabled runs the PostgreSQL operator, its image and exactly its declared rules", async () => {
    const { objects } = await render({
      release: "r",
      namespace: "ops",
      values: { operators: { kafka: { enabled: false }, postgres: { enabled: true } } },
    });
    assert.deepEqual(
      ofKind(objects, "Deployment").map((d) => d.metadata.name),
      ["r-ballast-postgres"],
    );
    assert.match(
      deploymentContainer(objects).image ?? "",
      /^ghcr\.io\/ballast-dev\/postgres-operator:/,
    );
    const role = ofKind(objects, "ClusterRole").find(
      (r) => r.metadata.name === "r-ballast-postgres",
    );
    assert.ok(role, "a ClusterRole named r-ballast-postgres");
    assert.deepEqual(rulesOf(role), operatorRules(postgres).namespaced.map(toPolicyRule));
    const crds = ofKind(objects, "ClusterRole").find(
      (r) => r.metadata.name === "r-ballast-postgres-crds",
    );
    assert.deepEqual(crds && rulesOf(crds).find((r) => r.resourceNames)?.resourceNames, [
      "backups.ballast.dev",
      "postgresclusters.ballast.dev",
      "scheduledbackups.ballast.dev",
    ]);
  });

  test("an operator the chart does not have is refused at render time, naming the ones it has", async () => {
    const result = await helm(
      undefined,
      "template",
      "r",
      chartDir,
      "--set",
      "operators.kafak.enabled=true",
    );
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /operators\.kafak: no such operator \(the chart has kafka, postgres, redis, zookeeper\)/,
    );
  });

  test("each enabled operator is its own Deployment, ServiceAccount, RBAC, Lease and metrics Service", async () => {
    // A second operator, as the generator would write it: the chart's files are
    // per operator, so a copy with one more entry is what a second descriptor makes.
    const copy = join(scratchDir(), "chart");
    cpSync(chartDir, copy, { recursive: true });
    const rulesFile = join(copy, "files/rules.yaml");
    const generated = parse(readFileSync(rulesFile, "utf8")) as Record<string, unknown>;
    writeFileSync(rulesFile, stringify({ ...generated, other: generated.kafka }));
    const values = valuesFile({
      operators: { other: { enabled: true, image: { repository: "x/other-operator" } } },
    });
    const yaml = ok(
      await helm(undefined, "template", "r", copy, "--namespace", "ops", "-f", values),
      "helm template",
    );
    const objects = parseAllDocuments(yaml)
      .map((d) => d.toJS() as Manifest | null)
      .filter((o): o is Manifest => o !== null);
    const names = (kind: string) =>
      ofKind(objects, kind)
        .map((o) => o.metadata.name)
        .sort();
    assert.deepEqual(names("Deployment"), ["r-ballast-kafka", "r-ballast-other"]);
    assert.deepEqual(names("ServiceAccount"), ["r-ballast-kafka", "r-ballast-other"]);
    assert.deepEqual(names("Service"), ["r-ballast-kafka-metrics", "r-ballast-other-metrics"]);
    assert.deepEqual(names("ClusterRole"), [
      "r-ballast-kafka",
      "r-ballast-kafka-crds",
      "r-ballast-other",
      "r-ballast-other-crds",
    ]);
    // Each binding names its own operator's ServiceAccount, nobody else's.
    for (const binding of [
      ...ofKind(objects, "ClusterRoleBinding"),
      ...ofKind(objects, "RoleBinding"),
    ]) {
      const operator = binding.metadata.name.startsWith("r-ballast-other") ? "other" : "kafka";
      assert.deepEqual((binding as unknown as { subjects: unknown }).subjects, [
        { kind: "ServiceAccount", name: `r-ballast-${operator}`, namespace: "ops" },
      ]);
    }
    // Disjoint pods: neither Deployment selects the other's.
    const selectors = ofKind(objects, "Deployment").map(
      (d) =>
        (d as unknown as { spec: { selector: { matchLabels: Record<string, string> } } }).spec
          .selector.matchLabels["app.kubernetes.io/component"],
    );
    assert.deepEqual(selectors.sort(), ["kafka-operator", "other-operator"]);
    const leases = ofKind(objects, "Deployment").flatMap(
      (d) =>
        (
          d as unknown as { spec: { template: { spec: { containers: Container[] } } } }
        ).spec.template.spec.containers[0]?.args?.filter((a) => a.startsWith("--lease-name=")) ??
        [],
    );
    assert.deepEqual(leases.sort(), [
      "--lease-name=r-ballast-kafka",
      "--lease-name=r-ballast-other",
    ]);
    const images = ofKind(objects, "Deployment").map(
      (d) =>
        (d as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec
          .template.spec.containers[0]?.image,
    );
    assert.deepEqual(images.sort(), [
      "ghcr.io/ballast-dev/kafka-operator:0.1.0",
      "x/other-operator:0.1.0",
    ]);
  });

  test("no rendered rule uses a wildcard, in either mode", async () => {
    for (const values of [{}, { watchNamespaces: ["a", "b"] }]) {
      const { objects } = await render({ values });
      const rules = [...ofKind(objects, "ClusterRole"), ...ofKind(objects, "Role")].flatMap(
        rulesOf,
      );
      assert.ok(rules.length > 0);
      for (const rule of rules)
        for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs])
          assert.ok(!value.includes("*"), `wildcard in ${JSON.stringify(rule)}`);
    }
  });

  test("the Deployment runs with the values' log level, ports, leader election and probes", async () => {
    const { objects } = await render({ namespace: "ops", values: { logLevel: "debug" } });
    const c = deploymentContainer(objects);
    const env = new Map(c.env.map((e) => [e.name, e]));
    assert.equal(env.get("BALLAST_LOG_LEVEL")?.value, "debug");
    assert.equal(env.get("METRICS_PORT")?.value, "8080");
    assert.equal(env.get("HEALTH_PORT")?.value, "8081");
    assert.deepEqual(env.get("POD_NAMESPACE")?.valueFrom, {
      fieldRef: { fieldPath: "metadata.namespace" },
    });
    assert.deepEqual(c.livenessProbe?.httpGet, { path: "/healthz", port: "health" });
    assert.deepEqual(c.readinessProbe?.httpGet, { path: "/readyz", port: "health" });
    const deployment = ofKind(objects, "Deployment")[0] as unknown as {
      spec: { replicas: number };
    };
    assert.equal(deployment.spec.replicas, 2);
  });

  test("without leader election there is no POD_NAMESPACE and no lease Role", async () => {
    const { objects } = await render({ values: { leaderElection: false, replicas: 1 } });
    const env = deploymentContainer(objects).env.map((e) => e.name);
    assert.ok(!env.includes("POD_NAMESPACE"));
    assert.equal(ofKind(objects, "Role").length, 0);
  });

  test("two replicas without leader election are refused at render time", async () => {
    const result = await helm(
      undefined,
      "template",
      "r",
      chartDir,
      "--set",
      "leaderElection=false",
    );
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /replicas > 1 needs leaderElection/);
  });
});

interface Container {
  image?: string;
  args?: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
  livenessProbe?: { httpGet?: unknown };
  readinessProbe?: { httpGet?: unknown };
}

function podTemplate(objects: readonly Manifest[]): {
  metadata: { labels?: Record<string, string> };
  spec: { containers: Container[]; [field: string]: unknown };
} {
  const [deployment] = ofKind(objects, "Deployment");
  assert.ok(deployment, "the chart renders a Deployment");
  return (deployment as unknown as { spec: { template: ReturnType<typeof podTemplate> } }).spec
    .template;
}

function deploymentContainer(objects: readonly Manifest[]): Container {
  const [container] = podTemplate(objects).spec.containers;
  assert.ok(container);
  return container;
}

describe("chart on a real API server", () => {
  let cluster: TestCluster;
  const created: string[] = [];

  async function namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
    const name = uniqueName(prefix);
    const file = join(scratchDir(), `${name}.yaml`);
    writeFileSync(
      file,
      stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }),
    );
    const result = await cluster.kubectl("apply", "-f", file);
    assert.equal(result.code, 0, result.stderr);
    created.push(name);
    return name;
  }

  async function dryRun(objects: readonly unknown[]) {
    const file = join(scratchDir(), "objects.yaml");
    writeFileSync(file, objects.map((o) => stringify(o)).join("---\n"));
    return cluster.kubectl("apply", "--dry-run=server", "-f", file);
  }

  before(async () => {
    cluster = await useCluster();
  });

  after(async () => {
    for (const name of created) await cluster.kubectl("delete", "namespace", name, "--wait=false");
  });

  test("the default render, CRDs included, passes server-side dry-run", async () => {
    const ns = await namespace("chart-default");
    const { objects } = await render({
      release: uniqueName("r"),
      namespace: ns,
      includeCrds: true,
    });
    // Every operator's CRDs, as the generator wrote them into crds/.
    assert.equal(
      ofKind(objects, "CustomResourceDefinition").length,
      readdirSync(join(chartDir, "crds")).length,
    );
    const result = await dryRun(objects);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /deployment\.apps\/\S+ created \(server dry run\)/);
  });

  test("the watchNamespaces render passes server-side dry-run", async () => {
    const [ns, a, b] = [
      await namespace("chart-ops"),
      await namespace("chart-a"),
      await namespace("chart-b"),
    ];
    const { objects } = await render({
      release: uniqueName("r"),
      namespace: ns,
      values: { watchNamespaces: [a, b] },
    });
    const result = await dryRun(objects);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout.match(/^role\.rbac\.authorization\.k8s\.io\/\S+ created/gm)?.length,
      3,
    );
  });

  test("the operator's pod is admitted where Pod Security enforces restricted", async () => {
    const ns = await namespace("chart-restricted", {
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "latest",
    });
    const { objects } = await render({ release: "psa", namespace: ns });
    // The pod names its ServiceAccount, which admission looks up: create it for real.
    const sa = ofKind(objects, "ServiceAccount");
    const file = join(scratchDir(), "sa.yaml");
    writeFileSync(file, sa.map((o) => stringify(o)).join("---\n"));
    assert.equal((await cluster.kubectl("apply", "-f", file)).code, 0);

    const template = podTemplate(objects);
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "operator", namespace: ns, labels: template.metadata.labels },
      spec: template.spec,
    };
    const admitted = await dryRun([pod]);
    assert.equal(admitted.code, 0, admitted.stderr);
    assert.match(admitted.stdout, /pod\/operator created \(server dry run\)/);

    // The control: the same pod without its security contexts is refused here,
    // so the namespace really enforces the profile.
    const container = { ...(template.spec.containers[0] as object), securityContext: {} };
    const loose = {
      ...pod,
      spec: { ...template.spec, securityContext: {}, containers: [container] },
    };
    const refused = await dryRun([loose]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted/);
  });
});
