/**
 * The manager against the real API server. Leader election uses a scripted
 * elector here (the Lease-based one is tested in leader/), because what is
 * under test is what the manager does when leadership comes and goes.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually, type TestCluster } from "@ballast/dev/testkit";
import {
  createNamespaces,
  deleteNamespaces,
  serviceAccountClient,
  uniqueName,
} from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../client/types.ts";
import { controller } from "../controller/index.ts";
import type { LeaderCallbacks } from "../leader/elector.ts";
import { createLogger } from "../log/logger.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { Action } from "../reconcile/action.ts";
import { recordListWatches } from "../watch/_testing.ts";
import type { Elector } from "./elector.ts";
import { Manager, ManagerError } from "./manager.ts";

const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
const ns = uniqueName("manager-test");
const quiet = createLogger({ level: "silent" });
let cluster: TestCluster;
let client: KubeClient;

before(async () => {
  ({ cluster, client } = await createNamespaces([ns], { fieldManager: "manager-test" }));
  await client.create({
    ...ConfigMap,
    metadata: { name: "one", namespace: ns, labels: { app: "m" } },
  });
});

after(async () => {
  await deleteNamespaces(client, [ns]);
});

const patience = { timeoutMs: 20_000, intervalMs: 20 };

async function get(port: number | undefined, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

function newManager(extra: Partial<ConstructorParameters<typeof Manager>[0]> = {}) {
  return new Manager({
    client,
    metricsPort: 0,
    healthPort: 0,
    host: "127.0.0.1",
    logger: quiet,
    metrics: new MetricsRegistry({ defaultMetrics: false }),
    ...extra,
  });
}

test("the manager serves /metrics, /healthz and /readyz, ready once caches sync", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reconciled = 0;
  const manager = newManager();
  manager.add(
    controller(client, ConfigMap)
      .named("probe")
      .withOptions({ namespace: ns, labelSelector: "app=m" })
      .build(async () => {
        await gate;
        reconciled++;
        return Action.done();
      }),
  );
  const stop = new AbortController();
  const started = manager.start(stop.signal);
  await eventually("the servers to listen", () => manager.healthPort, patience);
  assert.notEqual(manager.metricsPort, manager.healthPort);
  assert.equal((await get(manager.healthPort, "/healthz")).status, 200);
  await eventually(
    "readiness",
    async () => (await get(manager.healthPort, "/readyz")).status === 200 || undefined,
    patience,
  );
  release();
  await eventually("a reconcile", () => reconciled === 1 || undefined, patience);

  const metrics = await get(manager.metricsPort, "/metrics");
  assert.equal(metrics.status, 200);
  assert.match(metrics.type ?? "", /^text\/plain; version=0\.0\.4/);
  assert.match(
    metrics.body,
    /controller_runtime_reconcile_total\{controller="probe",result="success"\} 1/,
  );
  assert.match(metrics.body, /workqueue_adds_total\{name="probe",controller="probe"\} 1/);
  assert.equal((await get(manager.healthPort, "/metrics")).status, 404);

  const port = manager.healthPort;
  stop.abort();
  await started;
  await assert.rejects(get(port, "/healthz"), "the servers are closed after start() resolves");
});

test("/readyz answers 503 naming a controller whose cache cannot sync", async () => {
  // A service account with no permissions: discovery works, the list is
  // forbidden, and the informer keeps retrying without ever syncing.
  const nobody = await serviceAccountClient(cluster, ns, "nobody");
  const manager = newManager({ client: nobody, metricsPort: false });
  manager.add(
    controller(nobody, ConfigMap)
      .named("forbidden")
      .withOptions({ namespace: ns })
      .build(async () => Action.done()),
  );
  assert.throws(
    () =>
      manager.add(
        controller(nobody, ConfigMap)
          .named("forbidden")
          .build(async () => Action.done()),
      ),
    ManagerError,
  );
  const stop = new AbortController();
  const started = manager.start(stop.signal);
  try {
    await eventually("listening", () => manager.healthPort, patience);
    await sleep(500);
    const ready = await get(manager.healthPort, "/readyz");
    assert.equal(ready.status, 503);
    assert.match(ready.body, /caches not synced: forbidden/);
    assert.equal((await get(manager.healthPort, "/healthz")).status, 200, "alive all the same");
  } finally {
    stop.abort();
    await started;
    nobody.close();
  }
  assert.equal(manager.metricsPort, undefined);
});

test("start() rejects with a ManagerError when a controller fails, after stopping the others", async () => {
  const manager = newManager({ metricsPort: false, healthPort: false });
  manager.add(
    controller(client, { apiVersion: "missing.ballast.dev/v1", kind: "Nothing" }).build(async () =>
      Action.done(),
    ),
  );
  manager.add(
    controller(client, ConfigMap)
      .named("healthy")
      .withOptions({ namespace: ns })
      .build(async () => Action.done()),
  );
  // start() settles only once every controller's run has returned.
  await assert.rejects(manager.start(new AbortController().signal), (error: unknown) => {
    return error instanceof ManagerError && error.message.includes("nothing");
  });
  assert.equal(manager.leading, false);
});

test("two controllers owning Pods share one Pod informer: one list, one watch, events for both", async () => {
  const Pod = { apiVersion: "v1", kind: "Pod" } as const;
  const Secret = { apiVersion: "v1", kind: "Secret" } as const;
  const recorder = recordListWatches(`/api/v1/namespaces/${ns}/pods`);
  const seen = { configmap: new Set<string>(), secret: new Set<string>() };
  const manager = newManager({ metricsPort: false, healthPort: false });
  manager.add(
    controller(client, ConfigMap)
      .owns(Pod)
      .named("configmap-pods")
      .withOptions({ namespace: ns, labelSelector: "app=pods" })
      .build(async (_ref, ctx) => {
        for (const pod of ctx.owned(Pod)) seen.configmap.add(pod.metadata.name ?? "");
        return Action.done();
      }),
  );
  manager.add(
    controller(client, Secret)
      .owns(Pod)
      .named("secret-pods")
      .withOptions({ namespace: ns })
      .build(async (_ref, ctx) => {
        for (const pod of ctx.owned(Pod)) seen.secret.add(pod.metadata.name ?? "");
        return Action.done();
      }),
  );
  const stop = new AbortController();
  const started = manager.start(stop.signal);
  try {
    const owners = [
      await client.create<KubeObject>({
        ...ConfigMap,
        metadata: { name: "pod-owner", namespace: ns, labels: { app: "pods" } },
      }),
      await client.create<KubeObject>({
        ...Secret,
        metadata: { name: "pod-owner", namespace: ns },
      }),
    ];
    for (const owner of owners) {
      const pod = {
        ...Pod,
        metadata: {
          name: `${owner.kind.toLowerCase()}-pod`,
          namespace: ns,
          ownerReferences: [
            {
              apiVersion: "v1",
              kind: owner.kind,
              name: "pod-owner",
              uid: owner.metadata.uid ?? "",
              controller: true,
            },
          ],
        },
        spec: { containers: [{ name: "main", image: "registry.invalid/none:1" }] },
      };
      // A new namespace admits pods once its default ServiceAccount exists.
      await eventually("the pod to be created", () => client.create(pod), patience);
    }
    await eventually(
      "each controller to see its own Pod",
      () => (seen.configmap.has("configmap-pod") && seen.secret.has("secret-pod")) || undefined,
      patience,
    );
    assert.deepEqual([...seen.configmap], ["configmap-pod"]);
    assert.deepEqual([...seen.secret], ["secret-pod"]);
    assert.deepEqual(
      recorder.requests.map((r) => r.verb),
      ["list", "watch"],
      "one Pod list and one Pod watch for both controllers",
    );
  } finally {
    recorder.stop();
    stop.abort();
    await started;
  }
});

/** An elector driven by the test: `grant()` makes this replica leader, `revoke()` takes it away. */
class ScriptedElector implements Elector {
  #grant = Promise.withResolvers<void>();
  #revoke = Promise.withResolvers<void>();
  released: number | undefined;
  campaigns = 0;

  grant(): void {
    this.#grant.resolve();
  }

  revoke(): void {
    this.#revoke.resolve();
  }

  async run(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<void> {
    this.campaigns++;
    const aborted = new Promise<"stop">((resolve) => {
      if (signal.aborted) resolve("stop");
      signal.addEventListener("abort", () => resolve("stop"), { once: true });
    });
    if ((await Promise.race([this.#grant.promise, aborted])) === "stop") return;
    this.#grant = Promise.withResolvers<void>();
    const leadership = new AbortController();
    callbacks.onStartedLeading(leadership.signal);
    const why = await Promise.race([this.#revoke.promise.then(() => "lost" as const), aborted]);
    this.#revoke = Promise.withResolvers<void>();
    if (why === "stop") this.released = performance.now();
    leadership.abort();
    callbacks.onStoppedLeading?.();
  }
}

test("controllers run only while leading; a lost lease aborts in-flight reconciles", async () => {
  const elector = new ScriptedElector();
  const events: string[] = [];
  const manager = newManager({
    metricsPort: false,
    leaderElection: { leaseName: "test", namespace: ns, elector, retryPeriodMs: 10 },
  });
  manager.add(
    controller(client, ConfigMap)
      .named("elected")
      .withOptions({ namespace: ns, labelSelector: "app=m", drainTimeoutMs: 100 })
      .build(async (_ref, ctx) => {
        events.push("reconcile");
        try {
          await sleep(60_000, undefined, { signal: ctx.signal });
        } catch {
          events.push("aborted");
        }
        return Action.done();
      }),
  );
  const stop = new AbortController();
  const started = manager.start(stop.signal);
  await eventually("listening", () => manager.healthPort, patience);
  await sleep(300);
  assert.equal(events.length, 0, "a follower does not reconcile");
  assert.equal((await get(manager.healthPort, "/readyz")).status, 200, "a follower is ready");
  assert.match(await manager.metrics.render(), /leader_election_master_status\{name="test"\} 0/);

  elector.grant();
  await eventually("a reconcile as leader", () => events.length === 1 || undefined, patience);
  assert.equal(manager.leading, true);
  assert.match(await manager.metrics.render(), /leader_election_master_status\{name="test"\} 1/);

  const t0 = performance.now();
  elector.revoke();
  await eventually(
    "the in-flight reconcile aborted",
    () => events.includes("aborted") || undefined,
    patience,
  );
  assert.ok(performance.now() - t0 < 1000, "a lost lease does not wait for a drain");
  await eventually("campaigning again", () => elector.campaigns === 2 || undefined, patience);
  assert.equal(manager.leading, false);

  elector.grant();
  await eventually(
    "a new term lists and reconciles again",
    () => events.length === 3 || undefined,
    patience,
  );
  stop.abort();
  await started;
  assert.ok(elector.released !== undefined, "the lease is released on shutdown");
});

test("on shutdown the lease is released only after in-flight reconciles drain", async () => {
  const elector = new ScriptedElector();
  let finishedAt: number | undefined;
  let inFlight = false;
  const manager = newManager({
    metricsPort: false,
    healthPort: false,
    leaderElection: { leaseName: "drain", namespace: ns, elector },
  });
  manager.add(
    controller(client, ConfigMap)
      .named("draining")
      .withOptions({ namespace: ns, labelSelector: "app=m" })
      .build(async () => {
        inFlight = true;
        await sleep(500);
        finishedAt = performance.now();
        return Action.done();
      }),
  );
  const stop = new AbortController();
  const started = manager.start(stop.signal);
  elector.grant();
  await eventually("a reconcile in flight", () => inFlight || undefined, patience);
  stop.abort();
  await started;
  assert.ok(finishedAt !== undefined, "the in-flight reconcile finished");
  assert.ok(
    elector.released !== undefined && elector.released >= finishedAt,
    "released before drain",
  );
});

test("with a real Lease, one of two managers leads, and hands over at once on shutdown", async () => {
  const reconciled = { a: 0, b: 0 };
  const replica = (id: "a" | "b") => {
    const manager = newManager({
      metricsPort: false,
      healthPort: false,
      leaderElection: {
        leaseName: "handover",
        namespace: ns,
        identity: `replica-${id}`,
        leaseDurationMs: 3_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 400,
      },
    });
    manager.add(
      controller(client, ConfigMap)
        .named(`lease-${id}`)
        .withOptions({ namespace: ns, labelSelector: "app=m" })
        .build(async () => {
          reconciled[id]++;
          return Action.done();
        }),
    );
    const stop = new AbortController();
    return { manager, stop, started: manager.start(stop.signal) };
  };
  const a = replica("a");
  const b = replica("b");
  try {
    await eventually(
      "a leader",
      () => a.manager.leading || b.manager.leading || undefined,
      patience,
    );
    await sleep(1_500);
    assert.notEqual(a.manager.leading, b.manager.leading, "exactly one replica leads");
    const [leader, follower] = a.manager.leading ? [a, b] : [b, a];
    const [leaderId, followerId] = a.manager.leading
      ? (["a", "b"] as const)
      : (["b", "a"] as const);
    assert.ok(reconciled[leaderId] > 0, "the leader reconciles");
    assert.equal(reconciled[followerId], 0, "the follower does not");

    const t0 = performance.now();
    leader.stop.abort();
    await leader.started;
    await eventually(
      "the follower to take over",
      () => follower.manager.leading || undefined,
      patience,
    );
    const took = performance.now() - t0;
    assert.ok(took < 2_500, `took over after ${Math.round(took)} ms: the lease was not released`);
    await eventually(
      "the new leader to reconcile",
      () => reconciled[followerId] > 0 || undefined,
      patience,
    );
    const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease" },
      { namespace: ns, name: "handover" },
    );
    assert.equal(lease.spec?.holderIdentity, `replica-${followerId}`);
  } finally {
    a.stop.abort();
    b.stop.abort();
    await Promise.allSettled([a.started, b.started]);
  }
});

test("handleSignals() aborts on the first signal", async () => {
  const manager = newManager();
  // SIGHUP: the test kit owns SIGTERM and SIGINT handlers of its own.
  const signal = manager.handleSignals(["SIGHUP"]);
  assert.equal(signal.aborted, false);
  process.emit("SIGHUP", "SIGHUP");
  assert.equal(signal.aborted, true);
  assert.match(String((signal.reason as Error).message), /SIGHUP/);
  process.removeAllListeners("SIGHUP");
});
