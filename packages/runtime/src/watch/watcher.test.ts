import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { createNamespaces, deleteNamespaces, uniqueName } from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../client/types.ts";
import { Watcher, type WatcherEvent, type WatcherOptions, type WatcherStatus } from "./watcher.ts";

const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
const ns = uniqueName("watch-test");
let client: KubeClient;
const stops: AbortController[] = [];

before(async () => {
  ({ client } = await createNamespaces([ns], { rateLimit: false }));
});

after(async () => {
  for (const stop of stops) stop.abort();
  await deleteNamespaces(client, [ns]);
});

function watch(options: WatcherOptions) {
  const events: WatcherEvent[] = [];
  const statuses: WatcherStatus[] = [];
  const watcher = new Watcher(client, ConfigMap, {
    namespace: ns,
    ...options,
    onStatus: (s) => statuses.push(s),
  });
  const stop = new AbortController();
  stops.push(stop);
  const done = watcher.run((e) => events.push(e), stop.signal);
  return { watcher, events, statuses, stop, done };
}

const patience = { timeoutMs: 20_000, intervalMs: 25 };

const named = (name: string) => (e: WatcherEvent) =>
  e.type === "added" && e.object.metadata.name === name;

test("the watcher delivers a relisted snapshot first, then changes as events without managedFields", async () => {
  await client.create({
    ...ConfigMap,
    metadata: { name: "before", namespace: ns, labels: { t: "order" } },
  });
  const w = watch({ labelSelector: "t=order" });
  await eventually("the snapshot", () => w.events[0], patience);
  const first = w.events[0];
  assert.equal(first?.type, "relisted");
  assert.deepEqual(first.type === "relisted" ? first.objects.map((o) => o.metadata.name) : [], [
    "before",
  ]);
  await client.create({
    ...ConfigMap,
    metadata: { name: "after", namespace: ns, labels: { t: "order" } },
  });
  const added = (await eventually(
    "the added event",
    () => w.events.find(named("after")),
    patience,
  )) as { object: KubeObject };
  assert.equal(added.object.metadata.managedFields, undefined);
  assert.match(w.watcher.resourceVersion, /^\d+$/);
});

test("a watch with no traffic for stallTimeoutMs is cut and resumed without a relist", async () => {
  const w = watch({
    labelSelector: "t=stall",
    stallTimeoutMs: 1_000,
    backoff: { initialMs: 20, maxMs: 50 },
  });
  await eventually(
    "a stall",
    () => w.statuses.find((s) => s.state === "disconnected" && s.reason === "stalled"),
    { ...patience, timeoutMs: 10_000 },
  );
  await client.create({
    ...ConfigMap,
    metadata: { name: "after-stall", namespace: ns, labels: { t: "stall" } },
  });
  await eventually(
    "the event after the stall",
    () => w.events.find(named("after-stall")),
    patience,
  );
  assert.equal(w.statuses.filter((s) => s.state === "listing").length, 1, "only the initial list");
});

test("a watch the server ends at timeoutSeconds resumes at once from the last resourceVersion", async () => {
  const w = watch({ labelSelector: "t=timeout", serverTimeoutSeconds: 1 });
  const closed = await eventually(
    "a server close",
    () => w.statuses.find((s) => s.state === "disconnected" && s.reason === "closed"),
    { ...patience, timeoutMs: 10_000 },
  );
  assert.equal(closed.state === "disconnected" ? closed.retryInMs : -1, 0);
  await client.create({
    ...ConfigMap,
    metadata: { name: "after-close", namespace: ns, labels: { t: "timeout" } },
  });
  await eventually(
    "the event after the close",
    () => w.events.find(named("after-close")),
    patience,
  );
  assert.equal(w.statuses.filter((s) => s.state === "listing").length, 1, "only the initial list");
});

test("run() rejects with the sink's error instead of retrying", async () => {
  const stop = new AbortController();
  stops.push(stop);
  const watcher = new Watcher(client, ConfigMap, { namespace: ns });
  await assert.rejects(
    watcher.run(() => {
      throw new Error("sink broke");
    }, stop.signal),
    /sink broke/,
  );
});

test("run() resolves when its signal aborts mid-watch", async () => {
  const w = watch({ labelSelector: "t=abort" });
  await eventually("watching", () => w.statuses.find((s) => s.state === "watching"), patience);
  w.stop.abort();
  await w.done;
});
