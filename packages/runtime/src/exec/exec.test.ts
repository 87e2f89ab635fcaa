/**
 * exec() against a real API server and a local node: the API server
 * translates our WebSocket (v5.channel.k8s.io) to SPDY towards the node's
 * kubelet API, which runs the command in the pod's container. The shared
 * test cluster has no nodes, so this file starts its own, with one.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  createNamespace,
  eventually,
  type PrivateTestCluster,
  serviceAccountToken,
  startTestCluster,
} from "@ballast/dev/testkit";
import { KubeClient } from "../client/client.ts";
import { isForbidden, isNotFound, KubeApiError } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import { ExecOutputLimitError, ExecTimeoutError } from "./errors.ts";
import { exec } from "./exec.ts";

const ns = "exec-test";
const solo = { namespace: ns, name: "solo" };
const duo = { namespace: ns, name: "duo" };
const half = { namespace: ns, name: "half" };
let cluster: PrivateTestCluster;
let client: KubeClient;

const container = (name: string) => ({
  name,
  image: "busybox:1.36",
  command: ["sh", "-c", "exec sleep 3600"],
  env: [{ name: "CONTAINER", value: name }],
});

type PodStatus = {
  phase?: string;
  containerStatuses?: { name: string; ready: boolean; state?: { terminated?: object } }[];
};

/** Waits until the pod is Running and `done(status)` holds. */
async function running(name: string, done = (s: PodStatus) => allReady(s)): Promise<void> {
  await eventually(
    `pod ${name} to run`,
    async () => {
      const pod = await client.get<KubeObject & { status?: PodStatus }>(
        { apiVersion: "v1", kind: "Pod" },
        { namespace: ns, name },
      );
      const status = pod.status ?? {};
      return status.phase === "Running" && done(status) ? true : undefined;
    },
    { timeoutMs: 120_000 },
  );
}
const allReady = (s: PodStatus) => (s.containerStatuses ?? []).every((c) => c.ready);

before(async () => {
  cluster = await startTestCluster({ name: "exec", nodes: 1 });
  await createNamespace(cluster, ns);
  client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  const exited = { name: "exited", image: "busybox:1.36", command: ["true"] };
  for (const [name, containers] of [
    ["solo", [container("main")]],
    ["duo", [container("main"), container("side")]],
    ["half", [container("main"), exited]],
  ] as const) {
    await client.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns },
      spec: { terminationGracePeriodSeconds: 1, restartPolicy: "Never", containers },
    });
  }
  await running("solo");
  await running("duo");
  await running("half", (s) =>
    Boolean(s.containerStatuses?.find((c) => c.name === "exited")?.state?.terminated),
  );
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

test("exec() returns a command's stdout and exit code 0", async () => {
  const result = await exec(client, solo, ["echo", "hello"]);
  assert.deepEqual(result, { exitCode: 0, stdout: "hello\n", stderr: "" });
});

test("exec() returns a non-zero exit and stderr as a result, not an error", async () => {
  const result = await exec(client, solo, ["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.deepEqual(result, { exitCode: 3, stdout: "out\n", stderr: "err\n" });
});

test("exec() passes arguments as argv, unsplit and unquoted", async () => {
  const result = await exec(client, solo, ["printf", "[%s]\\n", "two words", "it's", "", "$HOME"]);
  assert.equal(result.stdout, "[two words]\n[it's]\n[]\n[$HOME]\n");
});

test("exec() sends stdin and then ends it, so cat returns", async () => {
  const result = await exec(client, solo, ["cat"], { stdin: "line one\nline two\n" });
  assert.deepEqual(result, { exitCode: 0, stdout: "line one\nline two\n", stderr: "" });
});

test("exec() sends large binary stdin intact and reads large output", async () => {
  const input = new Uint8Array(300_000);
  for (let i = 0; i < input.length; i++) input[i] = (i * 7) & 0xff;
  const result = await exec(client, solo, ["sh", "-c", "wc -c; cat /dev/zero | head -c 1000000"], {
    stdin: input,
  });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stdout.slice(0, result.stdout.indexOf("\n")).trim(), "300000");
  assert.equal(result.stdout.length, "300000\n".length + 1_000_000);
});

test("exec() with empty stdin gives the command end-of-file at once", async () => {
  const result = await exec(client, solo, ["wc", "-c"], { stdin: "" });
  assert.equal(result.stdout.trim(), "0");
});

test("exec() runs in the named container", async () => {
  const main = await exec(client, duo, ["sh", "-c", "echo $CONTAINER"], { container: "main" });
  const side = await exec(client, duo, ["sh", "-c", "echo $CONTAINER"], { container: "side" });
  assert.deepEqual([main.stdout, side.stdout], ["main\n", "side\n"]);
});

test("exec() without a container in a pod of two throws the API server's 400", async () => {
  const error = await exec(client, duo, ["true"]).catch((e: unknown) => e);
  assert.ok(error instanceof KubeApiError, String(error));
  assert.equal(error.code, 400);
  assert.match(error.message, /container name must be specified/);
  assert.match(error.message, /exec \["true"\] in Pod exec-test\/duo/);
});

test("exec() in a container that does not exist throws an error naming it", async () => {
  const error = await exec(client, solo, ["true"], { container: "nope" }).catch((e: unknown) => e);
  assert.ok(error instanceof KubeApiError, String(error));
  assert.equal(error.code, 400);
  assert.match(error.message, /nope/);
  assert.match(error.message, /Pod exec-test\/solo \(container nope\)/);
});

test("exec() in a container that has exited throws the API server's error", async () => {
  const error = await exec(client, half, ["true"], { container: "exited" }).catch(
    (e: unknown) => e,
  );
  assert.ok(error instanceof KubeApiError, String(error));
  assert.equal(error.code, 500);
  assert.match(error.message, /Pod exec-test\/half \(container exited\): .*not running/);
});

test("exec() in a pod that does not exist throws NotFound", async () => {
  const error = await exec(client, { namespace: ns, name: "ghost" }, ["true"]).catch(
    (e: unknown) => e,
  );
  assert.ok(isNotFound(error), String(error));
  assert.match(String(error), /ghost/);
});

test("exec() gives up after timeoutMs, fast, naming the pod, command and timeout", async () => {
  const started = Date.now();
  const error = await exec(client, solo, ["sleep", "30"], { timeoutMs: 500 }).catch(
    (e: unknown) => e,
  );
  const took = Date.now() - started;
  assert.ok(error instanceof ExecTimeoutError, String(error));
  assert.ok(took < 2_000, `took ${took}ms`);
  assert.equal(error.timeoutMs, 500);
  assert.match(error.message, /exec \["sleep","30"\] in Pod exec-test\/solo/);
  assert.match(error.message, /500ms/);
});

test("exec() rejects with the signal's reason when aborted", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("operator shutting down")), 300);
  await assert.rejects(
    exec(client, solo, ["sleep", "30"], { signal: controller.signal }),
    /operator shutting down/,
  );
});

test("exec() fails with ExecOutputLimitError when the output is over maxOutputBytes", async () => {
  await assert.rejects(
    exec(client, solo, ["sh", "-c", "cat /dev/zero | head -c 100000"], { maxOutputBytes: 1000 }),
    ExecOutputLimitError,
  );
});

test("exec() needs get and create on pods/exec: a token without both is Forbidden", async () => {
  const token = await serviceAccountToken(cluster, ns, "runner");
  const runner = await KubeClient.fromConfig({
    server: cluster.server,
    ca: cluster.auth.ca,
    token,
  });
  try {
    const role = (rules: unknown[]) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "runner", namespace: ns },
      rules,
    });
    await client.create(role([{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }]));
    await client.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "runner", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "runner" },
      subjects: [{ kind: "ServiceAccount", name: "runner", namespace: ns }],
    });
    const refused = await exec(runner, solo, ["true"]).catch((e: unknown) => e);
    assert.ok(isForbidden(refused), String(refused));
    assert.match(String(refused), /cannot get resource "pods\/exec"/);

    // Each Role change is waited for (the API server's authorizer reads RBAC
    // from an informer), so a refusal below is the rule's, not a stale cache's.
    const canI = async (verb: string) => {
      const review = await runner.create<KubeObject & { status?: { allowed?: boolean } }>({
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        metadata: {},
        spec: {
          resourceAttributes: { namespace: ns, verb, resource: "pods", subresource: "exec" },
        },
      } as KubeObject);
      return review.status?.allowed === true;
    };
    const withVerbs = async (verbs: string[]) => {
      await client.apply(role([{ apiGroups: [""], resources: ["pods/exec"], verbs }]), {
        force: true,
      });
      for (const verb of verbs) {
        await eventually(`${verb} on pods/exec to be granted`, async () =>
          (await canI(verb)) ? true : undefined,
        );
      }
      return exec(runner, solo, ["echo", "allowed"]).catch((e: unknown) => e);
    };
    assert.ok(isForbidden(await withVerbs(["create"])), "create alone");
    assert.ok(isForbidden(await withVerbs(["get"])), "get alone");
    assert.deepEqual(await withVerbs(["get", "create"]), {
      exitCode: 0,
      stdout: "allowed\n",
      stderr: "",
    });
  } finally {
    runner.close();
  }
});
