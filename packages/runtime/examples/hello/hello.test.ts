/**
 * The hello operator end to end, against the real cluster: the Greeting CRD
 * installed, the operator running under a Manager, and kubectl-level
 * changes made through the API.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually } from "@ballast/dev/testkit";
import {
  createLogger,
  findCondition,
  ignoreNotFound,
  isNotFound,
  type KubeClient,
  type KubeObject,
  MetricsRegistry,
} from "@ballast/runtime";
import { createNamespaces, deleteNamespaces, uniqueName } from "../../src/_test-support.ts";
import { Greeting } from "./api.ts";
import { ConfigMap, desiredConfigMap, finalizerName } from "./controller.ts";
import { helloManager, installGreetingCrd } from "./operator.ts";

type ConfigMapObject = KubeObject & { data?: Record<string, string> };

const ns = uniqueName("hello-test");
let client: KubeClient;
let operator: ReturnType<typeof helloManager>;
const stop = new AbortController();
let running: Promise<void>;

before(async () => {
  ({ client } = await createNamespaces([ns], { fieldManager: "hello-operator" }));
  await installGreetingCrd(client);
  operator = helloManager(client, {
    namespace: ns,
    metricsPort: 0,
    healthPort: 0,
    host: "127.0.0.1",
    logger: createLogger({ level: "silent" }),
    metrics: new MetricsRegistry({ defaultMetrics: false }),
  });
  running = operator.manager.start(stop.signal);
});

after(async () => {
  stop.abort();
  await running;
  await deleteNamespaces(client, [ns], { unfinalized: [Greeting] });
});

const patience = { timeoutMs: 30_000, intervalMs: 50 };

const readGreeting = (name: string) => client.get<Greeting>(Greeting, { namespace: ns, name });
const readConfigMap = (name: string) =>
  client.get<ConfigMapObject>(ConfigMap, { namespace: ns, name: `${name}-greeting` });

async function createGreeting(name: string, message: string): Promise<Greeting> {
  return client.create<Greeting>({
    apiVersion: Greeting.apiVersion,
    kind: Greeting.kind,
    metadata: { name, namespace: ns },
    spec: { message },
  });
}

/** Waits until the Greeting's status says Ready for its current generation, and returns both objects. */
async function converged(name: string, message: string) {
  return eventually(
    `${name} to converge on ${JSON.stringify(message)}`,
    async () => {
      const greeting = await readGreeting(name);
      const ready = findCondition(greeting.status?.conditions, "Ready");
      if (greeting.status?.observedGeneration !== greeting.metadata.generation) return undefined;
      if (ready?.status !== "True" || ready.observedGeneration !== greeting.metadata.generation) {
        return undefined;
      }
      const configMap = await readConfigMap(name).catch(ignoreNotFound);
      if (configMap?.data?.message !== message) return undefined;
      return { greeting, configMap };
    },
    patience,
  );
}

test("desiredConfigMap() is controlled by its Greeting and carries the message", () => {
  const cm = desiredConfigMap({
    apiVersion: Greeting.apiVersion,
    kind: Greeting.kind,
    metadata: { name: "hi", namespace: "n", uid: "u-1" },
    spec: { message: "hello" },
  });
  assert.equal(cm.metadata.name, "hi-greeting");
  assert.deepEqual(cm.data, { message: "hello" });
  assert.equal(cm.metadata.ownerReferences[0]?.controller, true);
  assert.equal(cm.metadata.ownerReferences[0]?.uid, "u-1");
});

test("the API server rejects a message with surrounding spaces (the CEL rule)", async () => {
  await assert.rejects(createGreeting("spaces", " hi "), /must not start or end with spaces/);
});

test("a new Greeting gets its ConfigMap, a finalizer and a Ready status", async () => {
  await createGreeting("hello", "hello, world");
  const { greeting, configMap } = await converged("hello", "hello, world");
  assert.deepEqual(greeting.metadata.finalizers, [finalizerName]);
  assert.equal(greeting.status?.configMap, "hello-greeting");
  const owner = configMap.metadata.ownerReferences?.[0];
  assert.equal(owner?.uid, greeting.metadata.uid);
  assert.equal(owner?.controller, true);
});

test("publishing is announced as an Event regarding the Greeting", async () => {
  const { greeting } = await converged("hello", "hello, world");
  const event = await eventually(
    "a Published event",
    async () => {
      const list = await client.list<
        KubeObject & { reason?: string; note?: string; regarding?: { uid?: string } }
      >({ apiVersion: "events.k8s.io/v1", kind: "Event" }, { namespace: ns });
      return list.items.find(
        (e) => e.reason === "Published" && e.regarding?.uid === greeting.metadata.uid,
      );
    },
    patience,
  );
  assert.match(event.note ?? "", /hello-greeting says "hello, world"/);
});

test("changing the message updates the ConfigMap and the observed generation", async () => {
  const before = await converged("hello", "hello, world");
  await client.patch(Greeting, { namespace: ns, name: "hello" }, { spec: { message: "bonjour" } });
  const after = await converged("hello", "bonjour");
  assert.ok((after.greeting.metadata.generation ?? 0) > (before.greeting.metadata.generation ?? 0));
  assert.equal(after.greeting.status?.observedGeneration, after.greeting.metadata.generation);
});

test("a deleted ConfigMap is recreated (owns() maps it back to its Greeting)", async () => {
  const { configMap } = await converged("hello", "bonjour");
  await client.delete(ConfigMap, { namespace: ns, name: "hello-greeting" });
  const recreated = await eventually(
    "the ConfigMap to come back",
    async () => {
      const cm = await readConfigMap("hello").catch(ignoreNotFound);
      return cm && cm.metadata.uid !== configMap.metadata.uid ? cm : undefined;
    },
    patience,
  );
  assert.equal(recreated.data?.message, "bonjour");
});

test("in steady state a reconcile writes nothing", async () => {
  await converged("hello", "bonjour");
  // Let events from our own writes settle, then force reconciles.
  await sleep(500);
  const settled = await converged("hello", "bonjour");
  const reconciles = async () => {
    const text = await operator.manager.metrics.render();
    const line = text
      .split("\n")
      .find((l) =>
        l.startsWith('controller_runtime_reconcile_total{controller="greeting",result="success"}'),
      );
    return Number(line?.split(" ").at(-1));
  };
  const before = await reconciles();
  for (let i = 0; i < 3; i++) {
    operator.greetings.resync();
    await sleep(300);
  }
  assert.ok((await reconciles()) >= before + 3, "the resyncs did reconcile");
  const after = await converged("hello", "bonjour");
  assert.equal(after.greeting.metadata.resourceVersion, settled.greeting.metadata.resourceVersion);
  assert.equal(
    after.configMap.metadata.resourceVersion,
    settled.configMap.metadata.resourceVersion,
  );
});

test("deleting a Greeting runs the finalizer and garbage-collects its ConfigMap", async () => {
  await createGreeting("bye", "see you");
  await converged("bye", "see you");
  await client.delete(Greeting, { namespace: ns, name: "bye" });
  await eventually(
    "the Greeting to be gone",
    async () =>
      (await readGreeting("bye").catch((e: unknown) => (isNotFound(e) ? "gone" : undefined))) ===
      "gone"
        ? true
        : undefined,
    patience,
  );
  // The garbage collector learns of a new kind on its discovery resync (30 s).
  await eventually(
    "the ConfigMap to be collected",
    async () =>
      (await readConfigMap("bye").catch(ignoreNotFound)) === undefined ? true : undefined,
    { ...patience, timeoutMs: 90_000 },
  );
});

test("/metrics serves controller_runtime_reconcile_total for the greeting controller", async () => {
  const res = await fetch(`http://127.0.0.1:${operator.manager.metricsPort}/metrics`);
  assert.equal(res.status, 200);
  const body = await res.text();
  const success = body.match(
    /controller_runtime_reconcile_total\{controller="greeting",result="success"\} (\d+)/,
  );
  assert.ok(success && Number(success[1]) > 0, body.slice(0, 500));
  const ready = await fetch(`http://127.0.0.1:${operator.manager.healthPort}/readyz`);
  assert.equal(ready.status, 200);
});
