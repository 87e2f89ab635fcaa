import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createNamespaces, deleteNamespaces, uniqueName } from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import { ignoreNotFound } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import { EventRecorder } from "./recorder.ts";

const ns = uniqueName("events-test");
const EventType = { apiVersion: "events.k8s.io/v1", kind: "Event" } as const;

interface StoredEvent extends KubeObject {
  eventTime: string;
  type: string;
  reason: string;
  action: string;
  note?: string;
  regarding: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string };
  reportingController: string;
  reportingInstance: string;
  series?: { count: number; lastObservedTime: string };
}

let client: KubeClient;
let recorder: EventRecorder;

before(async () => {
  ({ client } = await createNamespaces([ns], { fieldManager: "events-test" }));
  recorder = new EventRecorder(client, {
    reportingController: "ballast.dev/events-test",
    reportingInstance: "events-test-0",
    flushIntervalMs: 0,
  });
});

after(async () => {
  await recorder.close();
  await deleteNamespaces(client, [ns]);
});

async function configMap(name: string): Promise<KubeObject> {
  return client.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } });
}

async function eventsAbout(name: string): Promise<StoredEvent[]> {
  const list = await client.list<StoredEvent>(EventType, {
    namespace: ns,
    fieldSelector: `regarding.name=${name}`,
  });
  return list.items;
}

test("event() creates an events.k8s.io/v1 Event with the given fields on the object", async () => {
  const cm = await configMap("plain");
  recorder.event(cm, {
    type: "Normal",
    reason: "Provisioned",
    action: "Provision",
    note: "bucket b-1 is ready",
  });
  await recorder.flush();
  const [event, ...rest] = await eventsAbout("plain");
  assert.equal(rest.length, 0);
  assert.ok(event);
  assert.equal(event.type, "Normal");
  assert.equal(event.reason, "Provisioned");
  assert.equal(event.action, "Provision");
  assert.equal(event.note, "bucket b-1 is ready");
  assert.equal(event.reportingController, "ballast.dev/events-test");
  assert.equal(event.reportingInstance, "events-test-0");
  assert.equal(event.metadata.namespace, ns);
  assert.equal(event.series, undefined);
  assert.ok(Math.abs(Date.parse(event.eventTime) - Date.now()) < 60_000, event.eventTime);
  assert.deepEqual(
    { ...event.regarding, resourceVersion: undefined },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "plain",
      namespace: ns,
      uid: cm.metadata.uid,
      resourceVersion: undefined,
    },
  );
});

test("event() folds 10 repeats into one Event whose series counts them", async () => {
  const cm = await configMap("repeated");
  recorder.event(cm, {
    type: "Warning",
    reason: "BackOff",
    action: "Restart",
    note: "broker 2 crashed",
  });
  await recorder.flush();
  for (let i = 0; i < 9; i++) {
    recorder.event(cm, {
      type: "Warning",
      reason: "BackOff",
      action: "Restart",
      note: "broker 2 crashed",
    });
  }
  await recorder.flush();
  const events = await eventsAbout("repeated");
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0]?.series?.count, 10);
  assert.ok(events[0]?.series?.lastObservedTime);
});

test("event() gives different reasons different Events", async () => {
  const cm = await configMap("reasons");
  recorder.event(cm, { type: "Normal", reason: "ScaledUp", action: "Scale" });
  recorder.event(cm, { type: "Normal", reason: "ScaledDown", action: "Scale" });
  recorder.event(cm, { type: "Normal", reason: "ScaledUp", action: "Scale" });
  await recorder.flush();
  const events = await eventsAbout("reasons");
  assert.deepEqual(events.map((e) => e.reason).sort(), ["ScaledDown", "ScaledUp"]);
  assert.equal(events.find((e) => e.reason === "ScaledUp")?.series?.count, 2);
});

test("event() about a cluster-scoped object lands in the default namespace", async () => {
  const nsObject = await client.get({ apiVersion: "v1", kind: "Namespace" }, { name: ns });
  recorder.event(nsObject, {
    type: "Normal",
    reason: "Adopted",
    action: "Adopt",
    note: "x".repeat(5000),
  });
  await recorder.flush();
  const list = await client.list<StoredEvent>(EventType, {
    namespace: "default",
    fieldSelector: `regarding.name=${ns}`,
  });
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0]?.note?.length, 1024);
  if (list.items[0]?.metadata.name) {
    await client
      .delete(EventType, { namespace: "default", name: list.items[0].metadata.name })
      .catch(ignoreNotFound);
  }
});
