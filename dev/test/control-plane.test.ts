/**
 * The local control plane behaves like a real cluster: these run against the
 * shared cluster of the test run.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ensureBinaries, readVersions } from "@ballast/dev";
import {
  apiWatch,
  eventually,
  serviceAccountToken,
  type TestCluster,
  useCluster,
  type WatchEvent,
} from "@ballast/dev/testkit";

let cluster: TestCluster;
const namespace = `cp-${process.pid}`;

before(async () => {
  cluster = await useCluster();
  const created = await cluster.api("/api/v1/namespaces", {
    method: "POST",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(async () => {
  await cluster.api(`/api/v1/namespaces/${namespace}`, { method: "DELETE" });
});

test("the API server reports the Kubernetes version it was built from", async () => {
  const { status, body } = await cluster.api<{ gitVersion: string; major: string }>("/version");
  assert.equal(status, 200);
  assert.equal(body.gitVersion, readVersions().kubernetes);
  assert.equal(body.major, "1");
});

test("a CRD becomes Established, and its resources are created, listed and watched", async () => {
  const group = "test.ballast.dev";
  const plural = `gadgets${process.pid}`;
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural, singular: `gadget${process.pid}`, kind: `Gadget${process.pid}` },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: { size: { type: "integer", minimum: 1 } },
                  required: ["size"],
                },
              },
            },
          },
        },
      ],
    },
  };
  const created = await cluster.api("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
    method: "POST",
    body: crd,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  await eventually("the CRD to be Established", async () => {
    const { body } = await cluster.api<{
      status?: { conditions?: { type: string; status: string }[] };
    }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.${group}`);
    const established = body.status?.conditions?.find((c) => c.type === "Established");
    return established?.status === "True" ? true : undefined;
  });

  const base = `/apis/${group}/v1/namespaces/${namespace}/${plural}`;
  // Discovery may lag Established by a moment; wait until the resource serves.
  await eventually("the custom resource to be served", async () =>
    (await cluster.api(base)).status === 200 ? true : undefined,
  );
  const list = await cluster.api<{ metadata: { resourceVersion: string } }>(base);

  const events: WatchEvent[] = [];
  const stopWatch = new AbortController();
  const watching = apiWatch(
    cluster.auth,
    `${base}?watch=1&resourceVersion=${list.body.metadata.resourceVersion}`,
    (event) => events.push(event),
    stopWatch.signal,
  );

  const kind = `Gadget${process.pid}`;
  for (const name of ["a", "b"]) {
    const res = await cluster.api(base, {
      method: "POST",
      body: { apiVersion: `${group}/v1`, kind, metadata: { name }, spec: { size: 3 } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const invalid = await cluster.api<{ message: string }>(base, {
    method: "POST",
    body: { apiVersion: `${group}/v1`, kind, metadata: { name: "bad" }, spec: { size: 0 } },
  });
  assert.equal(invalid.status, 422, "the schema's minimum must be enforced");
  assert.match(invalid.body.message, /spec\.size/);

  const listed = await cluster.api<{ items: { metadata: { name: string } }[] }>(base);
  assert.deepEqual(listed.body.items.map((i) => i.metadata.name).sort(), ["a", "b"]);

  await eventually("ADDED events for both resources", async () =>
    events.filter((e) => e.type === "ADDED").length >= 2 ? true : undefined,
  );
  stopWatch.abort();
  await watching;
  const names = events
    .filter((e) => e.type === "ADDED")
    .map((e) => (e.object.metadata as { name: string }).name);
  assert.deepEqual(names.sort(), ["a", "b"]);
});

test("a Deployment produces a ReplicaSet and its Pods (the controller-manager works)", async () => {
  const labels = { app: "web" };
  const res = await cluster.api(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
    method: "POST",
    body: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "web", image: "busybox:1.36", command: ["httpd", "-f"] }] },
        },
      },
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));

  type Owned = {
    items: { metadata: { name: string; ownerReferences?: { kind: string; name: string }[] } }[];
  };
  const replicaSet = await eventually("a ReplicaSet owned by the Deployment", async () => {
    const { body } = await cluster.api<Owned>(`/apis/apps/v1/namespaces/${namespace}/replicasets`);
    return body.items.find((rs) =>
      rs.metadata.ownerReferences?.some((o) => o.kind === "Deployment" && o.name === "web"),
    );
  });
  const pods = await eventually("two Pods owned by the ReplicaSet", async () => {
    const { body } = await cluster.api<Owned>(`/api/v1/namespaces/${namespace}/pods`);
    const owned = body.items.filter((p) =>
      p.metadata.ownerReferences?.some(
        (o) => o.kind === "ReplicaSet" && o.name === replicaSet.metadata.name,
      ),
    );
    return owned.length === 2 ? owned : undefined;
  });
  assert.equal(pods.length, 2);
});

test("deleting an owner garbage-collects what it owns", async () => {
  const cms = `/api/v1/namespaces/${namespace}/configmaps`;
  const owner = await cluster.api<{ metadata: { uid: string } }>(cms, {
    method: "POST",
    body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "owner" } },
  });
  assert.equal(owner.status, 201);
  const dependent = await cluster.api(cms, {
    method: "POST",
    body: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "dependent",
        ownerReferences: [
          { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.body.metadata.uid },
        ],
      },
    },
  });
  assert.equal(dependent.status, 201);

  const deleted = await cluster.api(`${cms}/owner`, {
    method: "DELETE",
    body: { propagationPolicy: "Background" },
  });
  assert.equal(deleted.status, 200);
  await eventually("the dependent ConfigMap to be garbage-collected", async () =>
    (await cluster.api(`${cms}/dependent`)).status === 404 ? true : undefined,
  );
});

test("a Lease can be taken, renewed, and not renewed from a stale read", async () => {
  const leases = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  type Lease = {
    metadata: { name: string; resourceVersion: string };
    spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime?: string };
  };
  const now = () => new Date().toISOString().replace("Z", "000Z");
  const taken = await cluster.api<Lease>(leases, {
    method: "POST",
    body: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "leader" },
      spec: {
        holderIdentity: "one",
        leaseDurationSeconds: 15,
        acquireTime: now(),
        renewTime: now(),
      },
    },
  });
  assert.equal(taken.status, 201, JSON.stringify(taken.body));

  const renewed = await cluster.api<Lease>(`${leases}/leader`, {
    method: "PUT",
    body: { ...taken.body, spec: { ...taken.body.spec, renewTime: now() } },
  });
  assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
  assert.notEqual(renewed.body.metadata.resourceVersion, taken.body.metadata.resourceVersion);

  // A second candidate that read the lease before the renewal must not win.
  const stale = await cluster.api(`${leases}/leader`, {
    method: "PUT",
    body: { ...taken.body, spec: { ...taken.body.spec, holderIdentity: "two" } },
  });
  assert.equal(stale.status, 409);
  const current = await cluster.api<Lease>(`${leases}/leader`);
  assert.equal(current.body.spec.holderIdentity, "one");
});

test("a service account lacking a permission is Forbidden, and allowed once granted", async () => {
  const ns = `/api/v1/namespaces/${namespace}`;
  const token = await serviceAccountToken(cluster, namespace, "reader");

  const denied = await cluster.api<{ reason: string; message: string }>(`${ns}/secrets`, { token });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.reason, "Forbidden");
  assert.match(denied.body.message, new RegExp(`system:serviceaccount:${namespace}:reader`));

  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
  await cluster.api(`${rbac}/roles`, {
    method: "POST",
    body: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "secret-reader" },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }],
    },
  });
  await cluster.api(`${rbac}/rolebindings`, {
    method: "POST",
    body: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "secret-reader" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "secret-reader" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace }],
    },
  });
  await eventually("the RoleBinding to take effect", async () =>
    (await cluster.api(`${ns}/secrets`, { token })).status === 200 ? true : undefined,
  );
  // The grant is exactly what was given: listing, not deleting.
  const stillDenied = await cluster.api(`${ns}/secrets/anything`, { method: "DELETE", token });
  assert.equal(stillDenied.status, 403);
});

test("Pod Security admission rejects a privileged pod in a restricted namespace", async () => {
  const name = `restricted-${process.pid}`;
  const created = await cluster.api("/api/v1/namespaces", {
    method: "POST",
    body: {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    },
  });
  assert.equal(created.status, 201);
  try {
    const pod = await cluster.api<{ message: string }>(`/api/v1/namespaces/${name}/pods`, {
      method: "POST",
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "root" },
        spec: {
          containers: [{ name: "c", image: "busybox:1.36", securityContext: { privileged: true } }],
        },
      },
    });
    assert.equal(pod.status, 403);
    assert.match(pod.body.message, /violates PodSecurity "restricted/);
  } finally {
    await cluster.api(`/api/v1/namespaces/${name}`, { method: "DELETE" });
  }
});

test("kubectl from the cache talks to the cluster", async () => {
  const { code, stdout, stderr } = await cluster.kubectl(
    "get",
    "namespace",
    namespace,
    "-o",
    "name",
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), `namespace/${namespace}`);
});

test("helm from the cache installs a chart into the cluster", async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { execFile } = await import("node:child_process");
  const helm = (await ensureBinaries(["helm"])).helm;
  const chart = mkdtempSync(join(tmpdir(), "ballast-chart-"));
  try {
    mkdirSync(join(chart, "templates"));
    writeFileSync(join(chart, "Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 0.1.0\n");
    writeFileSync(
      join(chart, "templates", "cm.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    );
    const run = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(helm, [`--kubeconfig=${cluster.kubeconfig}`, ...args], (error, stdout, stderr) =>
          resolve({ code: error ? 1 : 0, out: stdout + stderr }),
        ),
      );
    const version = await run("version", "--short");
    assert.match(version.out, new RegExp(readVersions().helm.replaceAll(".", "\\.")));
    const installed = await run(
      "install",
      "probe",
      chart,
      "-n",
      namespace,
      "--set",
      "greeting=hi",
      "--wait",
    );
    assert.equal(installed.code, 0, installed.out);
    const cm = await cluster.api<{ data: { greeting: string } }>(
      `/api/v1/namespaces/${namespace}/configmaps/probe-cm`,
    );
    assert.equal(cm.body.data.greeting, "hi");
  } finally {
    rmSync(chart, { recursive: true, force: true });
  }
});
