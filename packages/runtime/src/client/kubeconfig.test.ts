/**
 * Credentials against the real API server: the dev cluster's kubeconfig,
 * a kubectl-style YAML one with certificate files beside it, exec plugins
 * (a shell script printing an ExecCredential) and a pod's service account
 * directory, played by a temporary one.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, serviceAccountToken, type TestCluster } from "@ballast/dev/testkit";
import { createNamespaces, deleteNamespaces, uniqueName } from "../_test-support.ts";
import { KubeClient } from "./client.ts";
import { InClusterConfigError, inClusterConfig } from "./config.ts";

const ns = uniqueName("kubeconfig-test");
const dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
let cluster: TestCluster;
let admin: KubeClient;
let adminName: string;

before(async () => {
  ({ cluster, client: admin } = await createNamespaces([ns]));
  adminName = await whoami(admin);
});

after(async () => {
  await deleteNamespaces(admin, [ns]);
  rmSync(dir, { recursive: true, force: true });
});

/** Who the API server takes the client for. */
async function whoami(client: KubeClient): Promise<string> {
  const review = await client.request<{ status: { userInfo: { username: string } } }>({
    method: "POST",
    path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
  });
  return review.status.userInfo.username;
}

function pem(buffer: Buffer | undefined, what: string): string {
  if (!buffer) throw new Error(`the test cluster's kubeconfig has no ${what}`);
  return buffer.toString("utf8");
}

test("KubeClient.fromKubeconfig() talks to the cluster with the kubeconfig the dev cluster writes", async () => {
  const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  try {
    assert.equal(client.server, new URL(cluster.server).href);
    const namespace = await client.get({ apiVersion: "v1", kind: "Namespace" }, { name: ns });
    assert.equal(namespace.metadata.name, ns);
    assert.equal(await whoami(client), adminName);
  } finally {
    client.close();
  }
});

test("KubeClient.fromKubeconfig() reads a kubectl-style YAML kubeconfig from $KUBECONFIG, with certificate files beside it and a chosen context", async () => {
  const home = join(dir, "yaml");
  mkdirSync(join(home, "pki"), { recursive: true });
  writeFileSync(join(home, "pki", "ca.crt"), cluster.auth.ca);
  writeFileSync(join(home, "pki", "admin.crt"), pem(cluster.auth.cert, "client certificate"));
  writeFileSync(join(home, "pki", "admin.key"), pem(cluster.auth.key, "client key"));
  writeFileSync(
    join(home, "config"),
    `apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster:
    server: ${cluster.server}
    certificate-authority: pki/ca.crt
- name: elsewhere
  cluster:
    server: https://127.0.0.1:1
users:
- name: admin
  user:
    client-certificate: pki/admin.crt
    client-key: pki/admin.key
contexts:
- name: broken
  context: {cluster: elsewhere, user: admin}
- name: dev
  context: {cluster: dev, user: admin}
current-context: broken
`,
  );
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = join(home, "config");
  try {
    const client = await KubeClient.fromKubeconfig(undefined, { context: "dev" });
    try {
      assert.equal(await whoami(client), adminName);
    } finally {
      client.close();
    }
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  }
});

/**
 * A kubeconfig whose user runs `./bin/plugin.sh`: each run prints
 * `credential-<run>.json` if there is one, else `credential.json`, and
 * leaves the KUBERNETES_EXEC_INFO it was given in `exec-info.json`.
 */
function execKubeconfig(name: string, apiVersion: string): { path: string; folder: string } {
  const folder = join(dir, name);
  mkdirSync(join(folder, "bin"), { recursive: true });
  const script = join(folder, "bin", "plugin.sh");
  writeFileSync(
    script,
    `#!/bin/sh
runs=$(cat "$PLUGIN_DIR/runs" 2>/dev/null || echo 0)
runs=$((runs + 1))
echo "$runs" > "$PLUGIN_DIR/runs"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$PLUGIN_DIR/exec-info.json"
if [ -f "$PLUGIN_DIR/credential-$runs.json" ]; then cat "$PLUGIN_DIR/credential-$runs.json"; else cat "$PLUGIN_DIR/credential.json"; fi
`,
  );
  chmodSync(script, 0o755);
  const path = join(folder, "kubeconfig");
  writeFileSync(
    path,
    JSON.stringify({
      clusters: [
        {
          name: "dev",
          cluster: {
            server: cluster.server,
            "certificate-authority-data": cluster.auth.ca.toString("base64"),
          },
        },
      ],
      users: [
        {
          name: "plugin",
          user: {
            exec: {
              apiVersion,
              command: "./bin/plugin.sh",
              env: [{ name: "PLUGIN_DIR", value: folder }],
              interactiveMode: "Never",
              provideClusterInfo: true,
            },
          },
        },
      ],
      contexts: [{ name: "dev", context: { cluster: "dev", user: "plugin" } }],
      "current-context": "dev",
    }),
  );
  return { path, folder };
}

function writeCredential(file: string, apiVersion: string, status: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify({ apiVersion, kind: "ExecCredential", status }));
}

const runsOf = (folder: string) => Number(readFileSync(join(folder, "runs"), "utf8"));

test("an exec plugin's token (client.authentication.k8s.io/v1) is used and kept: the plugin runs once for many requests", async () => {
  const v1 = "client.authentication.k8s.io/v1";
  const { path, folder } = execKubeconfig("exec-token", v1);
  const token = await serviceAccountToken(cluster, ns, "exec-robot");
  writeCredential(join(folder, "credential.json"), v1, { token });
  const client = await KubeClient.fromKubeconfig(path);
  try {
    assert.equal(await whoami(client), `system:serviceaccount:${ns}:exec-robot`);
    assert.equal(await whoami(client), `system:serviceaccount:${ns}:exec-robot`);
    assert.equal(runsOf(folder), 1);
    const info = JSON.parse(readFileSync(join(folder, "exec-info.json"), "utf8"));
    assert.equal(info.apiVersion, v1);
    assert.equal(info.spec.interactive, false);
    assert.equal(info.spec.cluster.server, cluster.server);
  } finally {
    client.close();
  }
});

test("an exec plugin's client certificate (client.authentication.k8s.io/v1beta1) is presented on the TLS connection", async () => {
  const v1beta1 = "client.authentication.k8s.io/v1beta1";
  const { path, folder } = execKubeconfig("exec-cert", v1beta1);
  writeCredential(join(folder, "credential.json"), v1beta1, {
    clientCertificateData: pem(cluster.auth.cert, "client certificate"),
    clientKeyData: pem(cluster.auth.key, "client key"),
  });
  const client = await KubeClient.fromKubeconfig(path);
  try {
    assert.equal(await whoami(client), adminName);
  } finally {
    client.close();
  }
});

test("a 401 makes the client run the exec plugin again and retry with the new token", async () => {
  const v1 = "client.authentication.k8s.io/v1";
  const { path, folder } = execKubeconfig("exec-401", v1);
  // The first run's token is refused; a cached token would be used until its (distant) expiry.
  writeCredential(join(folder, "credential-1.json"), v1, {
    token: "not-a-valid-token",
    expirationTimestamp: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const token = await serviceAccountToken(cluster, ns, "exec-renewed");
  writeCredential(join(folder, "credential.json"), v1, { token });
  const client = await KubeClient.fromKubeconfig(path);
  try {
    assert.equal(await whoami(client), `system:serviceaccount:${ns}:exec-renewed`);
    assert.equal(runsOf(folder), 2);
  } finally {
    client.close();
  }
});

test("in a pod, the service account's token is re-read when the server refuses the old one", async () => {
  const saDir = join(dir, "serviceaccount");
  mkdirSync(saDir, { recursive: true });
  writeFileSync(join(saDir, "ca.crt"), cluster.auth.ca);
  writeFileSync(join(saDir, "token"), await serviceAccountToken(cluster, ns, "pod-old"));
  const server = new URL(cluster.server);
  const config = inClusterConfig({
    env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port },
    dir: saDir,
  });
  const client = await KubeClient.fromConfig(config);
  try {
    assert.equal(await whoami(client), `system:serviceaccount:${ns}:pod-old`);
    // The kubelet writes a new token; the old one stops working when its ServiceAccount goes.
    writeFileSync(join(saDir, "token"), await serviceAccountToken(cluster, ns, "pod-new"));
    await admin.delete(
      { apiVersion: "v1", kind: "ServiceAccount" },
      { namespace: ns, name: "pod-old" },
    );
    // The API server caches token reviews for a few seconds, so the old token may still pass for a while.
    await eventually("the client to switch to the new token", async () =>
      (await whoami(client)) === `system:serviceaccount:${ns}:pod-new` ? true : undefined,
    );
  } finally {
    client.close();
  }
});

test("KubeClient.fromCluster() outside a pod says it is not in one", async () => {
  const saved = process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_HOST;
  try {
    await assert.rejects(KubeClient.fromCluster(), InClusterConfigError);
  } finally {
    if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
  }
});
