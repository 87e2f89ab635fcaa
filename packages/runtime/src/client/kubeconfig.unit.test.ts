import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, test } from "node:test";
import { InClusterConfigError, inClusterConfig } from "./config.ts";
import { ExecCredentials, TokenFileCredentials } from "./credentials.ts";
import { KubeconfigError, loadKubeconfig } from "./kubeconfig.ts";

const root = mkdtempSync(join(tmpdir(), "kubeconfig-unit-"));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** A fresh directory holding `files` (name → content). */
function dir(files: Record<string, string>): string {
  const path = join(root, String(dirs++));
  mkdirSync(path, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(path, name, ".."), { recursive: true });
    writeFileSync(join(path, name), content);
  }
  return path;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");
const noEnv = { env: {}, home: "/nonexistent-home" };

/** What kubectl writes: YAML, lists of named entries, base64 data. */
const kubectlStyle = `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${b64("CA-PEM")}
    server: https://prod.example:6443
    tls-server-name: api.internal
  name: prod
- cluster:
    server: https://staging.example:6443
    insecure-skip-tls-verify: true
  name: staging
contexts:
- context:
    cluster: prod
    user: admin
    namespace: team
  name: prod-admin
- context:
    cluster: staging
    user: robot
  name: staging-robot
current-context: prod-admin
preferences: {}
users:
- name: admin
  user:
    client-certificate-data: ${b64("CERT-PEM")}
    client-key-data: ${b64("KEY-PEM")}
- name: robot
  user:
    token: 12345
`;

test("loadKubeconfig() reads a kubectl-written YAML file: current-context, server, CA and client certificate", async () => {
  const path = join(dir({ config: kubectlStyle }), "config");
  const config = await loadKubeconfig(path, noEnv);
  assert.equal(config.server, "https://prod.example:6443");
  assert.equal(config.tlsServerName, "api.internal");
  assert.equal(String(config.ca), "CA-PEM");
  assert.equal(String(config.cert), "CERT-PEM");
  assert.equal(String(config.key), "KEY-PEM");
  assert.equal(config.insecureSkipTlsVerify, undefined);
  assert.equal(config.token, undefined);
});

test("loadKubeconfig() uses the context given instead of current-context; an unquoted numeric token is a string", async () => {
  const path = join(dir({ config: kubectlStyle }), "config");
  const config = await loadKubeconfig(path, { ...noEnv, context: "staging-robot" });
  assert.equal(config.server, "https://staging.example:6443");
  assert.equal(config.insecureSkipTlsVerify, true);
  assert.equal(config.token, "12345");
  assert.equal(config.cert, undefined);
});

test("loadKubeconfig() reads JSON kubeconfigs, as the dev cluster writes them", async () => {
  const json = JSON.stringify({
    clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
    users: [{ name: "u", user: { username: "ann", password: "secret" } }],
    contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    "current-context": "x",
  });
  const config = await loadKubeconfig(join(dir({ kc: json }), "kc"), noEnv);
  assert.deepEqual(config.basicAuth, { username: "ann", password: "secret" });
});

test("loadKubeconfig() resolves relative file paths against the kubeconfig's directory, not the working directory", async () => {
  const base = dir({
    "conf/kubeconfig": `clusters:
- name: c
  cluster: {server: "https://k:6443", certificate-authority: pki/ca.crt}
users:
- name: u
  user: {client-certificate: pki/u.crt, client-key: ../keys/u.key, tokenFile: tok}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`,
    "conf/pki/ca.crt": "CA",
    "conf/pki/u.crt": "CERT",
    "keys/u.key": "KEY",
    "conf/tok": "file-token\n",
  });
  const config = await loadKubeconfig(join(base, "conf", "kubeconfig"), noEnv);
  assert.equal(String(config.ca), "CA");
  assert.equal(String(config.cert), "CERT");
  assert.equal(String(config.key), "KEY");
  assert.ok(config.credentials instanceof TokenFileCredentials);
  assert.equal(config.credentials.path, join(base, "conf", "tok"));
  assert.deepEqual(await config.credentials.get(), { token: "file-token" });
});

test("loadKubeconfig() prefers *-data fields over the file fields beside them", async () => {
  const base = dir({
    kc: `clusters:
- name: c
  cluster: {server: "https://k", certificate-authority: missing.crt, certificate-authority-data: ${b64("DATA")}}
contexts: [{name: x, context: {cluster: c}}]
current-context: x
`,
  });
  const config = await loadKubeconfig(join(base, "kc"), noEnv);
  assert.equal(String(config.ca), "DATA");
});

test("loadKubeconfig() merges the files of $KUBECONFIG: the first to define a name or current-context wins, missing files are skipped", async () => {
  const first = dir({
    kc: `clusters: [{name: shared, cluster: {server: "https://first", certificate-authority: ca.crt}}]
users: [{name: shared, user: {token: first-token}}]
current-context: a
`,
    "ca.crt": "FIRST-CA",
  });
  const second = dir({
    kc: `clusters:
- {name: shared, cluster: {server: "https://second"}}
- {name: other, cluster: {server: "https://other", certificate-authority: ca.crt}}
users: [{name: shared, user: {token: second-token}}]
contexts:
- {name: a, context: {cluster: shared, user: shared}}
- {name: b, context: {cluster: other, user: shared}}
current-context: b
`,
    "ca.crt": "SECOND-CA",
  });
  const env = {
    KUBECONFIG: [join(first, "kc"), join(root, "does-not-exist"), join(second, "kc")].join(
      delimiter,
    ),
  };
  const a = await loadKubeconfig(undefined, { env, home: "/nonexistent-home" });
  assert.equal(a.server, "https://first");
  assert.equal(a.token, "first-token");
  assert.equal(String(a.ca), "FIRST-CA");
  // The second file's cluster reads its CA next to the second file.
  const b = await loadKubeconfig(undefined, { env, home: "/nonexistent-home", context: "b" });
  assert.equal(b.server, "https://other");
  assert.equal(String(b.ca), "SECOND-CA");
});

test("loadKubeconfig() falls back to ~/.kube/config, then to the pod's service account", async () => {
  const home = dir({
    ".kube/config": `clusters: [{name: c, cluster: {server: "https://home"}}]
contexts: [{name: x, context: {cluster: c}}]
current-context: x
`,
  });
  assert.equal((await loadKubeconfig(undefined, { env: {}, home })).server, "https://home");
  // No kubeconfig anywhere, but in a pod: the service account's directory is read (and is missing here).
  await assert.rejects(
    loadKubeconfig(undefined, {
      env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" },
      home: "/nonexistent-home",
    }),
    (error: Error) =>
      error instanceof InClusterConfigError && /service account/.test(error.message),
  );
  await assert.rejects(
    loadKubeconfig(undefined, { env: {}, home: "/nonexistent-home" }),
    (error: Error) =>
      error instanceof KubeconfigError &&
      error.file === "/nonexistent-home/.kube/config" &&
      /KUBECONFIG is not set/.test(error.message),
  );
});

/** Asserts `loadKubeconfig` of `text` fails with a KubeconfigError naming the file and matching `message`. */
async function rejects(text: string, message: RegExp, options: { context?: string } = {}) {
  const path = join(dir({ kc: text }), "kc");
  await assert.rejects(loadKubeconfig(path, { ...noEnv, ...options }), (error: Error) => {
    assert.ok(error instanceof KubeconfigError, `${error.name}: ${error.message}`);
    assert.equal(error.name, "KubeconfigError");
    assert.ok(error.message.includes(path), `the message names the file: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

const oneCluster = `clusters: [{name: c, cluster: {server: "https://k"}}]\n`;

test("loadKubeconfig() names the file and the problem: missing file, bad YAML, no current-context, unknown context", async () => {
  const missing = join(root, "no-such-kubeconfig");
  await assert.rejects(
    loadKubeconfig(missing, noEnv),
    (error: Error) => error instanceof KubeconfigError && error.message.includes(missing),
  );
  await rejects("clusters: [unclosed\n", /not valid YAML/);
  await rejects("- just\n- a list\n", /top level is not a mapping/);
  await rejects(oneCluster, /no current-context/);
  await rejects(
    `${oneCluster}contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: gone\n`,
    /current-context "gone" is not defined \(contexts: x\)/,
  );
  await rejects(
    `${oneCluster}contexts: [{name: x, context: {cluster: c}}]\n`,
    /context "nope" is not defined/,
    { context: "nope" },
  );
});

test("loadKubeconfig() rejects a context naming a missing cluster or user, and a cluster without server", async () => {
  await rejects(
    `contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    /context "x" names cluster "c", which is not defined/,
  );
  await rejects(
    `${oneCluster}contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    /context "x" names user "u", which is not defined/,
  );
  await rejects(
    `clusters: [{name: c, cluster: {certificate-authority-data: QQ==}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n`,
    /cluster "c" has no server/,
  );
  await rejects(
    `clusters: [{name: c, cluster: {server: "ftp://k"}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n`,
    /neither https: nor http:/,
  );
});

test("loadKubeconfig() names an unreadable certificate file with its resolved path", async () => {
  const base = dir({
    kc: `${oneCluster}users: [{name: u, user: {client-certificate: certs/u.crt, client-key-data: QQ==}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
  });
  await assert.rejects(loadKubeconfig(join(base, "kc"), noEnv), (error: Error) => {
    assert.ok(error instanceof KubeconfigError);
    assert.match(error.message, /user "u" client-certificate .*certs\/u\.crt cannot be read/);
    assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOENT");
    return true;
  });
});

test("loadKubeconfig() refuses contradictions rather than guessing", async () => {
  const ctx = `contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;
  await rejects(
    `clusters: [{name: c, cluster: {server: "https://k", insecure-skip-tls-verify: true, certificate-authority-data: QQ==}}]\n${ctx}`,
    /both insecure-skip-tls-verify and a certificate authority/,
  );
  await rejects(
    `${oneCluster}users: [{name: u, user: {token: t, username: a, password: b}}]\n${ctx}`,
    /more than one way to log in: token, username\/password/,
  );
  await rejects(
    `${oneCluster}users: [{name: u, user: {client-certificate-data: QQ==}}]\n${ctx}`,
    /client certificate or key without the other/,
  );
  await rejects(
    `${oneCluster}users: [{name: u, user: {auth-provider: {name: gcp}}}]\n${ctx}`,
    /auth-provider "gcp".*exec credential plugin/,
  );
  await rejects(
    `${oneCluster}users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}}]\n${ctx}`,
    /apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/,
  );
  await rejects(
    `${oneCluster}users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: login, interactiveMode: Always}}}]\n${ctx}`,
    /login needs a terminal/,
  );
});

test("loadKubeconfig() turns as, as-groups and as-user-extra into impersonation headers", async () => {
  const base = dir({
    kc: `${oneCluster}users:
- name: u
  user:
    token: t
    as: jane
    as-groups: [dev, ops]
    as-user-extra: {reason: [testing]}
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
  });
  const config = await loadKubeconfig(join(base, "kc"), noEnv);
  assert.deepEqual(config.headers, {
    "impersonate-user": "jane",
    "impersonate-group": ["dev", "ops"],
    "impersonate-extra-reason": ["testing"],
  });
});

test("loadKubeconfig() resolves an exec command with a slash against the kubeconfig's directory and tells the plugin about the cluster when asked", async () => {
  const base = dir({
    kc: `clusters:
- name: c
  cluster:
    server: "https://k"
    certificate-authority-data: ${b64("CA")}
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {audience: prod}
users:
- name: relative
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/login
      args: [--fast]
      env: [{name: REGION, value: eu}]
      interactiveMode: Never
      provideClusterInfo: true
- name: bare
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}
contexts:
- {name: relative, context: {cluster: c, user: relative}}
- {name: bare, context: {cluster: c, user: bare}}
`,
  });
  const relative = await loadKubeconfig(join(base, "kc"), { ...noEnv, context: "relative" });
  assert.ok(relative.credentials instanceof ExecCredentials);
  assert.deepEqual(relative.credentials.config, {
    apiVersion: "client.authentication.k8s.io/v1",
    command: join(base, "bin", "login"),
    args: ["--fast"],
    env: [{ name: "REGION", value: "eu" }],
    installHint: undefined,
    cluster: {
      server: "https://k",
      "certificate-authority-data": b64("CA"),
      config: { audience: "prod" },
    },
  });
  const bare = await loadKubeconfig(join(base, "kc"), { ...noEnv, context: "bare" });
  assert.ok(bare.credentials instanceof ExecCredentials);
  assert.equal(bare.credentials.config.command, "aws");
  assert.equal(bare.credentials.config.cluster, undefined);
});

test("inClusterConfig() reads the service account's CA and token file, brackets an IPv6 host, and says so when not in a pod", async () => {
  const sa = dir({ token: "sa-token\n", "ca.crt": "CLUSTER-CA" });
  const config = inClusterConfig({
    env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
    dir: sa,
  });
  assert.equal(config.server, "https://[fd00::1]:443");
  assert.equal(String(config.ca), "CLUSTER-CA");
  assert.ok(config.credentials);
  assert.deepEqual(await config.credentials.get(), { token: "sa-token" });
  assert.throws(
    () => inClusterConfig({ env: {}, dir: sa }),
    (error: Error) =>
      error instanceof InClusterConfigError &&
      error.name === "InClusterConfigError" &&
      /KUBERNETES_SERVICE_HOST/.test(error.message),
  );
  assert.throws(
    () =>
      inClusterConfig({
        env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" },
        dir: join(sa, "missing"),
      }),
    (error: Error) => error instanceof InClusterConfigError && /missing\/token/.test(error.message),
  );
});
