import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { after, before, test } from "node:test";
import { createNamespace, eventually, type TestCluster, useCluster } from "@ballast/dev/testkit";
import { binPath } from "../_test-cli.ts";

const ns = `cli-run-${randomBytes(3).toString("hex")}`;
let cluster: TestCluster;
const started: ChildProcess[] = [];

before(async () => {
  cluster = await useCluster();
  await createNamespace(cluster, ns);
});

after(async () => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  await cluster?.api(`/api/v1/namespaces/${ns}`, { method: "DELETE" });
});

interface Running {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** `ballast run …` as a process, its stderr parsed as the JSON log lines it must be. */
function startRun(args: string[]): Running {
  const { KUBECONFIG: _mine, ...env } = process.env;
  const child = spawn(process.execPath, [binPath, "run", ...args], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  started.push(child);
  const lines: Record<string, unknown>[] = [];
  let rest = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const line of parts.filter(Boolean)) {
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ notJson: line });
      }
    }
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, lines, exited };
}

test("run reconciles a KafkaCluster in its namespace and exits 0 on SIGTERM", async () => {
  const run = startRun([
    "--install-crds",
    "--namespace",
    ns,
    "--metrics-port",
    "0",
    "--health-port",
    "0",
    "--kubeconfig",
    cluster.kubeconfig,
  ]);
  await eventually(
    "both controllers' caches synced",
    () =>
      run.lines.filter((l) => String(l.msg).startsWith("caches synced")).length >= 2 || undefined,
    { timeoutMs: 90_000 },
  );
  assert.ok(
    run.lines.every((l) => !("notJson" in l)),
    `stderr is JSON lines only: ${JSON.stringify(run.lines.filter((l) => "notJson" in l))}`,
  );
  const created = await cluster.api(`/apis/ballast.dev/v1alpha1/namespaces/${ns}/kafkaclusters`, {
    method: "POST",
    body: {
      apiVersion: "ballast.dev/v1alpha1",
      kind: "KafkaCluster",
      metadata: { name: "events", namespace: ns },
      spec: {
        version: "3.9.1",
        brokers: 1,
        controllers: { replicas: 1 },
        storage: { size: "1Gi" },
      },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  type Written = {
    metadata: { managedFields?: { manager: string; subresource?: string }[] };
    status?: { clusterId?: string };
  };
  const written = await eventually(
    "the operator to write .status.clusterId",
    async () => {
      const got = await cluster.api<Written>(
        `/apis/ballast.dev/v1alpha1/namespaces/${ns}/kafkaclusters/events`,
      );
      return got.body.status?.clusterId ? got.body : undefined;
    },
    { timeoutMs: 60_000 },
  );
  assert.match(
    written.status?.clusterId ?? "",
    /^[A-Za-z0-9_-]{22}$/,
    "a KRaft cluster id (16 bytes, base64url)",
  );
  // Written as the operator, so a Deployment of it later owns the same fields.
  const statusManagers = (written.metadata.managedFields ?? [])
    .filter((f) => f.subresource === "status")
    .map((f) => f.manager);
  assert.deepEqual(statusManagers, ["ballast-kafka-operator"]);

  run.child.kill("SIGTERM");
  const [code, signal] = await run.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, JSON.stringify(run.lines.slice(-5)));
  assert.ok(
    run.lines.some((l) => l.msg === "manager stopped"),
    "the manager shut down in order",
  );
});

test("run --leader-elect holds a Lease in --lease-namespace while it runs", async () => {
  const run = startRun([
    "--namespace",
    ns,
    "--metrics-port",
    "0",
    "--health-port",
    "0",
    "--leader-elect",
    "--lease-namespace",
    ns,
    "--kubeconfig",
    cluster.kubeconfig,
  ]);
  const holder = await eventually(
    "the lease to be held",
    async () => {
      const lease = await cluster.api<{ spec?: { holderIdentity?: string } }>(
        // Every operator runs here, so they share one Lease (one operator alone uses its own name).
        `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/ballast-operators`,
      );
      return lease.status === 200 ? lease.body.spec?.holderIdentity || undefined : undefined;
    },
    { timeoutMs: 90_000 },
  );
  assert.ok(holder.length > 0);
  run.child.kill("SIGTERM");
  const [code] = await run.exited;
  assert.equal(code, 0, JSON.stringify(run.lines.slice(-5)));
});

test("run refuses --leader-elect without a lease namespace", async () => {
  const run = startRun(["--leader-elect", "--kubeconfig", cluster.kubeconfig]);
  const [code] = await run.exited;
  assert.equal(code, 2);
  assert.match(JSON.stringify(run.lines), /--leader-elect needs --lease-namespace/);
});

test("run refuses an --operator it does not have, naming the ones there are", async () => {
  const run = startRun(["--operator", "kafak", "--kubeconfig", cluster.kubeconfig]);
  const [code] = await run.exited;
  assert.equal(code, 2);
  assert.match(JSON.stringify(run.lines), /unknown operator \\"kafak\\": expected one of kafka/);
});
