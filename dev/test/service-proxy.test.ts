/**
 * Services with cluster IPs that work: kube-proxy (nftables) per cluster,
 * each cluster on its own service CIDR with rules of its own, and DNS that
 * answers a ClusterIP Service with its cluster IP.
 *
 * One private cluster ("svc", 2 nodes) serves every scenario; the scenarios
 * about several clusters add a SIGKILLed one and one started with
 * `ballast dev up` (stopped with `dev down`). Pods prove
 * what they saw by files they write to a hostPath directory.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { type ClusterState, isRunning, repoRoot } from "@ballast/dev";
import {
  clusterAt,
  createNamespace,
  eventually,
  type PrivateTestCluster,
  startTestCluster,
  type TestCluster,
} from "@ballast/dev/testkit";

const run = promisify(execFile);
const ns = "svc-test";
const work = mkdtempSync(join(tmpdir(), "ballast-svc-test-"));
const cli = join(repoRoot, "packages", "cli", "bin", "ballast.js");
const cliHome = join(work, "home");
/** The cluster `dev up` starts in the side-by-side scenarios. */
const other = "svc-b";

let cluster: PrivateTestCluster;
let otherCluster: TestCluster | undefined;

before(async () => {
  cluster = await startTestCluster({ name: "svc", nodes: 2, serviceProxy: true });
  await createNamespace(cluster, ns);
});

after(async () => {
  if (otherCluster) await ballast(["dev", "down", "--name", other]);
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

// --- what the tests look at -------------------------------------------------

function ballast(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, BALLAST_HOME: cliHome, ...env }, timeout: 300_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The tables a cluster with a service proxy on bridge bst<octet> added, as
 * `<family> <name> #<handle>`: a handle tells a table from a later one of the
 * same name (a new cluster may reuse a freed bridge octet).
 */
async function tablesOf(octet: number): Promise<string[]> {
  const names = [
    `ip kube-proxy-bst${octet}`,
    `ip6 kube-proxy-bst${octet}`,
    `ip ballast-bst${octet}`,
  ];
  return (await allTables()).filter((t) => names.includes(t.replace(/ #\d+$/, ""))).sort();
}

async function allTables(): Promise<string[]> {
  const { stdout } = await run("nft", ["-j", "list", "tables"]);
  const { nftables } = JSON.parse(stdout) as {
    nftables: { table?: { family: string; name: string; handle: number } }[];
  };
  return nftables.flatMap(({ table }) =>
    table ? [`${table.family} ${table.name} #${table.handle}`] : [],
  );
}

/** The bridge's address: where DNS listens and NodePorts are served. */
const gatewayOf = (c: PrivateTestCluster) => `10.${c.controlPlane.networkOctet}.0.1`;

/** One HTTP GET on a connection of its own, so every request is balanced anew. */
function httpGet(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/", agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(body.trim()));
    });
    req.on("timeout", () =>
      req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })),
    );
    req.on("error", reject);
    req.end();
  });
}

/** "connected", or the error code of a TCP connect (ECONNREFUSED, ETIMEDOUT…). */
function tcpConnect(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done("ETIMEDOUT"));
    socket.once("connect", () => done("connected"));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

/** The answers of `count` fresh connections. */
async function answers(host: string, port: number, count = 30): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(await httpGet(host, port));
  return out;
}

const distinct = (values: string[]) => [...new Set(values)].sort();

// --- what the tests create ------------------------------------------------

async function create(c: TestCluster, path: string, body: unknown): Promise<void> {
  const res = await c.api(`/api/v1/namespaces/${ns}/${path}`, { method: "POST", body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

interface ServiceView {
  spec: { clusterIP: string; ports: { port: number; nodePort?: number }[] };
}

async function service(c: TestCluster, name: string): Promise<ServiceView> {
  const res = await c.api<ServiceView>(`/api/v1/namespaces/${ns}/services/${name}`);
  assert.equal(res.status, 200);
  return res.body;
}

function serviceOf(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }], ...spec },
  };
}

/** A directory of the host a cluster's pods share with the test (readiness switches, outputs). */
function hostDir(c: TestCluster): string {
  const dir = join(work, c.name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A web server answering "<cluster>/<pod>", Ready only while the file
 * `<pod>.ready` exists in the cluster's host directory.
 */
function webPod(c: TestCluster, name: string) {
  writeFileSync(join(hostDir(c), `${name}.ready`), "");
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "web" } },
    spec: {
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: "ctl", hostPath: { path: hostDir(c), type: "Directory" } }],
      containers: [
        {
          name: "web",
          image: "busybox:1.36",
          command: [
            "sh",
            "-c",
            `mkdir -p /tmp/www && echo ${c.name}/${name} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`,
          ],
          ports: [{ name: "http", containerPort: 8080 }],
          volumeMounts: [{ name: "ctl", mountPath: "/ctl" }],
          readinessProbe: {
            exec: { command: ["test", "-f", `/ctl/${name}.ready`] },
            periodSeconds: 1,
            failureThreshold: 1,
          },
        },
      ],
    },
  };
}

interface PodView {
  status: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: unknown[];
  };
}

async function pod(c: TestCluster, name: string): Promise<PodView | undefined> {
  const res = await c.api<PodView>(`/api/v1/namespaces/${ns}/pods/${name}`);
  return res.status === 200 ? res.body : undefined;
}

const isReady = (p: PodView | undefined) =>
  p?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

async function startWeb(c: TestCluster, names: string[]): Promise<PodView[]> {
  for (const name of names) await create(c, "pods", webPod(c, name));
  return eventually(`${names.join(", ")} Ready in ${c.name}`, async () => {
    const pods = await Promise.all(names.map((n) => pod(c, n)));
    return pods.every(isReady) ? (pods as PodView[]) : undefined;
  });
}

/** Runs `script` in a busybox pod of `c` to its end; returns what it wrote to /out/out.txt. */
async function inPod(c: TestCluster, name: string, script: string): Promise<string> {
  const out = join(hostDir(c), `${name}.out`);
  await create(c, "pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: "out", hostPath: { path: hostDir(c), type: "Directory" } }],
      containers: [
        {
          name: "check",
          image: "busybox:1.36",
          command: ["sh", "-c", `exec > /out/${name}.out 2>&1\n${script}`],
          volumeMounts: [{ name: "out", mountPath: "/out" }],
        },
      ],
    },
  });
  const done = await eventually(
    `pod ${name} to finish`,
    async () => {
      const p = await pod(c, name);
      return p?.status.phase === "Succeeded" || p?.status.phase === "Failed" ? p : undefined;
    },
    { timeoutMs: 90_000 },
  );
  const output = readFileSync(out, "utf8");
  assert.equal(done.status.phase, "Succeeded", `pod ${name}:\n${output}`);
  return output;
}

// --- scenarios ------------------------------------------------------------

test("a ClusterIP Service answers on its cluster IP from the host and from a pod, over both ready endpoints", async (t) => {
  const pods = await startWeb(cluster, ["web-a", "web-b"]);
  const podIPs = pods.map((p) => p.status.podIP as string).sort();
  const created = Date.now();
  await create(cluster, "services", serviceOf("web", { selector: { app: "web" } }));
  const { clusterIP } = (await service(cluster, "web")).spec;
  assert.ok(
    clusterIP.startsWith(cluster.controlPlane.serviceCidr.replace(/0\.0\/16$/, "")),
    `${clusterIP} is in the cluster's own range ${cluster.controlPlane.serviceCidr}`,
  );
  // Rules not yet written drop the SYN; a short connect timeout measures closely.
  await eventually("the first answer on the cluster IP", () =>
    httpGet(clusterIP, 80, 200).catch(() => undefined),
  );
  t.diagnostic(`Service created → first answer on its cluster IP: ${Date.now() - created} ms`);

  const fromHost = await eventually("both endpoints answering the host", async () => {
    const seen = distinct(await answers(clusterIP, 80));
    return seen.length === 2 ? seen : undefined;
  });
  assert.deepEqual(fromHost, ["svc/web-a", "svc/web-b"]);

  // DNS as in a real cluster: the cluster IP for a ClusterIP Service, the
  // ready pods for a headless one, and the kubernetes Service's cluster IP.
  await create(
    cluster,
    "services",
    serviceOf("web-pods", { selector: { app: "web" }, clusterIP: "None" }),
  );
  const dns = new Resolver({ timeout: 1000, tries: 2 });
  dns.setServers([gatewayOf(cluster)]);
  assert.deepEqual(await dns.resolve4(`web.${ns}.svc.cluster.local`), [clusterIP]);
  const kubernetesIp = (
    await cluster.api<ServiceView>("/api/v1/namespaces/default/services/kubernetes")
  ).body.spec.clusterIP;
  assert.deepEqual(await dns.resolve4("kubernetes.default.svc.cluster.local"), [kubernetesIp]);
  assert.deepEqual(
    await eventually("the headless Service's pods in DNS", async () => {
      const found = (await dns.resolve4(`web-pods.${ns}.svc.cluster.local`).catch(() => [])).sort();
      return found.length === 2 ? found : undefined;
    }),
    podIPs,
  );

  // From a pod: by name (search path), by full name and by cluster IP.
  const output = await inPod(
    cluster,
    "client",
    [
      `for i in $(seq 1 20); do wget -qO- http://web/ || echo FAILED; done`,
      `for i in $(seq 1 20); do wget -qO- http://web.${ns}.svc.cluster.local/ || echo FAILED; done`,
      `for i in $(seq 1 20); do wget -qO- http://${clusterIP}/ || echo FAILED; done`,
      // ping prints the address it resolved, whether or not anything answers.
      "ping -c 1 -W 1 kubernetes.default.svc || true",
    ].join("\n"),
  );
  const lines = output.split("\n").filter((l) => l.startsWith("svc/") || l === "FAILED");
  assert.equal(lines.length, 60, output);
  assert.deepEqual(distinct(lines), ["svc/web-a", "svc/web-b"], output);
  assert.match(
    output,
    new RegExp(`PING kubernetes\\.default\\.svc \\(${kubernetesIp.replaceAll(".", "\\.")}\\)`),
  );
});

test("an endpoint that goes unready leaves the rotation and comes back when Ready again", async () => {
  const { clusterIP } = (await service(cluster, "web")).spec;
  rmSync(join(hostDir(cluster), "web-b.ready"));
  await eventually("web-b unready", async () =>
    isReady(await pod(cluster, "web-b")) ? undefined : true,
  );
  const only = await eventually("web-b out of the rotation", async () => {
    const seen = distinct(await answers(clusterIP, 80, 20));
    return seen.length === 1 ? seen : undefined;
  });
  assert.deepEqual(only, ["svc/web-a"]);
  assert.deepEqual(distinct(await answers(clusterIP, 80, 30)), ["svc/web-a"], "and stays out");

  writeFileSync(join(hostDir(cluster), "web-b.ready"), "");
  await eventually("web-b back in the rotation", async () =>
    distinct(await answers(clusterIP, 80, 20)).length === 2 ? true : undefined,
  );
});

test("a Service without a ready endpoint refuses connections, from the host and from a pod", async () => {
  await create(cluster, "services", serviceOf("nobody", { selector: { app: "nobody" } }));
  const { clusterIP } = (await service(cluster, "nobody")).spec;
  // Until kube-proxy has synced, the cluster IP is unallocated for it and dropped.
  assert.equal(
    await eventually("a refusal on the cluster IP", async () =>
      (await tcpConnect(clusterIP, 80, 300)) === "ECONNREFUSED" ? "ECONNREFUSED" : undefined,
    ),
    "ECONNREFUSED",
  );
  const output = await inPod(
    cluster,
    "refused",
    `nc -w 2 ${clusterIP} 80 </dev/null; echo "exit $?"\nnc -w 2 nobody 80 </dev/null; echo "exit $?"`,
  );
  assert.equal(output.match(/Connection refused/g)?.length, 2, output);
});

test("a NodePort Service answers on its node port at the cluster's bridge address, from the host and from a pod", async () => {
  await create(
    cluster,
    "services",
    serviceOf("web-np", { selector: { app: "web" }, type: "NodePort" }),
  );
  const nodePort = (await service(cluster, "web-np")).spec.ports[0]?.nodePort as number;
  const gateway = gatewayOf(cluster);
  const seen = await eventually("both endpoints on the node port", async () => {
    const found = distinct(await answers(gateway, nodePort, 20).catch(() => []));
    return found.length === 2 ? found : undefined;
  });
  assert.deepEqual(seen, ["svc/web-a", "svc/web-b"]);
  const output = await inPod(
    cluster,
    "nodeport-client",
    `for i in $(seq 1 10); do wget -qO- http://${gateway}:${nodePort}/ || echo FAILED; done`,
  );
  assert.doesNotMatch(output, /FAILED/);
  // kube-proxy's nftables mode never serves NodePorts on 127.0.0.1 (that
  // needs route_localnet, which its iptables mode sets host-wide), and each
  // cluster serves them on its own bridge address only (dev/README.md).
  assert.equal(await tcpConnect("127.0.0.1", nodePort), "ECONNREFUSED");
});

test("a SIGKILLed cluster's rules are removed by the next cluster's start", async (t) => {
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, "fixtures", "hold-cluster.ts"),
      JSON.stringify({ name: "svc-killed", nodes: 1, serviceProxy: true }),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  // Whatever fails below, the fixture (and, by their parent-death signal, its cluster) goes.
  t.after(() => child.kill("SIGKILL"));
  let held: { dir: string; processes: ClusterState["processes"]; networkOctet: number } | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith("{")) {
      held = JSON.parse(line);
      break;
    }
  }
  assert.ok(held, "the fixture's cluster came up");
  // kube-proxy makes its ip6 table after its ip one, and a loaded machine
  // can report the cluster up in between: wait for all three.
  const octet = held.networkOctet;
  const tables = await eventually("kube-proxy's two tables and ours", async () => {
    const found = await tablesOf(octet);
    return found.length === 3 ? found : undefined;
  });
  assert.equal(tables.length, 3, `kube-proxy's two tables and ours: ${tables.join(", ")}`);
  child.kill("SIGKILL");
  await eventually("the killed cluster's processes gone", () =>
    held?.processes.some(isRunning) ? undefined : true,
  );
  rmSync(held.dir, { recursive: true, force: true });
  assert.deepEqual(
    await tablesOf(held.networkOctet),
    tables,
    "no handler ran: its rules are still there",
  );

  // The next start (here `ballast dev up`, which the next scenarios use) sweeps them.
  const up = await ballast(["dev", "up", "--name", other, "--nodes", "1"]);
  assert.equal(up.code, 0, up.stderr);
  const state = JSON.parse(
    readFileSync(join(cliHome, "clusters", other, "state.json"), "utf8"),
  ) as ClusterState;
  otherCluster = await clusterAt({
    name: other,
    server: state.server,
    kubeconfig: state.kubeconfig,
    dir: join(cliHome, "clusters", other),
  });
  t.diagnostic(`killed cluster on bst${held.networkOctet}, ${other} on bst${state.networkOctet}`);
  const now = await allTables();
  assert.deepEqual(
    tables.filter((table) => now.includes(table)),
    [],
    "the killed cluster's tables are gone (a table of the same name is a new cluster's)",
  );
  if (state.networkOctet !== held.networkOctet) {
    const { stdout: links } = await run("ip", ["-o", "link", "show"]);
    assert.doesNotMatch(links, new RegExp(`bst${held.networkOctet}:`), "its bridge is gone too");
  }
});

test("two clusters side by side, with the same pod and Service names, each reach their own Service", async () => {
  const b = otherCluster as TestCluster;
  const bState = JSON.parse(
    readFileSync(join(cliHome, "clusters", other, "state.json"), "utf8"),
  ) as ClusterState;
  assert.ok(bState.serviceProxy);
  assert.notEqual(bState.serviceCidr, cluster.controlPlane.serviceCidr);
  await createNamespace(b, ns);
  await startWeb(b, ["web-a", "web-b"]);
  await create(b, "services", serviceOf("web", { selector: { app: "web" } }));
  const aIp = (await service(cluster, "web")).spec.clusterIP;
  const bIp = (await service(b, "web")).spec.clusterIP;

  const fromHostB = await eventually("both of svc-b's endpoints answering the host", async () => {
    const seen = distinct(await answers(bIp, 80, 20).catch(() => []));
    return seen.length === 2 ? seen : undefined;
  });
  assert.deepEqual(fromHostB, ["svc-b/web-a", "svc-b/web-b"]);
  assert.deepEqual(distinct(await answers(aIp, 80, 20)), ["svc/web-a", "svc/web-b"]);

  const script = "for i in $(seq 1 10); do wget -qO- http://web/ || echo FAILED; done";
  const inA = await inPod(cluster, "side-by-side", script);
  const inB = await inPod(b, "side-by-side", script);
  assert.deepEqual(distinct(inA.trim().split("\n")), ["svc/web-a", "svc/web-b"], inA);
  assert.deepEqual(distinct(inB.trim().split("\n")), ["svc-b/web-a", "svc-b/web-b"], inB);
});

test("dev down removes every rule its cluster added; the other cluster keeps its Services", async () => {
  const bState = JSON.parse(
    readFileSync(join(cliHome, "clusters", other, "state.json"), "utf8"),
  ) as ClusterState;
  const octet = bState.networkOctet as number;
  assert.equal((await tablesOf(octet)).length, 3);
  const down = await ballast(["dev", "down", "--name", other]);
  assert.equal(down.code, 0, down.stderr);
  otherCluster = undefined;
  assert.deepEqual(await tablesOf(octet), []);
  const { stdout: links } = await run("ip", ["-o", "link", "show"]);
  assert.doesNotMatch(links, new RegExp(`bst${octet}:`));
  assert.deepEqual(bState.processes.filter(isRunning), []);

  assert.equal((await tablesOf(cluster.controlPlane.networkOctet as number)).length, 3);
  const aIp = (await service(cluster, "web")).spec.clusterIP;
  assert.deepEqual(distinct(await answers(aIp, 80, 20)), ["svc/web-a", "svc/web-b"]);
});

test("dev up without nft fails with one message naming the package, and starts nothing", async () => {
  // /usr/sbin holds nft (and ip); the check comes before anything starts.
  const up = await ballast(["dev", "up", "--name", "svc-no-nft", "--nodes", "1"], {
    PATH: "/usr/bin:/bin",
  });
  assert.equal(up.code, 1, up.stdout);
  assert.match(up.stderr, /needs nftables, and `nft` is not on PATH/);
  assert.match(up.stderr, /apt-get install -y nftables/);
  assert.equal(up.stderr.trim().split("\n").length, 2, `one message and its fix:\n${up.stderr}`);
  const state = await ballast(["dev", "status", "--name", "svc-no-nft"]);
  assert.equal(state.code, 3, "no cluster was started");
});
