/**
 * The kubelet API driven the way users drive it: kubectl → the real API
 * server → this server, for a Node and Pod created in the real cluster. The
 * runtime behind it is HostRuntime: real processes, files and sockets.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type TestCluster, useCluster } from "../../testkit.ts";
import { ensureBinaries } from "../../toolchain.ts";
import { HostRuntime } from "./_test-runtime.ts";
import { type KubeletApi, startKubeletApi } from "./server.ts";

const run = promisify(execFile);
const say = (level: string) => (message: string, fields?: object) =>
  console.error(`[kubelet-api ${level}] ${message} ${fields ? JSON.stringify(fields) : ""}`);
const consoleLog = {
  debug: say("debug"),
  info: say("info"),
  warn: say("warn"),
  error: say("error"),
};
const suffix = randomBytes(3).toString("hex");
const namespace = `kubelet-api-${suffix}`;
const nodeName = `kubelet-api-node-${suffix}`;
const podName = "tools";
const container = "main";
const ref = { namespace, pod: podName, container };

let cluster: TestCluster;
let kubectlPath: string;
let workDir: string;
let api: KubeletApi;
let runtime: HostRuntime;
let certs: { cert: string; key: string; ca: string; clientCert: string; clientKey: string };
let adminCert: { cert: string; key: string };

/** A serving certificate for 127.0.0.1, signed by the cluster CA. */
async function makeServingCert(dir: string, pkiDir: string) {
  const config = join(dir, "openssl.cnf");
  writeFileSync(config, "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n");
  const cert = join(dir, "kubelet.crt");
  const key = join(dir, "kubelet.key");
  await run("openssl", [
    ...[
      "req",
      "-x509",
      "-config",
      config,
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
    ],
    ...["-nodes", "-CA", join(pkiDir, "ca.crt"), "-CAkey", join(pkiDir, "ca.key")],
    ...["-keyout", key, "-out", cert, "-days", "1", "-subj", `/CN=system:node:${nodeName}`],
    ...["-addext", "basicConstraints=critical,CA:FALSE"],
    ...["-addext", "keyUsage=critical,digitalSignature,keyEncipherment"],
    ...["-addext", "extendedKeyUsage=serverAuth"],
    ...["-addext", "subjectAltName=IP:127.0.0.1"],
  ]);
  return { cert, key };
}

async function apiOk(path: string, options: Parameters<TestCluster["api"]>[1]) {
  const response = await cluster.api(path, options);
  assert.ok(
    response.status < 300,
    `${options?.method ?? "GET"} ${path}: ${response.status} ${JSON.stringify(response.body)}`,
  );
  return response;
}

/** Pod creation fails until the namespace's default ServiceAccount exists. */
async function createPod(body: object): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await cluster.api(`/api/v1/namespaces/${namespace}/pods`, {
      method: "POST",
      body,
    });
    if (response.status < 300) return;
    if (Date.now() > deadline) assert.fail(`pod creation: ${JSON.stringify(response.body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function kubectl(...args: string[]) {
  return cluster.kubectl(...args);
}

/** A kubectl that keeps running; the caller reads its output as it comes. */
function kubectlLive(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): {
  child: ChildProcess;
  output: () => string;
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
} {
  const child = spawn(kubectlPath, [`--kubeconfig=${cluster.kubeconfig}`, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env,
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  return {
    child,
    output: () => out,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out waiting for ${re} in ${JSON.stringify(out)} (stderr ${JSON.stringify(err)})`,
              ),
            ),
          20_000,
        );
        const check = () => {
          const match = re.exec(out);
          if (match) {
            clearTimeout(timer);
            child.stdout?.off("data", check);
            resolve(match);
          }
        };
        child.stdout?.on("data", check);
        child.once("exit", () =>
          setTimeout(() => {
            clearTimeout(timer);
            const match = re.exec(out);
            if (match) resolve(match);
            else reject(new Error(`kubectl exited: ${JSON.stringify(out)} ${JSON.stringify(err)}`));
          }, 50),
        );
        check();
      }),
  };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

function get(path: string, tls: { cert?: string; key?: string }) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: api.port,
        path,
        ca: certs.ca,
        ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

before(async () => {
  cluster = await useCluster();
  kubectlPath = (await ensureBinaries(["kubectl"])).kubectl;
  workDir = mkdtempSync(join(tmpdir(), "kubelet-api-test-"));
  const pkiDir = join(cluster.dir, "pki");
  const serving = await makeServingCert(workDir, pkiDir);
  const { readFileSync } = await import("node:fs");
  certs = {
    cert: readFileSync(serving.cert, "utf8"),
    key: readFileSync(serving.key, "utf8"),
    ca: readFileSync(join(pkiDir, "ca.crt"), "utf8"),
    clientCert: readFileSync(join(pkiDir, "client-kubeletClient.crt"), "utf8"),
    clientKey: readFileSync(join(pkiDir, "client-kubeletClient.key"), "utf8"),
  };
  adminCert = {
    cert: readFileSync(join(pkiDir, "client-admin.crt"), "utf8"),
    key: readFileSync(join(pkiDir, "client-admin.key"), "utf8"),
  };
  runtime = new HostRuntime(join(workDir, "pods"));
  runtime.addContainer(ref);
  api = await startKubeletApi({
    tls: { cert: certs.cert, key: certs.key, clientCa: certs.ca },
    runtime,
    ...(process.env.KUBELET_API_DEBUG ? { log: consoleLog } : {}),
  });

  await apiOk("/api/v1/namespaces", {
    method: "POST",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
  });
  await apiOk("/api/v1/nodes", {
    method: "POST",
    body: { apiVersion: "v1", kind: "Node", metadata: { name: nodeName } },
  });
  await apiOk(`/api/v1/nodes/${nodeName}/status`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: {
      status: {
        addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
        daemonEndpoints: { kubeletEndpoint: { Port: api.port } },
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            message: "test kubelet",
            lastHeartbeatTime: new Date().toISOString(),
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
    },
  });
  await createPod({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: podName, namespace },
    spec: {
      nodeName,
      containers: [{ name: container, image: "busybox" }],
      // No heartbeat comes from this node; keep the pod if it is marked unreachable.
      tolerations: [{ operator: "Exists" }],
    },
  });
  const now = new Date().toISOString();
  await apiOk(`/api/v1/namespaces/${namespace}/pods/${podName}/status`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: {
      status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }],
        containerStatuses: [
          {
            name: container,
            image: "busybox",
            imageID: "",
            ready: true,
            restartCount: 1,
            started: true,
            state: { running: { startedAt: now } },
          },
        ],
      },
    },
  });
});

after(async () => {
  await cluster?.api(`/api/v1/namespaces/${namespace}`, { method: "DELETE" });
  await cluster?.api(`/api/v1/nodes/${nodeName}`, { method: "DELETE" });
  await api?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("kubelet API: access", () => {
  it("GET /healthz answers ok without a client certificate", async () => {
    assert.deepEqual(await get("/healthz", {}), { status: 200, body: "ok\n" });
  });

  it("a caller without a client certificate gets 401", async () => {
    const response = await get(`/containerLogs/${namespace}/${podName}/${container}`, {});
    assert.equal(response.status, 401);
  });

  it("a certificate from the cluster CA whose name is not allowed gets 403", async () => {
    const response = await get(`/containerLogs/${namespace}/${podName}/${container}`, adminCert);
    assert.equal(response.status, 403);
    assert.match(response.body, /user=ballast-admin/);
  });

  it("unknown paths are 404; logs of an unknown container are a 400 naming it", async () => {
    const client = { cert: certs.clientCert, key: certs.clientKey };
    assert.equal((await get("/pods", client)).status, 404);
    const missing = await get(`/containerLogs/${namespace}/${podName}/nope`, client);
    assert.equal(missing.status, 400);
    assert.match(missing.body, /"nope"/);
  });
});

describe("kubectl logs through the API server", () => {
  before(() => {
    runtime.writeLog(ref, ["previous run 1", "previous run 2"], { previous: true });
    runtime.writeLog(ref, ["line 1", "line 2", "line 3", "line 4"]);
  });

  it("kubectl logs prints the current run", async () => {
    const result = await kubectl("logs", "-n", namespace, podName);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "line 1\nline 2\nline 3\nline 4\n");
  });

  it("kubectl logs --tail prints only the last lines", async () => {
    const result = await kubectl("logs", "-n", namespace, podName, "--tail=2");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "line 3\nline 4\n");
  });

  it("kubectl logs --limit-bytes stops after that many bytes", async () => {
    const result = await kubectl("logs", "-n", namespace, podName, "--limit-bytes=9");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "line 1\nli");
  });

  it("kubectl logs --timestamps prefixes each line with its time", async () => {
    const result = await kubectl("logs", "-n", namespace, podName, "--timestamps", "--tail=1");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line 4\n$/);
  });

  it("kubectl logs --previous prints the run before the last restart", async () => {
    const result = await kubectl("logs", "-n", namespace, podName, "--previous");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "previous run 1\nprevious run 2\n");
  });

  it("kubectl logs -f receives lines appended after it started", async () => {
    const live = kubectlLive(["logs", "-f", "-n", namespace, podName, "--tail=1"]);
    try {
      await live.waitFor(/line 4\n/);
      runtime.writeLog(ref, ["appended 1"]);
      await live.waitFor(/appended 1\n/);
      runtime.writeLog(ref, ["appended 2"]);
      await live.waitFor(/appended 2\n/);
      assert.equal(live.output(), "line 4\nappended 1\nappended 2\n");
      assert.equal(live.child.exitCode, null, "a followed log stays open");
    } finally {
      live.child.kill();
      await exitOf(live.child);
    }
  });
});

describe("kubectl exec through the API server", () => {
  it("separates stdout from stderr and exits with the command's code", async () => {
    const result = await kubectl(
      "exec",
      "-n",
      namespace,
      podName,
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    );
    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.stdout, "out\n");
    assert.match(result.stderr, /^err\n/);
    assert.doesNotMatch(result.stderr, /out/);
  });

  it("exits 0 for a command that succeeds", async () => {
    const result = await kubectl("exec", "-n", namespace, podName, "--", "true");
    assert.deepEqual([result.code, result.stdout], [0, ""]);
  });

  it("kubectl exec -i passes stdin to the command, end of input included", async () => {
    const live = kubectlLive(["exec", "-i", "-n", namespace, podName, "--", "cat"]);
    live.child.stdin?.end("hello through stdin\nsecond line\n");
    assert.equal(await exitOf(live.child), 0);
    assert.equal(live.output(), "hello through stdin\nsecond line\n");
  });

  it("kubectl exec -i moves megabytes both ways intact", async () => {
    const payload = randomBytes(3 * 1024 * 1024).toString("base64");
    const live = kubectlLive([
      "exec",
      "-i",
      "-n",
      namespace,
      podName,
      "--",
      "sh",
      "-c",
      "cat; echo done >&2",
    ]);
    live.child.stdin?.end(payload);
    assert.equal(await exitOf(live.child), 0);
    const digest = (s: string) => createHash("sha256").update(s).digest("hex");
    assert.equal(live.output().length, payload.length);
    assert.equal(digest(live.output()), digest(payload));
  });

  it("reports a command that cannot start", async () => {
    const missingBinary = await kubectl("exec", "-n", namespace, podName, "--", "/no/such/binary");
    assert.notEqual(missingBinary.code, 0);
    assert.match(missingBinary.stderr, /ENOENT|no such file/i);
  });

  it("kubectl exec -it gets a terminal session: one output channel and its size", async () => {
    // `script` gives kubectl a pseudo-terminal (sized by stty), so it really
    // asks for tty=1 and sends the size on the resize stream. HostRuntime
    // answers with pipes and folds stderr into stdout, as a terminal would.
    const kubectlCommand = [
      kubectlPath,
      `--kubeconfig=${cluster.kubeconfig}`,
      "exec",
      "-it",
      "-n",
      namespace,
      podName,
      "--",
      "sh",
      "-c",
      // The size travels on its own stream, concurrently with the command:
      // give it a moment to arrive before the session ends.
      "'echo tty-out; echo tty-err >&2; sleep 1; exit 4'",
    ].join(" ");
    const live = spawn(
      "script",
      ["-qec", `stty cols 123 rows 45; ${kubectlCommand}`, "/dev/null"],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let out = "";
    live.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    live.stdin.end();
    assert.equal(await exitOf(live), 4, out);
    assert.match(out, /tty-out/);
    assert.match(out, /tty-err/);
    for (let i = 0; i < 50 && runtime.resizes.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(runtime.resizes[0], { cols: 123, rows: 45 });
  });

  it("kills the command when the client goes away", async () => {
    const before = runtime.started.length;
    const live = kubectlLive(["exec", "-n", namespace, podName, "--", "sleep", "300"]);
    const deadline = Date.now() + 20_000;
    while (runtime.started.length === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = runtime.started[before];
    assert.ok(started, "the command started");
    live.child.kill("SIGKILL");
    const outcome = await Promise.race([
      started.exited,
      new Promise((r) => setTimeout(() => r("still running"), 20_000)),
    ]);
    assert.deepEqual(outcome, { code: null, signal: "SIGKILL" });
  });

  it("works the same when kubectl speaks SPDY itself and the API server only proxies", async () => {
    const live = kubectlLive(
      ["exec", "-i", "-n", namespace, podName, "--", "sh", "-c", "cat; echo err >&2; exit 5"],
      { ...process.env, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" },
    );
    let stderr = "";
    live.child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    live.child.stdin?.end("via spdy\n");
    assert.equal(await exitOf(live.child), 5);
    assert.equal(live.output(), "via spdy\n");
    assert.match(stderr, /^err\n/);
  });

  it("leaves no exec'd process running", async () => {
    const states = await Promise.all(
      runtime.started.map(({ exited }) =>
        Promise.race([
          exited.then(() => "exited"),
          new Promise((r) => setTimeout(() => r("running"), 2000)),
        ]),
      ),
    );
    assert.ok(states.length >= 4);
    assert.deepEqual(new Set(states), new Set(["exited"]));
  });
});

describe("a pod the API server places here but the runtime does not know", () => {
  const ghost = "ghost";

  before(async () => {
    await createPod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: ghost, namespace },
      spec: {
        nodeName,
        containers: [{ name: container, image: "busybox" }],
        tolerations: [{ operator: "Exists" }],
      },
    });
  });

  it("kubectl logs reports it as not found on this node", async () => {
    const result = await kubectl("logs", "-n", namespace, ghost);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /not on this node/);
  });

  it("kubectl exec reports it as not found on this node", async () => {
    const result = await kubectl("exec", "-n", namespace, ghost, "--", "true");
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /not on this node/);
  });
});

describe("kubectl port-forward through the API server", () => {
  let echo: Server;
  let echoPort: number;

  const echoSockets = new Set<Socket>();

  before(async () => {
    echo = createServer((socket) => {
      echoSockets.add(socket);
      socket.once("close", () => echoSockets.delete(socket));
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    echoPort = (echo.address() as { port: number }).port;
  });

  after(() => {
    for (const socket of echoSockets) socket.destroy();
    echo.close();
  });

  const exchange = async (port: number, data: Buffer): Promise<Buffer> => {
    const socket: Socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.write(data);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`echo incomplete: ${Buffer.concat(chunks).length}/${data.length}`)),
        20_000,
      );
      const check = () => {
        if (Buffer.concat(chunks).length >= data.length) {
          clearTimeout(timer);
          resolve();
        }
      };
      socket.on("data", check);
    });
    socket.end();
    return Buffer.concat(chunks);
  };

  it("forwards local connections to the pod's port, bytes both ways", async () => {
    const live = kubectlLive(["port-forward", "-n", namespace, `pod/${podName}`, `:${echoPort}`]);
    try {
      const match = await live.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) ->/);
      const localPort = Number(match[1]);
      assert.deepEqual(await exchange(localPort, Buffer.from("ping\n")), Buffer.from("ping\n"));
      // Concurrent connections share one SPDY connection, each its own streams.
      const payloads = [randomBytes(200_000), randomBytes(1000), randomBytes(700_000)];
      const echoed = await Promise.all(payloads.map((p) => exchange(localPort, p)));
      for (const [i, p] of payloads.entries()) assert.ok(echoed[i]?.equals(p), `connection ${i}`);
      assert.equal(live.child.exitCode, null);
    } finally {
      live.child.kill();
      await exitOf(live.child);
    }
  });

  it("forwards when kubectl speaks SPDY itself (no WebSocket tunnel)", async () => {
    const live = kubectlLive(["port-forward", "-n", namespace, `pod/${podName}`, `:${echoPort}`], {
      ...process.env,
      KUBECTL_PORT_FORWARD_WEBSOCKETS: "false",
    });
    try {
      const match = await live.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) ->/);
      const payload = randomBytes(300_000);
      assert.ok((await exchange(Number(match[1]), payload)).equals(payload));
    } finally {
      live.child.kill();
      await exitOf(live.child);
    }
  });

  it("reports a refused connection on the error stream", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const live = kubectlLive(["port-forward", "-n", namespace, `pod/${podName}`, `:${deadPort}`]);
    let stderr = "";
    live.child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    try {
      const match = await live.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) ->/);
      const socket = connect(Number(match[1]), "127.0.0.1");
      socket.on("error", () => {});
      await new Promise((resolve) => socket.once("close", resolve));
      const deadline = Date.now() + 10_000;
      while (!/ECONNREFUSED/.test(stderr) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(stderr, new RegExp(`error forwarding port ${deadPort}.*ECONNREFUSED`));
    } finally {
      live.child.kill();
      await exitOf(live.child);
    }
  });
});
