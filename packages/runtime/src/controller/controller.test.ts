/**
 * The controller engine against the real API server: ConfigMaps are the
 * primary kind, each test selecting its own by label so tests do not see
 * each other's objects.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually } from "@ballast/dev/testkit";
import { createNamespaces, deleteNamespaces, uniqueName } from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../client/types.ts";
import { createLogger } from "../log/logger.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { exponentialBackoff } from "../queue/rate-limiter.ts";
import { Action } from "../reconcile/action.ts";
import { type ObjectRef, objectKey } from "../reconcile/object-ref.ts";
import { TerminalError } from "../reconcile/terminal-error.ts";
import { type Controller, controller } from "./index.ts";

const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
const Secret = { apiVersion: "v1", kind: "Secret" } as const;
type ConfigMapObject = KubeObject & { data?: Record<string, string> };

const ns = uniqueName("controller-test");
const quiet = createLogger({ level: "silent" });
let client: KubeClient;

before(async () => {
  ({ client } = await createNamespaces([ns], { fieldManager: "controller-test" }));
});

after(async () => {
  await deleteNamespaces(client, [ns]);
});

async function createConfigMap(name: string, suite: string, data: Record<string, string> = {}) {
  return client.create<ConfigMapObject>({
    ...ConfigMap,
    metadata: { name, namespace: ns, labels: { suite } },
    data,
  });
}

const patience = { timeoutMs: 20_000, intervalMs: 20 };

/** Runs `c` for the duration of `body`, then stops it and waits until it has stopped. */
async function running<T extends KubeObject>(
  c: Controller<T>,
  body: (metrics: MetricsRegistry) => Promise<void>,
  logger = quiet,
): Promise<void> {
  const stop = new AbortController();
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const run = c.run(stop.signal, { metrics, logger });
  let failure: unknown;
  run.catch((error) => {
    failure = error;
  });
  try {
    await eventually(
      "caches to sync",
      () => c.hasSynced() || failure !== undefined || undefined,
      patience,
    );
    if (failure) throw failure;
    await body(metrics);
  } finally {
    stop.abort();
    await run;
  }
}

async function metricValue(
  metrics: MetricsRegistry,
  name: string,
  labels: string,
): Promise<number> {
  const text = await metrics.render();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? Number.NaN : Number(line.split(" ").at(-1));
}

test("a reconcile that throws is retried with growing back-off until it succeeds", async () => {
  const attempts: number[] = [];
  const c = controller<ConfigMapObject>(client, ConfigMap)
    .withOptions({
      labelSelector: "suite=retry",
      namespace: ns,
      rateLimiter: exponentialBackoff({ baseMs: 100, maxMs: 10_000 }),
    })
    .build(async () => {
      attempts.push(performance.now());
      if (attempts.length <= 3) throw new Error(`transient failure ${attempts.length}`);
      return Action.done();
    });
  await running(c, async (metrics) => {
    await createConfigMap("retry", "retry");
    await eventually("a successful attempt", () => attempts.length === 4 || undefined, patience);
    await sleep(1000);
    assert.equal(attempts.length, 4, "a success is not retried");
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? 0));
    // Back-off of 100, 200, 400 ms (timers may fire a little late, never early).
    assert.ok((gaps[0] ?? 0) >= 95, `first retry after ${gaps[0]} ms`);
    assert.ok((gaps[1] ?? 0) >= 195, `second retry after ${gaps[1]} ms`);
    assert.ok((gaps[2] ?? 0) >= 395, `third retry after ${gaps[2]} ms`);
    assert.equal(
      await metricValue(metrics, "controller_runtime_reconcile_total", 'result="error"'),
      3,
    );
    assert.equal(
      await metricValue(metrics, "controller_runtime_reconcile_total", 'result="success"'),
      1,
    );
    assert.equal(
      await metricValue(metrics, "controller_runtime_reconcile_errors_total", "configmap"),
      3,
    );
  });
});

test("a TerminalError is not retried, only reconciled again when the object changes", async () => {
  let attempts = 0;
  const c = controller<ConfigMapObject>(client, ConfigMap)
    .withOptions({
      labelSelector: "suite=terminal",
      namespace: ns,
      rateLimiter: exponentialBackoff({ baseMs: 10, maxMs: 100 }),
    })
    .build(async () => {
      attempts++;
      throw new TerminalError("spec.message is not a greeting");
    });
  await running(c, async (metrics) => {
    await createConfigMap("terminal", "terminal");
    await eventually("the first attempt", () => attempts === 1 || undefined, patience);
    await sleep(1000);
    assert.equal(attempts, 1, "with a 10 ms back-off, a retry would have happened by now");
    assert.equal(
      await metricValue(metrics, "controller_runtime_terminal_reconcile_errors_total", "configmap"),
      1,
    );
    await client.patch(ConfigMap, { namespace: ns, name: "terminal" }, { data: { fixed: "yes" } });
    await eventually("a reconcile after the change", () => attempts === 2 || undefined, patience);
  });
});

test("Action.requeueAfter(ms) reconciles again after the delay without any change", async () => {
  const calls: number[] = [];
  const c = controller<ConfigMapObject>(client, ConfigMap)
    .withOptions({ labelSelector: "suite=requeue", namespace: ns })
    .build(async () => {
      calls.push(performance.now());
      return calls.length < 3 ? Action.requeueAfter(400) : Action.done();
    });
  await running(c, async (metrics) => {
    await createConfigMap("requeue", "requeue");
    await eventually("three calls", () => calls.length === 3 || undefined, patience);
    const [first = 0, second = 0, third = 0] = calls;
    assert.ok(second - first >= 395, `requeued after ${second - first} ms`);
    assert.ok(third - second >= 395, `requeued after ${third - second} ms`);
    await sleep(800);
    assert.equal(calls.length, 3, "Action.done() does not requeue");
    assert.equal(
      await metricValue(metrics, "controller_runtime_reconcile_total", 'result="requeue_after"'),
      2,
    );
  });
});

test("maxConcurrentReconciles=2 runs two keys at once but never one key twice", async () => {
  const active = new Set<string>();
  let peak = 0;
  const overlaps: string[] = [];
  const perKey = new Map<string, number>();
  const c = controller<ConfigMapObject>(client, ConfigMap)
    .withOptions({ labelSelector: "suite=concurrency", namespace: ns, maxConcurrentReconciles: 2 })
    .build(async (ref: ObjectRef) => {
      const key = objectKey(ref);
      if (active.has(key)) overlaps.push(key);
      active.add(key);
      peak = Math.max(peak, active.size);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      await sleep(150);
      active.delete(key);
      return Action.done();
    });
  await running(c, async () => {
    const names = ["c-0", "c-1", "c-2", "c-3"];
    for (const name of names) await createConfigMap(name, "concurrency");
    // Hammer one key while it is being reconciled: the queue must hold the
    // new event back until the running call ends.
    for (let i = 0; i < 10; i++) {
      c.enqueue({ namespace: ns, name: "c-0" });
      await client.patch(ConfigMap, { namespace: ns, name: "c-0" }, { data: { i: String(i) } });
      await sleep(30);
    }
    await eventually(
      "every key reconciled",
      () => names.every((n) => perKey.has(`${ns}/${n}`)) || undefined,
      patience,
    );
    await eventually("idle", () => active.size === 0 || undefined, patience);
    await sleep(300);
  });
  assert.deepEqual(overlaps, [], "one key was reconciled twice at once");
  assert.equal(peak, 2);
  assert.ok((perKey.get(`${ns}/c-0`) ?? 0) >= 2, "later changes to c-0 were reconciled");
});

test("owns() reconciles the controlling owner when an owned object changes", async () => {
  const seen: string[] = [];
  const c = controller<ConfigMapObject>(client, ConfigMap)
    .owns(Secret)
    .withOptions({ labelSelector: "suite=owns", namespace: ns })
    .build(async (ref, ctx) => {
      seen.push(`${objectKey(ref)} owns ${ctx.owned(Secret).length}`);
      return Action.done();
    });
  await running(c, async () => {
    const owner = await createConfigMap("owner", "owns");
    await eventually("the owner's first reconcile", () => seen.length === 1 || undefined, patience);
    await client.create({
      ...Secret,
      metadata: {
        name: "owned",
        namespace: ns,
        ownerReferences: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            name: "owner",
            uid: owner.metadata.uid ?? "",
            controller: true,
          },
        ],
      },
    });
    await eventually(
      "a reconcile seeing the owned Secret",
      () => seen.includes(`${ns}/owner owns 1`) || undefined,
      patience,
    );
    // An owner reference without controller: true is not followed.
    const before = seen.length;
    await client.create({
      ...Secret,
      metadata: {
        name: "merely-owned",
        namespace: ns,
        ownerReferences: [
          { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid ?? "" },
        ],
      },
    });
    await sleep(500);
    assert.equal(seen.length, before);
  });
});

test("stopping drains the in-flight reconcile; abortInFlight aborts it at once", async () => {
  let started = 0;
  let finished = 0;
  let aborted = 0;
  const c = controller<ConfigMapObject>(client, ConfigMap)
    .withOptions({ labelSelector: "suite=drain", namespace: ns })
    .build(async (_ref, ctx) => {
      started++;
      try {
        await sleep(600, undefined, { signal: ctx.signal });
        finished++;
      } catch (error) {
        aborted++;
        throw error;
      }
      return Action.done();
    });
  await createConfigMap("drain", "drain");

  // Graceful stop: the reconcile finishes, its signal untouched.
  let stop = new AbortController();
  let run = c.run(stop.signal, { logger: quiet });
  await eventually("a reconcile in flight", () => started === 1 || undefined, patience);
  stop.abort();
  await run;
  assert.deepEqual({ finished, aborted }, { finished: 1, aborted: 0 });

  // Lost lease: the reconcile's signal is aborted and run returns promptly.
  stop = new AbortController();
  const lost = new AbortController();
  run = c.run(stop.signal, { logger: quiet, abortInFlight: lost.signal });
  await eventually(
    "a reconcile in flight again (a new run lists everything)",
    () => started === 2 || undefined,
    patience,
  );
  const t0 = performance.now();
  lost.abort();
  stop.abort();
  await run;
  assert.ok(performance.now() - t0 < 400, "run waited for the reconcile instead of aborting it");
  assert.deepEqual({ finished, aborted }, { finished: 1, aborted: 1 });
});

test("every outcome is logged as a JSON line with the controller, key and duration", async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  let calls = 0;
  const c = controller<ConfigMapObject>(client, ConfigMap)
    .named("logged")
    .withOptions({
      labelSelector: "suite=logs",
      namespace: ns,
      rateLimiter: exponentialBackoff({ baseMs: 10 }),
    })
    .build(async (_ref, ctx) => {
      calls++;
      ctx.log.info("working", { apiToken: "s3cr3t" });
      if (calls === 1) throw new Error("first try fails");
      return Action.done();
    });
  await running(
    c,
    async () => {
      await createConfigMap("logged", "logs");
      await eventually("two calls", () => calls === 2 || undefined, patience);
      await sleep(100);
    },
    logger,
  );
  const key = `${ns}/logged`;
  const failed = lines.find((l) => l.msg === "reconcile failed");
  const succeeded = lines.find((l) => l.msg === "reconciled");
  assert.equal(failed?.level, "error");
  assert.equal(failed?.controller, "logged");
  assert.equal(failed?.key, key);
  assert.equal(typeof failed?.durationMs, "number");
  assert.equal((failed?.error as { message?: string } | undefined)?.message, "first try fails");
  assert.equal(succeeded?.key, key);
  assert.equal(succeeded?.result, "success");
  assert.equal(typeof succeeded?.durationMs, "number");
  const working = lines.find((l) => l.msg === "working");
  assert.equal(working?.key, key, "ctx.log carries the key");
  assert.equal(working?.apiToken, "[REDACTED]");
});

test("run() fails with a ControllerError naming the controller when the kind does not exist", async () => {
  const c = controller(client, { apiVersion: "nope.ballast.dev/v1", kind: "Missing" }).build(
    async () => Action.done(),
  );
  await assert.rejects(c.run(new AbortController().signal, { logger: quiet }), (error: unknown) => {
    return (
      error instanceof Error &&
      error.name === "ControllerError" &&
      error.message.includes("missing")
    );
  });
});
