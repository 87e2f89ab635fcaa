import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { createNamespaces, deleteNamespaces, uniqueName } from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../client/types.ts";
import { holdableClock } from "../watch/_testing.ts";
import type { WatcherStatus } from "../watch/watcher.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import { ownerIndex } from "./store.ts";

const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
type ConfigMapObject = KubeObject & { data?: Record<string, string> };

const ns = uniqueName("informer-test");
const otherNs = uniqueName("informer-other");
let client: KubeClient;
const stops: AbortController[] = [];

before(async () => {
  ({ client } = await createNamespaces([ns, otherNs], { rateLimit: false }));
});

after(async () => {
  for (const stop of stops) stop.abort();
  await deleteNamespaces(client, [ns, otherNs]);
});

function configMap(
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
  extra: Partial<KubeObject> = {},
) {
  return {
    ...ConfigMap,
    metadata: { name, namespace, labels, ...extra.metadata },
    data: { v: "1" },
  } as ConfigMapObject;
}

async function started(
  options: InformerOptions<ConfigMapObject>,
): Promise<Informer<ConfigMapObject>> {
  const informer = new Informer<ConfigMapObject>(client, ConfigMap, options);
  const stop = new AbortController();
  stops.push(stop);
  informer.run(stop.signal).catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
  });
  await informer.waitForSync(AbortSignal.timeout(20_000));
  return informer;
}

const patience = { timeoutMs: 20_000, intervalMs: 50 };

function names(objects: KubeObject[]): string[] {
  return objects.map((o) => o.metadata.name ?? "").sort();
}

test("the initial list populates the cache before waitForSync resolves", async () => {
  for (const name of ["pre-1", "pre-2", "pre-3"])
    await client.create(configMap(ns, name, { set: "pre" }));
  const informer = await started({ namespace: ns, labelSelector: "set=pre" });
  assert.ok(informer.hasSynced());
  assert.deepEqual(names(informer.list()), ["pre-1", "pre-2", "pre-3"]);
  assert.equal(informer.get({ namespace: ns, name: "pre-2" })?.data?.v, "1");
  assert.equal(
    informer.get(`${ns}/pre-2`)?.metadata.managedFields,
    undefined,
    "managedFields are stripped",
  );
});

test("create, update and delete reach the handlers with the previous object and the final state", async () => {
  const informer = await started({ namespace: ns, labelSelector: "set=crud" });
  const seen: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => seen.push(`add ${o.metadata.name} ${o.data?.v}`),
    onUpdate: (previous, current) =>
      seen.push(`update ${current.metadata.name} ${previous.data?.v}->${current.data?.v}`),
    onDelete: (o, info) =>
      seen.push(`delete ${o.metadata.name} ${o.data?.v} unknown=${info.finalStateUnknown}`),
  });
  await client.create(configMap(ns, "crud", { set: "crud" }));
  await eventually("the add", () => informer.get({ namespace: ns, name: "crud" }), patience);
  await client.patch(ConfigMap, { namespace: ns, name: "crud" }, { data: { v: "2" } });
  await eventually(
    "the update",
    () => informer.get({ namespace: ns, name: "crud" })?.data?.v === "2" || undefined,
    patience,
  );
  await client.delete(ConfigMap, { namespace: ns, name: "crud" });
  await eventually(
    "the delete",
    () => informer.get({ namespace: ns, name: "crud" }) === undefined || undefined,
    patience,
  );
  assert.deepEqual(seen, ["add crud 1", "update crud 1->2", "delete crud 2 unknown=false"]);
});

test("a relist that finds objects unchanged delivers no updates; deletions it infers carry finalStateUnknown", async () => {
  for (const name of ["keep", "drop"]) await client.create(configMap(ns, name, { set: "relist" }));
  const statuses: WatcherStatus[] = [];
  const clock = holdableClock();
  const informer = await started({
    namespace: ns,
    labelSelector: "set=relist",
    onStatus: (s) => statuses.push(s),
    clock,
  });
  const seen: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => seen.push(`add ${o.metadata.name}`),
    onUpdate: (_p, c) => seen.push(`update ${c.metadata.name}`),
    onDelete: (o, info) => seen.push(`delete ${o.metadata.name} unknown=${info.finalStateUnknown}`),
  });
  // The late registrant is told about what is already cached.
  assert.deepEqual(seen.sort(), ["add drop", "add keep"]);
  seen.length = 0;
  // Hold the watch down while "drop" goes, so only the relist can notice.
  await eventually("watching", () => statuses.at(-1)?.state === "watching" || undefined, patience);
  clock.hold();
  informer.watcher.dropConnection({ relist: true });
  await eventually("the reconnect to be held", () => clock.waiting === 1 || undefined, patience);
  await client.delete(ConfigMap, { namespace: ns, name: "drop" });
  clock.release();
  await eventually(
    "the deletion",
    () => informer.get({ namespace: ns, name: "drop" }) === undefined || undefined,
    patience,
  );
  assert.ok(statuses.some((s) => s.state === "listing" && s.reason === "requested"));
  assert.deepEqual(seen, ["delete drop unknown=true"]);
  assert.ok(informer.get({ namespace: ns, name: "keep" }));
});

test("a label selector scopes the cache, and an object that stops matching is deleted from it", async () => {
  const informer = await started({ namespace: ns, labelSelector: "tier=gold" });
  await client.create(configMap(ns, "gold-1", { tier: "gold" }));
  await client.create(configMap(ns, "silver-1", { tier: "silver" }));
  await eventually("gold-1", () => informer.get({ namespace: ns, name: "gold-1" }), patience);
  await client.patch(
    ConfigMap,
    { namespace: ns, name: "gold-1" },
    { metadata: { labels: { tier: "silver" } } },
  );
  await eventually(
    "gold-1 leaving",
    () => informer.get({ namespace: ns, name: "gold-1" }) === undefined || undefined,
    patience,
  );
  assert.equal(informer.get({ namespace: ns, name: "silver-1" }), undefined);
  assert.deepEqual(informer.list(), []);
});

test("a namespace-scoped informer never sees objects of other namespaces", async () => {
  const informer = await started({ namespace: otherNs });
  await client.create(configMap(ns, "here", { set: "scope" }));
  await client.create(configMap(otherNs, "there", { set: "scope" }));
  await eventually("there", () => informer.get({ namespace: otherNs, name: "there" }), patience);
  assert.equal(informer.get({ namespace: ns, name: "here" }), undefined);
  assert.ok(informer.list().every((o) => o.metadata.namespace === otherNs));
  assert.deepEqual(
    names(informer.list(otherNs).filter((o) => o.metadata.labels?.set === "scope")),
    ["there"],
  );
});

test("the owner index finds an owner's children, and custom indexes work by name", async () => {
  const informer = await started({
    namespace: ns,
    labelSelector: "set=owned",
    indexers: { byColor: (o) => (o.metadata.labels?.color ? [o.metadata.labels.color] : []) },
  });
  const owner = await client.create(configMap(ns, "owner", { set: "owned" }));
  const ref = { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid ?? "" };
  await client.create(
    configMap(
      ns,
      "child-a",
      { set: "owned", color: "red" },
      { metadata: { ownerReferences: [ref] } },
    ),
  );
  await client.create(
    configMap(
      ns,
      "child-b",
      { set: "owned", color: "blue" },
      { metadata: { ownerReferences: [ref] } },
    ),
  );
  await client.create(configMap(ns, "orphan", { set: "owned", color: "red" }));
  await eventually("all four", () => informer.list().length === 4 || undefined, patience);
  assert.deepEqual(names(informer.byIndex(ownerIndex, ref.uid)), ["child-a", "child-b"]);
  assert.deepEqual(names(informer.byIndex("byColor", "red")), ["child-a", "orphan"]);
});

test("resync replays every cached object to onUpdate with the same object on both sides", async () => {
  await client.create(configMap(ns, "resynced", { set: "resync" }));
  const informer = await started({
    namespace: ns,
    labelSelector: "set=resync",
    resyncPeriodMs: 100,
  });
  const replays: boolean[] = [];
  informer.addEventHandler({ onUpdate: (previous, current) => replays.push(previous === current) });
  await eventually("two resyncs", () => replays.length >= 2 || undefined, patience);
  assert.ok(replays.every(Boolean));
});

test("waitForSync rejects when the informer is stopped before it synced", async () => {
  const informer = new Informer(client, ConfigMap, { namespace: ns });
  const stop = new AbortController();
  stop.abort(new Error("stopped early"));
  await informer.run(stop.signal);
  await assert.rejects(informer.waitForSync(), /stopped early/);
  assert.equal(informer.hasSynced(), false);
});
