/**
 * The chart's ServiceAccount may make exactly the calls rbac.ts declares:
 * the API server's SubjectAccessReview allows every rule × resource × verb
 * (in the namespaces the mode grants them, on the objects a rule names) and
 * denies what is not declared, a foreign CRD included;
 * and the operator itself, run as the image runs it (the bundle of
 * scripts/build.ts) with that ServiceAccount's token, brings a
 * KafkaCluster and a KafkaTopic as far as a node-less cluster allows
 * without a single refused call. (Calls this node-less cluster cannot
 * reach, such as the readiness gate and scale-down deletes, are covered by
 * the SubjectAccessReviews.)
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  eventually,
  serviceAccountToken,
  type TestCluster,
  useCluster,
} from "@ballast/dev/testkit";
import { parse, stringify } from "yaml";
import { bundle, OPERATOR_NODE_FLAGS, operators } from "../../../../scripts/build.ts";
import {
  clusterRules,
  type DeclaredRule,
  leaderElectionRules,
  namespacedRules,
} from "../src/rbac.ts";
import { chartDir, helm, ok, scratchDir, uniqueName, valuesFile } from "./_chart.ts";

interface Access {
  namespace?: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** The object's name, for rules limited by `resourceNames`. */
  name?: string;
}

function describeAccess(a: Access): string {
  const what = `${a.resource}${a.subresource ? `/${a.subresource}` : ""}${a.group ? `.${a.group}` : ""}`;
  return `${a.verb} ${what}${a.name ? ` ${a.name}` : ""}${a.namespace ? ` in ${a.namespace}` : ""}`;
}

/**
 * Every (resource, verb) a list of rules grants, as SubjectAccessReview
 * attributes; a rule with `resourceNames` grants each name, not the kind.
 */
function accesses(rules: readonly DeclaredRule[], namespace?: string): Access[] {
  return rules.flatMap((rule) =>
    rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((path) => {
        const [resource = "", subresource] = path.split("/");
        const names: (string | undefined)[] = rule.resourceNames ?? [undefined];
        return rule.verbs.flatMap((verb) =>
          names.map((name) => ({
            ...(namespace ? { namespace } : {}),
            verb,
            group,
            resource,
            ...(subresource ? { subresource } : {}),
            ...(name ? { name } : {}),
          })),
        );
      }),
    ),
  );
}

const crds = { group: "apiextensions.k8s.io", resource: "customresourcedefinitions" };
/** A CRD of someone else's (it need not exist: authorization comes before the lookup). */
const foreignCrd = "widgets.example.com";

const notDeclared: Omit<Access, "namespace">[] = [
  { verb: "get", group: "", resource: "secrets" },
  { verb: "list", group: "", resource: "secrets" },
  { verb: "create", group: "", resource: "pods", subresource: "exec" },
  { verb: "update", group: "", resource: "pods" },
  { verb: "list", group: "", resource: "persistentvolumeclaims" },
  { verb: "delete", group: "ballast.dev", resource: "kafkaclusters" },
  { verb: "create", group: "ballast.dev", resource: "kafkaclusters" },
  { verb: "delete", group: "", resource: "services" },
  { verb: "delete", group: "coordination.k8s.io", resource: "leases" },
];

describe("the chart's ServiceAccount can make exactly the declared calls", () => {
  let cluster: TestCluster;
  const releaseNs = uniqueName("rbac-ops");
  const scopedNs = uniqueName("rbac-scoped");
  const watched = uniqueName("rbac-watched");
  const elsewhere = uniqueName("rbac-else");
  const wide = uniqueName("wide");
  const scoped = uniqueName("scoped");
  const installed: [string, string][] = [];
  let operator: ChildProcess | undefined;
  let operatorOutput = "";

  function user(release: string, namespace: string) {
    return {
      user: `system:serviceaccount:${namespace}:${release}-ballast-kafka`,
      groups: [
        "system:serviceaccounts",
        `system:serviceaccounts:${namespace}`,
        "system:authenticated",
      ],
    };
  }

  async function allowed(who: ReturnType<typeof user>, a: Access): Promise<boolean> {
    const { namespace, verb, group, resource, subresource, name } = a;
    const res = await cluster.api<{ status: { allowed: boolean } }>(
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        method: "POST",
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            ...who,
            resourceAttributes: {
              verb,
              group,
              resource,
              ...(namespace ? { namespace } : {}),
              ...(subresource ? { subresource } : {}),
              ...(name ? { name } : {}),
            },
          },
        },
      },
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.status.allowed;
  }

  async function expectAll(who: ReturnType<typeof user>, list: Access[], want: boolean) {
    const wrong: string[] = [];
    for (const a of list) if ((await allowed(who, a)) !== want) wrong.push(describeAccess(a));
    assert.deepEqual(wrong, [], `${who.user} should ${want ? "" : "not "}be allowed these`);
  }

  async function createNs(name: string): Promise<void> {
    const res = await cluster.kubectl("create", "namespace", name);
    assert.equal(res.code, 0, res.stderr);
  }

  async function apply(object: unknown): Promise<void> {
    const file = join(scratchDir(), "object.yaml");
    writeFileSync(file, stringify(object));
    const res = await cluster.kubectl("apply", "-f", file);
    assert.equal(res.code, 0, res.stderr);
  }

  before(async () => {
    cluster = await useCluster();
    for (const ns of [releaseNs, scopedNs, watched, elsewhere]) await createNs(ns);
    ok(await helm(cluster.kubeconfig, "install", wide, chartDir, "-n", releaseNs), "helm install");
    installed.push([wide, releaseNs]);
    const values = valuesFile({ watchNamespaces: [watched], replicas: 1 });
    ok(
      await helm(cluster.kubeconfig, "install", scoped, chartDir, "-n", scopedNs, "-f", values),
      "helm install (watchNamespaces)",
    );
    installed.push([scoped, scopedNs]);
  });

  after(async () => {
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator?.once("exit", r));
      operator.kill("SIGTERM");
      await exited;
    }
    // A topic's finalizer waits for a broker that will never run here.
    await cluster.kubectl(
      "patch",
      "kafkatopics.ballast.dev",
      "orders",
      "-n",
      watched,
      "--type=merge",
      "-p",
      '{"metadata":{"finalizers":null}}',
    );
    for (const [release, ns] of installed)
      await helm(cluster.kubeconfig, "uninstall", release, "-n", ns);
    for (const ns of [releaseNs, scopedNs, watched, elsewhere])
      await cluster.kubectl("delete", "namespace", ns, "--wait=false");
  });

  test("watching all namespaces: every declared call is allowed, in any namespace", async () => {
    const who = user(wide, releaseNs);
    await expectAll(who, accesses(namespacedRules, elsewhere), true);
    await expectAll(who, accesses(namespacedRules, releaseNs), true);
    await expectAll(who, accesses(clusterRules), true);
    await expectAll(who, accesses(leaderElectionRules, releaseNs), true);
  });

  test("watching all namespaces: the lease is only granted in the release namespace", async () => {
    await expectAll(user(wide, releaseNs), accesses(leaderElectionRules, elsewhere), false);
  });

  test("watching one namespace: namespaced calls are allowed there and nowhere else", async () => {
    const who = user(scoped, scopedNs);
    await expectAll(who, accesses(namespacedRules, watched), true);
    await expectAll(who, accesses(namespacedRules, elsewhere), false);
    await expectAll(who, accesses(clusterRules), true);
    await expectAll(who, accesses(leaderElectionRules, scopedNs), true);
  });

  test("calls that are not declared are denied (secrets, nodes, pods/exec, …)", async () => {
    for (const [release, ns] of installed) {
      const who = user(release, ns);
      await expectAll(
        who,
        notDeclared.map((a) => ({ ...a, namespace: elsewhere })),
        false,
      );
      await expectAll(who, [{ verb: "list", group: "", resource: "nodes" }], false);
      await expectAll(
        who,
        [{ verb: "delete", group: "apiextensions.k8s.io", resource: "customresourcedefinitions" }],
        false,
      );
    }
  });

  test("CRDs: get and patch only of the operator's own; someone else's, or all of them, are refused", async () => {
    for (const [release, ns] of installed) {
      const who = user(release, ns);
      await expectAll(
        who,
        ["kafkaclusters.ballast.dev", "kafkatopics.ballast.dev"].flatMap((name) =>
          ["get", "patch"].map((verb) => ({ ...crds, verb, name })),
        ),
        true,
      );
      await expectAll(
        who,
        [
          { ...crds, verb: "get", name: foreignCrd },
          { ...crds, verb: "patch", name: foreignCrd },
          { ...crds, verb: "update", name: "kafkaclusters.ballast.dev" },
          { ...crds, verb: "get" },
          { ...crds, verb: "list" },
          { ...crds, verb: "watch" },
        ],
        false,
      );
    }
    // And as real requests with the ServiceAccount's token: its own CRD is
    // read, someone else's is refused before the API server even looks it up.
    const token = await serviceAccountToken(cluster, scopedNs, `${scoped}-ballast-kafka`);
    const base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    const own = await eventually("the CRD ClusterRoleBinding to be in force", async () => {
      const r = await cluster.api(`${base}/kafkaclusters.ballast.dev`, { token });
      return r.status === 403 ? undefined : r;
    });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    const foreign = await cluster.api(`${base}/${foreignCrd}`, { token });
    assert.equal(foreign.status, 403, JSON.stringify(foreign.body));
    assert.match(JSON.stringify(foreign.body), /cannot get resource/);
    const list = await cluster.api(base, { token });
    assert.equal(list.status, 403, JSON.stringify(list.body));
  });

  test("server-side apply that creates needs create as well as patch (why applied kinds have both)", async () => {
    const ns = elsewhere;
    await apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "patch-only", namespace: ns },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["patch"] }],
    });
    await apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "patch-only", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "patch-only" },
      subjects: [{ kind: "ServiceAccount", name: "patch-only", namespace: ns }],
    });
    const token = await serviceAccountToken(cluster, ns, "patch-only");
    const path = `/api/v1/namespaces/${ns}/configmaps/probe?fieldManager=test&force=true`;
    const body = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "probe" } };
    const res = await eventually("the patch-only Role to be in force", async () => {
      const r = await cluster.api(path, {
        method: "PATCH",
        body,
        token,
        contentType: "application/apply-patch+yaml",
      });
      // Before the RBAC cache has the binding, patch itself is refused; wait for that to pass.
      const msg = JSON.stringify(r.body);
      return r.status === 403 && msg.includes('cannot patch resource "configmaps"') ? undefined : r;
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.match(JSON.stringify(res.body), /cannot create resource \\?"configmaps\\?"/);
  });

  test("the operator, run as the ServiceAccount, reconciles a KafkaCluster and a KafkaTopic without a refused call", async () => {
    const kubeconfig = await serviceAccountKubeconfig(scoped, scopedNs);
    // The operator as the image runs it: the bundle, with the image's Node flags.
    const bundled = join(scratchDir(), "kafka-operator.mjs");
    await bundle(operators["kafka-operator"], bundled);
    operator = spawn(
      process.execPath,
      [
        ...OPERATOR_NODE_FLAGS,
        bundled,
        `--kubeconfig=${kubeconfig}`,
        "--install-crds",
        `--namespace=${watched}`,
      ],
      {
        env: {
          ...process.env,
          METRICS_PORT: "0",
          HEALTH_PORT: "0",
          POD_NAMESPACE: scopedNs,
          BALLAST_LOG_LEVEL: "debug",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const take = (chunk: Buffer) => {
      operatorOutput += chunk.toString();
    };
    operator.stdout?.on("data", take);
    operator.stderr?.on("data", take);

    await apply({
      apiVersion: "ballast.dev/v1alpha1",
      kind: "KafkaCluster",
      metadata: { name: "events", namespace: watched },
      spec: {
        version: "3.9.1",
        brokers: 3,
        controllers: { replicas: 3, mode: "combined" },
        storage: { size: "1Gi" },
      },
    });
    // Status (patch), pods and claims (create), Services, ConfigMap and budget (apply).
    const kinds = ["Pod", "PersistentVolumeClaim", "Service", "ConfigMap", "PodDisruptionBudget"];
    await withOutput(() =>
      eventually(
        "the operator to write the cluster's status and create its objects",
        async () => {
          const kc = await cluster.kubectl(
            "get",
            "kafkacluster/events",
            "-n",
            watched,
            "-o",
            "json",
          );
          const status = (JSON.parse(kc.stdout || "{}") as { status?: { clusterId?: string } })
            .status;
          if (!status?.clusterId) return undefined;
          const got = await cluster.kubectl(
            "get",
            "pods,pvc,services,configmaps,poddisruptionbudgets",
            "-n",
            watched,
            "-l",
            "app.kubernetes.io/instance=events",
            "-o",
            "json",
          );
          if (got.code !== 0) return undefined;
          const have = new Set(
            (JSON.parse(got.stdout) as { items: { kind: string }[] }).items.map((i) => i.kind),
          );
          return kinds.every((k) => have.has(k)) ? true : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 1000 },
      ),
    );

    // The finalizer (patch) and the status (apply) of a topic.
    await apply({
      apiVersion: "ballast.dev/v1alpha1",
      kind: "KafkaTopic",
      metadata: { name: "orders", namespace: watched },
      spec: { cluster: "events", partitions: 3, replicas: 3 },
    });
    await withOutput(() =>
      eventually(
        "the topic's finalizer and status",
        async () => {
          const got = await cluster.kubectl(
            "get",
            "kafkatopic/orders",
            "-n",
            watched,
            "-o",
            "json",
          );
          if (got.code !== 0) return undefined;
          const t = JSON.parse(got.stdout) as {
            metadata: { finalizers?: string[] };
            status?: { conditions?: { type: string }[] };
          };
          return t.metadata.finalizers?.includes("kafka.ballast.dev/topic") &&
            t.status?.conditions?.some((c) => c.type === "Ready")
            ? true
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      ),
    );

    // An Event (events.k8s.io create): growing the cluster records a ScaleUp.
    const grow = await cluster.kubectl(
      "patch",
      "kafkacluster/events",
      "-n",
      watched,
      "--type=merge",
      "-p",
      '{"spec":{"brokers":4}}',
    );
    assert.equal(grow.code, 0, grow.stderr);
    await withOutput(() =>
      eventually(
        "a ScaleUp event recorded by the operator",
        async () => {
          const got = await cluster.kubectl(
            "get",
            "events.events.k8s.io",
            "-n",
            watched,
            "-o",
            "json",
          );
          const items = (
            JSON.parse(got.stdout || '{"items":[]}') as {
              items: { reason?: string; reportingController?: string }[];
            }
          ).items;
          return items.some(
            (e) => e.reason === "ScaleUp" && e.reportingController === "ballast.dev/kafka-operator",
          )
            ? true
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      ),
    );

    // Leader election (get/create/update of the Lease in the release namespace).
    const lease = await cluster.kubectl(
      "get",
      "lease",
      "ballast-kafka-operator",
      "-n",
      scopedNs,
      "-o",
      "jsonpath={.spec.holderIdentity}",
    );
    assert.equal(lease.code, 0, lease.stderr);
    assert.notEqual(lease.stdout, "");

    assert.equal(operator.exitCode, null, `the operator exited:\n${operatorOutput}`);
    const refused = operatorOutput.split("\n").filter((line) => /forbidden|\b403\b/i.test(line));
    assert.deepEqual(refused, [], "the operator was refused a call");
  });

  /** Fails with what the operator logged, to say why it did not get there. */
  async function withOutput<T>(wait: () => Promise<T>): Promise<T> {
    try {
      return await wait();
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\noperator output:\n${operatorOutput.slice(-6000)}`,
      );
    }
  }

  /** A kubeconfig for the release's ServiceAccount, with a token from the TokenRequest API. */
  async function serviceAccountKubeconfig(release: string, namespace: string): Promise<string> {
    const admin = parse(readFileSync(cluster.kubeconfig, "utf8")) as {
      clusters: { cluster: Record<string, string> }[];
    };
    const server = admin.clusters[0]?.cluster;
    assert.ok(server);
    const token = await serviceAccountToken(cluster, namespace, `${release}-ballast-kafka`);
    const file = join(scratchDir(), "kubeconfig");
    writeFileSync(
      file,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: server }],
        users: [{ name: "sa", user: { token } }],
        contexts: [{ name: "sa", context: { cluster: "c", user: "sa" } }],
        "current-context": "sa",
      }),
    );
    return file;
  }
});
