/**
 * Local nodes run pods as real processes: networking, DNS, volumes, probes,
 * termination, storage and node failure, on a private 3-node cluster.
 *
 * Pods prove what happens inside them by their exit code (restartPolicy
 * Never: Succeeded only if every check in the pod passed), so these tests do
 * not depend on `kubectl exec`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  createNamespace,
  eventually,
  type PrivateTestCluster,
  startTestCluster,
} from "@ballast/dev/testkit";

let cluster: PrivateTestCluster;
const ns = "nodes-test";
const hostDir = mkdtempSync(join(tmpdir(), "ballast-nodes-test-"));

before(async () => {
  cluster = await startTestCluster({ name: "nodes", nodes: 3 });
  await createNamespace(cluster, ns);
});

after(async () => {
  await cluster?.stop();
  rmSync(hostDir, { recursive: true, force: true });
});

interface PodView {
  metadata: { name: string; creationTimestamp: string; uid: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string; lastTransitionTime: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount: number;
      state: {
        waiting?: { reason: string; message?: string };
        running?: object;
        terminated?: { exitCode: number };
      };
    }[];
  };
}

async function create(path: string, body: unknown): Promise<void> {
  const res = await cluster.api(`/api/v1/namespaces/${ns}/${path}`, { method: "POST", body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function pod(name: string): Promise<PodView | undefined> {
  const res = await cluster.api<PodView>(`/api/v1/namespaces/${ns}/pods/${name}`);
  return res.status === 200 ? res.body : undefined;
}

/** Waits for a run-to-completion pod to finish; fails with its state if it did not succeed. */
async function succeeded(name: string, timeoutMs = 90_000): Promise<PodView> {
  const done = await eventually(
    `pod ${name} to finish`,
    async () => {
      const p = await pod(name);
      return p?.status.phase === "Succeeded" || p?.status.phase === "Failed" ? p : undefined;
    },
    { timeoutMs },
  );
  assert.equal(
    done.status.phase,
    "Succeeded",
    `pod ${name}: ${JSON.stringify(done.status.containerStatuses)}`,
  );
  return done;
}

const busybox = (name: string, script: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: "busybox:1.36",
  command: ["sh", "-c", script],
  ...extra,
});

function checkPod(name: string, script: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      containers: [busybox("check", script)],
      ...spec,
    },
  };
}

test("a 3-replica StatefulSet comes up in order and each member answers at its stable DNS name", async () => {
  await create("services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "echo" },
    spec: { clusterIP: "None", selector: { app: "echo" }, ports: [{ name: "http", port: 8080 }] },
  });
  await cluster.api(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
    method: "POST",
    body: {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "echo" },
      spec: {
        serviceName: "echo",
        replicas: 3,
        selector: { matchLabels: { app: "echo" } },
        template: {
          metadata: { labels: { app: "echo" } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              busybox(
                "web",
                "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
                {
                  ports: [{ name: "http", containerPort: 8080 }],
                  readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 1 },
                },
              ),
            ],
          },
        },
      },
    },
  });
  const members = await eventually("three Ready members", async () => {
    const all = await Promise.all(["echo-0", "echo-1", "echo-2"].map(pod));
    const ready = all.filter((p) =>
      p?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    return ready.length === 3 ? (all as PodView[]) : undefined;
  });
  // OrderedReady: each member is created only once the one before it is Ready.
  for (let i = 1; i < 3; i++) {
    const previousReady =
      members[i - 1]?.status.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime ?? "";
    assert.ok(
      Date.parse(members[i]?.metadata.creationTimestamp ?? "") >= Date.parse(previousReady),
      `echo-${i} was created before echo-${i - 1} was Ready`,
    );
  }
  assert.equal(new Set(members.map((m) => m.status.podIP)).size, 3, "each member has its own IP");
  assert.ok(new Set(members.map((m) => m.spec.nodeName)).size >= 2, "members spread over nodes");

  // From another pod: every member by its stable name, and the service name.
  const checks = [0, 1, 2]
    .map(
      (i) =>
        `[ "$(wget -qO- http://echo-${i}.echo.${ns}.svc.cluster.local:8080/)" = echo-${i} ] || { echo echo-${i} failed; exit 1; }`,
    )
    .join("\n");
  const out = join(hostDir, "dns-check.log");
  const script = `exec > /out/dns-check.log 2>&1\nset -x\n${checks}\nwget -qO- http://echo:8080/ | grep -q '^echo-'`;
  await create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "dns-check" },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: "out", hostPath: { path: hostDir, type: "Directory" } }],
      containers: [
        busybox("check", script, { volumeMounts: [{ name: "out", mountPath: "/out" }] }),
      ],
    },
  });
  await succeeded("dns-check").catch((error: Error) => {
    throw new Error(
      `${error.message}\n${existsSync(out) ? readFileSync(out, "utf8") : "(no output)"}`,
    );
  });
  // And from the host, by pod IP.
  const answer = await fetch(`http://${members[0]?.status.podIP}:8080/`).then((r) => r.text());
  assert.equal(answer.trim(), "echo-0");
});

test("a pod reads its ConfigMap, Secret and downward API at their mount paths and in env, and sees ConfigMap updates", async () => {
  await create("configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "settings" },
    data: { greeting: "hello" },
  });
  await create("secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "creds" },
    stringData: { password: "s3cret" },
  });
  const script = [
    `[ "$(cat /etc/settings/greeting)" = hello ] || exit 11`,
    `[ "$(cat /etc/creds/password)" = s3cret ] || exit 12`,
    `[ "$PASSWORD" = s3cret ] || exit 13`,
    `[ "$POD_NAME" = files ] && [ "$POD_NAMESPACE" = ${ns} ] || exit 14`,
    `[ "$(cat /etc/podinfo/name)" = files ] || exit 15`,
    `[ -n "$POD_IP" ] && [ "$GREETING_FROM_greeting" = hello ] || exit 16`,
    `[ -s /var/run/secrets/kubernetes.io/serviceaccount/token ] || exit 17`,
    // Wait (bounded) for the update the test makes once this pod runs.
    'for i in $(seq 1 120); do [ "$(cat /etc/settings/greeting)" = updated ] && exit 0; sleep 0.5; done; exit 18',
  ].join("\n");
  await create("pods", {
    ...checkPod("files", script),
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      containers: [
        busybox("check", script, {
          env: [
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          ],
          envFrom: [{ prefix: "GREETING_FROM_", configMapRef: { name: "settings" } }],
          volumeMounts: [
            { name: "settings", mountPath: "/etc/settings" },
            { name: "creds", mountPath: "/etc/creds", readOnly: true },
            { name: "podinfo", mountPath: "/etc/podinfo" },
          ],
        }),
      ],
      volumes: [
        { name: "settings", configMap: { name: "settings" } },
        { name: "creds", secret: { secretName: "creds" } },
        {
          name: "podinfo",
          downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] },
        },
      ],
    },
  });
  // Env var names with a prefix keep the key as is: GREETING_FROM_greeting.
  await eventually("the pod to run", async () =>
    (await pod("files"))?.status.phase === "Running" ? true : undefined,
  );
  const patched = await cluster.api(`/api/v1/namespaces/${ns}/configmaps/settings`, {
    method: "PATCH",
    body: JSON.stringify({ data: { greeting: "updated" } }),
    contentType: "application/merge-patch+json",
  });
  assert.equal(patched.status, 200);
  await succeeded("files");
});

test("fsGroup: a Secret mounted 0400 is group-owned by fsGroup and readable by the pod's user, as the kubelet's ownership management makes it", async () => {
  await create("secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "owned-creds" },
    stringData: { token: "t0ken" },
  });
  const script = [
    `[ "$(id -u)" = 1000 ] || exit 11`,
    `[ "$(cat /etc/owned/token)" = t0ken ] || exit 12`,
    `[ "$(stat -L -c %g /etc/owned/token)" = 2000 ] || exit 13`,
    `[ "$(stat -L -c %a /etc/owned/token)" = 440 ] || exit 14`,
  ].join("\n");
  await create(
    "pods",
    checkPod("fsgroup", script, {
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000 },
      containers: [
        busybox("check", script, {
          volumeMounts: [{ name: "owned", mountPath: "/etc/owned", readOnly: true }],
        }),
      ],
      volumes: [{ name: "owned", secret: { secretName: "owned-creds", defaultMode: 0o400 } }],
    }),
  );
  await succeeded("fsgroup");
});

test("a readiness probe gates Ready", async () => {
  await create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "slow" },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        busybox("app", "sleep 3; touch /tmp/ready; exec sleep 3600", {
          readinessProbe: { exec: { command: ["test", "-f", "/tmp/ready"] }, periodSeconds: 1 },
        }),
      ],
    },
  });
  const running = await eventually("the container to run", async () => {
    const p = await pod("slow");
    return p?.status.containerStatuses?.[0]?.state.running ? p : undefined;
  });
  assert.equal(
    running.status.containerStatuses?.[0]?.ready,
    false,
    "not ready before the probe passes",
  );
  await eventually("Ready after the probe passes", async () => {
    const p = await pod("slow");
    return p?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
      ? true
      : undefined;
  });
});

test("deletion runs preStop, then SIGTERM; a container that ignores SIGTERM is killed after the grace period", async () => {
  const volume = { name: "out", hostPath: { path: hostDir, type: "Directory" } };
  const polite =
    "trap 'echo TERM >> /out/polite; exit 0' TERM; echo started >> /out/polite; while true; do sleep 0.1; done";
  const stubborn = "trap '' TERM; echo started >> /out/stubborn; while true; do sleep 0.1; done";
  for (const [name, script] of [
    ["polite", polite],
    ["stubborn", stubborn],
  ] as const) {
    await create("pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: {
        terminationGracePeriodSeconds: 3,
        volumes: [volume],
        containers: [
          busybox("app", script, {
            volumeMounts: [{ name: "out", mountPath: "/out" }],
            lifecycle: {
              preStop: { exec: { command: ["sh", "-c", `echo prestop >> /out/${name}`] } },
            },
          }),
        ],
      },
    });
  }
  await eventually("both pods running", async () => {
    const all = await Promise.all(["polite", "stubborn"].map(pod));
    return all.every((p) => p?.status.phase === "Running") ? true : undefined;
  });
  // Running means the command has started; wait until it has also set its trap.
  await eventually("both containers to have started", () =>
    ["polite", "stubborn"].every((name) => existsSync(join(hostDir, name))) ? true : undefined,
  );
  const deleted = Date.now();
  for (const name of ["polite", "stubborn"]) {
    await cluster.api(`/api/v1/namespaces/${ns}/pods/${name}`, { method: "DELETE" });
  }
  await eventually("the polite pod to be gone", async () =>
    (await pod("polite")) ? undefined : true,
  );
  assert.deepEqual(readFileSync(join(hostDir, "polite"), "utf8").trim().split("\n"), [
    "started",
    "prestop",
    "TERM",
  ]);
  await eventually("the stubborn pod to be gone", async () =>
    (await pod("stubborn")) ? undefined : true,
  );
  assert.ok(
    Date.now() - deleted >= 3000,
    "the stubborn pod must get its whole grace period before SIGKILL",
  );
  assert.deepEqual(readFileSync(join(hostDir, "stubborn"), "utf8").trim().split("\n"), [
    "started",
    "prestop",
  ]);
});

test("data on a local PersistentVolume survives the pod's deletion and re-creation on the same node", async () => {
  await cluster.api(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
    method: "POST",
    body: {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "store" },
      spec: {
        serviceName: "store",
        replicas: 1,
        selector: { matchLabels: { app: "store" } },
        template: {
          metadata: { labels: { app: "store" } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              busybox(
                "app",
                "[ -f /data/first ] || cat /proc/sys/kernel/random/uuid > /data/first; cp /data/first /data/seen-by-$(cat /proc/sys/kernel/random/uuid); exec sleep 3600",
                {
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                },
              ),
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: "local",
              resources: { requests: { storage: "1Gi" } },
            },
          },
        ],
      },
    },
  });
  const first = await eventually("store-0 to run", async () => {
    const p = await pod("store-0");
    return p?.status.phase === "Running" ? p : undefined;
  });
  const claim = await cluster.api<{ spec: { volumeName: string } }>(
    `/api/v1/namespaces/${ns}/persistentvolumeclaims/data-store-0`,
  );
  const pv = await cluster.api<{ spec: { local: { path: string } } }>(
    `/api/v1/persistentvolumes/${claim.body.spec.volumeName}`,
  );
  const path = pv.body.spec.local.path;
  const original = await eventually("the first write", async () =>
    existsSync(join(path, "first")) ? readFileSync(join(path, "first"), "utf8") : undefined,
  );

  await cluster.api(`/api/v1/namespaces/${ns}/pods/store-0`, { method: "DELETE" });
  const second = await eventually("store-0 to be re-created and run", async () => {
    const p = await pod("store-0");
    return p && p.metadata.uid !== first.metadata.uid && p.status.phase === "Running"
      ? p
      : undefined;
  });
  assert.equal(
    second.spec.nodeName,
    first.spec.nodeName,
    "the volume's node affinity brings the pod back",
  );
  await eventually("both runs to have seen the data", async () => {
    const seen = (await import("node:fs"))
      .readdirSync(path)
      .filter((f) => f.startsWith("seen-by-"));
    return seen.length >= 2 ? true : undefined;
  });
  assert.equal(
    readFileSync(join(path, "first"), "utf8"),
    original,
    "the second run found the first run's data",
  );
});

test("an image with no local mapping fails to pull with a message that says so", async () => {
  await create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "unknown-image" },
    spec: { containers: [{ name: "app", image: "example.com/nothing:1.0" }] },
  });
  const waiting = await eventually("ErrImagePull", async () => {
    const w = (await pod("unknown-image"))?.status.containerStatuses?.[0]?.state.waiting;
    return w?.reason === "ErrImagePull" ? w : undefined;
  });
  assert.match(waiting.message ?? "", /has no local mapping/);
});

test("killing a container's process restarts it, and restartCount goes up", async () => {
  await create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "crashy" },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [busybox("app", "echo run started at $(date +%s) $RANDOM; exec sleep 3600")],
    },
  });
  const running = await eventually("crashy to run", async () => {
    const p = await pod("crashy");
    return p?.status.containerStatuses?.[0]?.state.running ? p : undefined;
  });
  // The container's processes are the ones in the pod's network namespace.
  const { execFileSync } = await import("node:child_process");
  const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .find((n) => n.endsWith(running.metadata.uid.replaceAll("-", "").slice(0, 12)));
  assert.ok(netns, "the pod has a network namespace");
  // The shell echoes, then execs sleep: wait for the sleep.
  const sleeper = await eventually("the container's sleep process", () =>
    execFileSync("ip", ["netns", "pids", netns], { encoding: "utf8" })
      .trim()
      .split("\n")
      .find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep")),
  );
  assert.ok(sleeper, "found the container's process");
  process.kill(Number(sleeper), "SIGKILL");
  const restarted = await eventually(
    "the container to be restarted",
    async () => {
      const status = (await pod("crashy"))?.status.containerStatuses?.[0];
      return status && status.restartCount >= 1 && status.state.running ? status : undefined;
    },
    { timeoutMs: 60_000 },
  );
  assert.equal(restarted.restartCount, 1);
  // Each run has its own log: --previous is the killed one.
  const previous = await cluster.kubectl("logs", "-n", ns, "crashy", "--previous");
  const current = await eventually("the new run's log", async () => {
    const r = await cluster.kubectl("logs", "-n", ns, "crashy");
    return r.stdout.includes("run started") ? r.stdout : undefined;
  });
  assert.equal(previous.code, 0, previous.stderr);
  assert.match(previous.stdout, /^run started at \d+ \d+\n$/);
  assert.match(current, /^run started at \d+ \d+\n$/);
  assert.notEqual(previous.stdout, current, "--previous shows the earlier run");
});

test("kubectl logs, exec and port-forward reach a pod on a local node", async () => {
  await create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "talker" },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        busybox(
          "app",
          "echo first line; echo to stderr >&2; mkdir -p /tmp/w; echo served > /tmp/w/index.html; exec httpd -f -p 9090 -h /tmp/w",
        ),
      ],
    },
  });
  await eventually("talker to run", async () =>
    (await pod("talker"))?.status.phase === "Running" ? true : undefined,
  );

  const logs = await eventually("the logs", async () => {
    const r = await cluster.kubectl("logs", "-n", ns, "talker");
    return r.code === 0 && r.stdout.includes("to stderr") ? r.stdout : undefined;
  });
  assert.deepEqual(logs.trim().split("\n"), ["first line", "to stderr"]);

  const exec = await cluster.kubectl(
    "exec",
    "-n",
    ns,
    "talker",
    "--",
    "sh",
    "-c",
    "cat /tmp/w/index.html; hostname; exit 7",
  );
  assert.equal(exec.code, 7, exec.stderr);
  assert.deepEqual(exec.stdout.trim().split("\n"), ["served", "talker"]);

  const { spawn } = await import("node:child_process");
  const forward = spawn(
    (await import("@ballast/dev")).binaryPath("kubectl"),
    [`--kubeconfig=${cluster.kubeconfig}`, "port-forward", "-n", ns, "pod/talker", ":9090"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      forward.stdout.on("data", (d: Buffer) => {
        const m = /127\.0\.0\.1:(\d+) ->/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      forward.on("exit", (code) => reject(new Error(`port-forward exited ${code}`)));
    });
    const body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    assert.equal(body.trim(), "served");
  } finally {
    forward.kill();
  }
});

test("init containers run first and in order, in their workingDir; a Job's pod ends Succeeded", async () => {
  const res = await cluster.api(`/apis/batch/v1/namespaces/${ns}/jobs`, {
    method: "POST",
    body: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "ordered" },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 1,
            volumes: [{ name: "work", emptyDir: {} }],
            initContainers: ["one", "two"].map((step) =>
              busybox(step, `pwd >> steps; echo ${step} >> steps`, {
                workingDir: "/work",
                volumeMounts: [{ name: "work", mountPath: "/work" }],
              }),
            ),
            containers: [
              busybox("main", `[ "$(cat /work/steps | tr '\\n' ' ')" = "/work one /work two " ]`, {
                volumeMounts: [{ name: "work", mountPath: "/work" }],
              }),
            ],
          },
        },
      },
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const job = await eventually("the Job to complete", async () => {
    const j = await cluster.api<{ status: { succeeded?: number; failed?: number } }>(
      `/apis/batch/v1/namespaces/${ns}/jobs/ordered`,
    );
    return (j.body.status.succeeded ?? 0) + (j.body.status.failed ?? 0) > 0
      ? j.body.status
      : undefined;
  });
  assert.deepEqual(job.succeeded, 1, "the main container saw both init steps, in order");
});

test("a failing httpGet liveness probe restarts the container", async () => {
  await create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "unhealthy" },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        // Serves /healthz for its first ~2 s only.
        busybox(
          "app",
          "mkdir -p /tmp/w; echo ok > /tmp/w/healthz; (sleep 2; rm /tmp/w/healthz) & exec httpd -f -p 8080 -h /tmp/w",
          {
            livenessProbe: {
              httpGet: { path: "/healthz", port: 8080 },
              periodSeconds: 1,
              failureThreshold: 2,
            },
          },
        ),
      ],
    },
  });
  const status = await eventually("a liveness restart", async () => {
    const s = (await pod("unhealthy"))?.status.containerStatuses?.[0];
    return s && s.restartCount >= 1 ? s : undefined;
  });
  assert.ok(status.restartCount >= 1);
});

test("deleting a claim of the local class deletes its volume and the directory", async () => {
  const claimName = "scratch";
  await create("persistentvolumeclaims", {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: claimName },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: "local",
      resources: { requests: { storage: "1Gi" } },
    },
  });
  await create(
    "pods",
    checkPod("writer", "echo data > /data/file", {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: "data", persistentVolumeClaim: { claimName } }],
      containers: [
        busybox("check", "echo data > /data/file", {
          volumeMounts: [{ name: "data", mountPath: "/data" }],
        }),
      ],
    }),
  );
  await succeeded("writer");
  const claim = await cluster.api<{ spec: { volumeName: string } }>(
    `/api/v1/namespaces/${ns}/persistentvolumeclaims/${claimName}`,
  );
  const pvName = claim.body.spec.volumeName;
  const pv = await cluster.api<{ spec: { local: { path: string } } }>(
    `/api/v1/persistentvolumes/${pvName}`,
  );
  const path = pv.body.spec.local.path;
  assert.equal(readFileSync(join(path, "file"), "utf8"), "data\n");

  await cluster.api(`/api/v1/namespaces/${ns}/pods/writer`, { method: "DELETE" });
  await eventually("the writer pod to be gone", async () =>
    (await pod("writer")) ? undefined : true,
  );
  await cluster.api(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claimName}`, {
    method: "DELETE",
  });
  await eventually("the volume to be deleted", async () =>
    (await cluster.api(`/api/v1/persistentvolumes/${pvName}`)).status === 404 ? true : undefined,
  );
  assert.equal(existsSync(path), false, "reclaim policy Delete removes the directory");
});

test("stopping a node makes its pods unreachable and the node NotReady; starting it brings both back", async () => {
  const echo = await pod("echo-0");
  assert.ok(echo?.spec.nodeName && echo.status.podIP);
  const component = echo.spec.nodeName.replace(/^nodes-/, "") as `node-${number}`;
  await cluster.controlPlane.stopComponent(component);

  const reachable = await fetch(`http://${echo.status.podIP}:8080/`, {
    signal: AbortSignal.timeout(2000),
  })
    .then(() => true)
    .catch(() => false);
  assert.equal(reachable, false, "a stopped node's pods must not answer");
  await eventually(
    "the node to be NotReady",
    async () => {
      const node = await cluster.api<{
        status: { conditions: { type: string; status: string }[] };
      }>(`/api/v1/nodes/${echo.spec.nodeName}`);
      const ready = node.body.status.conditions.find((c) => c.type === "Ready");
      return ready && ready.status !== "True" ? true : undefined;
    },
    { timeoutMs: 120_000 },
  );

  await cluster.controlPlane.startComponent(component);
  await eventually("echo-0 to answer again", async () =>
    fetch(`http://${echo.status.podIP}:8080/`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.text())
      .then((t) => (t.trim() === "echo-0" ? true : undefined))
      .catch(() => undefined),
  );
});
