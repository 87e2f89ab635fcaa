import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { KubeApiError } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import type { LogFields, Logger } from "../reconcile/reconciler.ts";
import {
  type EventClient,
  EventRecorder,
  EventRecorderConfigError,
  maxNoteBytes,
  microTime,
  truncateBytes,
} from "./recorder.ts";

const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-0", namespace: "shop", uid: "u-1", resourceVersion: "7" },
} satisfies KubeObject;

type Call = { verb: "create" | "patch"; body: unknown; target?: unknown };

function fakeClient(options: { fail?: (call: Call) => Error | undefined } = {}) {
  const calls: Call[] = [];
  const client: EventClient = {
    create: (async (body: KubeObject) => {
      const call: Call = { verb: "create", body: structuredClone(body) };
      calls.push(call);
      const failure = options.fail?.(call);
      if (failure) throw failure;
      return body;
    }) as EventClient["create"],
    patch: (async (_type: unknown, target: unknown, body: unknown) => {
      const call: Call = { verb: "patch", body, target };
      calls.push(call);
      const failure = options.fail?.(call);
      if (failure) throw failure;
      return {} as KubeObject;
    }) as EventClient["patch"],
  };
  return { client, calls };
}

function capturingLog() {
  const lines: { message: string; fields?: LogFields | undefined }[] = [];
  const push = (message: string, fields?: LogFields) => void lines.push({ message, fields });
  const log: Logger = { debug: push, info: push, warn: push, error: push };
  return { log, lines };
}

/** The body of the i-th call, which must exist. */
function bodyOf<T>(calls: Call[], i: number): T {
  const call = calls[i];
  assert.ok(call, `no call #${i} among ${calls.length}`);
  return call.body as T;
}

const options = {
  reportingController: "ballast.dev/test",
  reportingInstance: "test-0",
  flushIntervalMs: 0,
};

test("event() folds 1000 repeats into one create and one series patch per flush", async () => {
  const { client, calls } = fakeClient();
  let now = 1_000_000;
  const recorder = new EventRecorder(client, { ...options, now: () => now });
  const crash = { type: "Warning", reason: "BackOff", action: "Restart", note: "crash" } as const;
  recorder.event(pod, crash);
  await recorder.flush();
  for (let i = 1; i < 1000; i++) {
    now += 10;
    recorder.event(pod, crash);
  }
  await recorder.flush();
  assert.deepEqual(
    calls.map((c) => c.verb),
    ["create", "patch"],
  );
  const create = calls[0]?.body as {
    metadata: { namespace: string };
    series?: unknown;
    regarding: unknown;
  };
  assert.equal(create.metadata.namespace, "shop");
  assert.equal(create.series, undefined);
  assert.deepEqual(create.regarding, {
    apiVersion: "v1",
    kind: "Pod",
    name: "web-0",
    namespace: "shop",
    uid: "u-1",
    resourceVersion: "7",
  });
  assert.deepEqual(calls[1]?.body, { series: { count: 1000, lastObservedTime: microTime(now) } });

  // Nothing new: a flush writes nothing.
  await recorder.flush();
  assert.equal(calls.length, 2);
  recorder.event(pod, { type: "Warning", reason: "BackOff", action: "Restart", note: "crash" });
  await recorder.flush();
  assert.deepEqual(bodyOf<{ series: { count: number } }>(calls, 2).series.count, 1001);
});

test("event() writes repeats made before the create as the new Event's series", async () => {
  const { client, calls } = fakeClient();
  let now = 5_000;
  const recorder = new EventRecorder(client, { ...options, now: () => now });
  for (let i = 0; i < 50; i++) {
    recorder.event(pod, { type: "Normal", reason: "Synced", action: "Sync" });
    now += 1;
  }
  await recorder.flush();
  assert.equal(calls.length, 1);
  assert.deepEqual(bodyOf<{ series: unknown }>(calls, 0).series, {
    count: 50,
    lastObservedTime: microTime(now - 1),
  });
});

test("event() starts a new Event for a repeat after the series window", async () => {
  const { client, calls } = fakeClient();
  let now = 0;
  const recorder = new EventRecorder(client, {
    ...options,
    seriesWindowMs: 60_000,
    now: () => now,
  });
  recorder.event(pod, { type: "Normal", reason: "Scaled", action: "Scale" });
  now = 60_000;
  recorder.event(pod, { type: "Normal", reason: "Scaled", action: "Scale" });
  await recorder.flush();
  assert.deepEqual(
    calls.map((c) => c.verb),
    ["create", "create"],
  );
  const names = calls.map((c) => (c.body as KubeObject).metadata.name);
  assert.notEqual(names[0], names[1]);
});

test("event() keeps different reasons, actions, types and notes apart", async () => {
  const { client, calls } = fakeClient();
  const recorder = new EventRecorder(client, options);
  recorder.event(pod, { type: "Normal", reason: "A", action: "X", note: "n" });
  recorder.event(pod, { type: "Normal", reason: "B", action: "X", note: "n" });
  recorder.event(pod, { type: "Normal", reason: "A", action: "Y", note: "n" });
  recorder.event(pod, { type: "Warning", reason: "A", action: "X", note: "n" });
  recorder.event(pod, { type: "Normal", reason: "A", action: "X", note: "m" });
  recorder.event(
    { ...pod, metadata: { ...pod.metadata, name: "web-1" } },
    { type: "Normal", reason: "A", action: "X", note: "n" },
  );
  await recorder.flush();
  assert.equal(calls.filter((c) => c.verb === "create").length, 6);
});

test("event() never throws and logs when the API server refuses", async () => {
  const refused = new KubeApiError({ reason: "Forbidden", code: 403, message: "no" }, 403, {
    kind: "Event",
  });
  const { client } = fakeClient({ fail: () => refused });
  const { log, lines } = capturingLog();
  const recorder = new EventRecorder(client, { ...options, log });
  assert.doesNotThrow(() => recorder.event(pod, { type: "Warning", reason: "Oops", action: "Do" }));
  assert.doesNotThrow(() =>
    recorder.event(
      { apiVersion: "v1", kind: "Pod", metadata: {} },
      { type: "Normal", reason: "NoName", action: "Do" },
    ),
  );
  await recorder.flush();
  assert.ok(
    lines.some((l) => /create failed/.test(l.message)),
    JSON.stringify(lines),
  );
  assert.ok(
    lines.some((l) => /dropped/.test(l.message) && l.fields?.reason === "NoName"),
    JSON.stringify(lines),
  );
});

test("event() returns before the API server answers", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const created: string[] = [];
  const client: EventClient = {
    create: (async (body: KubeObject) => {
      await gate;
      created.push(body.metadata.name ?? "");
      return body;
    }) as EventClient["create"],
    patch: (async () => ({})) as unknown as EventClient["patch"],
  };
  const recorder = new EventRecorder(client, options);
  recorder.event(pod, { type: "Normal", reason: "Started", action: "Start" });
  assert.deepEqual(created, []);
  release();
  await recorder.flush();
  assert.equal(created.length, 1);
});

test("event() drops new events beyond maxQueuedWrites instead of queueing without bound", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let creates = 0;
  const client: EventClient = {
    create: (async (body: KubeObject) => {
      await gate;
      creates += 1;
      return body;
    }) as EventClient["create"],
    patch: (async () => ({})) as unknown as EventClient["patch"],
  };
  const { log, lines } = capturingLog();
  const recorder = new EventRecorder(client, { ...options, maxQueuedWrites: 5, log });
  for (let i = 0; i < 20; i++)
    recorder.event(pod, { type: "Normal", reason: `R${i}`, action: "A" });
  release();
  await recorder.flush();
  assert.equal(creates, 5);
  assert.ok(lines.some((l) => /too many/.test(l.message)));
});

test("event() truncates the note to 1 KiB of UTF-8", async () => {
  const { client, calls } = fakeClient();
  const recorder = new EventRecorder(client, options);
  recorder.event(pod, { type: "Normal", reason: "Long", action: "A", note: "é".repeat(2000) });
  await recorder.flush();
  const note = bodyOf<{ note: string }>(calls, 0).note;
  assert.equal(Buffer.byteLength(note), maxNoteBytes);
  assert.equal(note, "é".repeat(512));
});

test("truncateBytes() never exceeds the limit nor splits a character", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "grapheme", maxLength: 400 }),
      fc.integer({ min: 0, max: 300 }),
      (text, max) => {
        const cut = truncateBytes(text, max);
        assert.ok(Buffer.byteLength(cut) <= max);
        assert.ok(text.startsWith(cut));
        assert.equal(Buffer.from(cut, "utf8").toString("utf8"), cut);
        if (Buffer.byteLength(text) <= max) assert.equal(cut, text);
      },
    ),
  );
});

test("microTime() writes six fractional digits, as the API server requires", () => {
  assert.equal(microTime(Date.UTC(2026, 10, 23, 13, 5, 7, 42)), "2026-11-23T13:05:07.042000Z");
});

test("EventRecorder rejects a reportingController the API server would refuse, naming it", () => {
  const { client } = fakeClient();
  for (const bad of [
    "",
    "Kafka Operator",
    "a/b/c",
    "x".repeat(64),
    "Ballast.dev/kafka",
    "/kafka",
  ]) {
    assert.throws(
      () => new EventRecorder(client, { ...options, reportingController: bad }),
      (e: unknown) =>
        e instanceof EventRecorderConfigError && e.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
  for (const good of ["kafka-operator", "ballast.dev/kafka-operator", "Kafka_Operator.v2"]) {
    assert.doesNotThrow(
      () => new EventRecorder(client, { ...options, reportingController: good }),
      good,
    );
  }
});

test("event() writes a finished series' last counts, and a new Event when the old one expired", async () => {
  const gone = new KubeApiError({ reason: "NotFound", code: 404, message: "gone" }, 404, {
    kind: "Event",
  });
  let expire = false;
  const { client, calls } = fakeClient({
    fail: (call) => (expire && call.verb === "patch" ? gone : undefined),
  });
  let now = 0;
  const recorder = new EventRecorder(client, {
    ...options,
    seriesWindowMs: 60_000,
    now: () => now,
  });
  const info = { type: "Normal", reason: "Synced", action: "Sync" } as const;
  recorder.event(pod, info);
  await recorder.flush();
  now = 30_000;
  recorder.event(pod, info);
  now = 100_000;
  recorder.event(pod, info); // past the window: the old series gets its count, a new Event starts
  await recorder.flush();
  assert.deepEqual(
    calls.map((c) => c.verb),
    ["create", "patch", "create"],
  );
  assert.deepEqual(bodyOf<{ series: { count: number } }>(calls, 1).series.count, 2);

  expire = true;
  recorder.event(pod, info);
  await recorder.flush();
  assert.deepEqual(
    calls.map((c) => c.verb),
    ["create", "patch", "create", "patch", "create"],
  );
  const names = [0, 2, 4].map((i) => bodyOf<KubeObject>(calls, i).metadata.name);
  assert.equal(new Set(names).size, 3, `distinct names: ${names.join(", ")}`);
  assert.deepEqual(bodyOf<{ series: { count: number } }>(calls, 4).series.count, 2);
});
