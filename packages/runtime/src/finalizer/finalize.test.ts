import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createNamespaces, deleteNamespaces, uniqueName } from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import { isNotFound } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import { Action } from "../reconcile/action.ts";
import { isTerminalError, TerminalError } from "../reconcile/terminal-error.ts";
import { FinalizerError, finalize } from "./finalize.ts";

const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
const ns = uniqueName("finalizer-test");
const ours = "test.ballast.dev/cleanup";
const foreign = "other.example.com/keep";

let client: KubeClient;

before(async () => {
  ({ client } = await createNamespaces([ns], { fieldManager: "finalizer-test" }));
});

after(async () => {
  await deleteNamespaces(client, [ns], { unfinalized: [ConfigMap] });
});

const read = (name: string) => client.get(ConfigMap, { namespace: ns, name });

async function create(name: string, finalizers?: string[]): Promise<KubeObject> {
  return client.create({
    ...ConfigMap,
    metadata: { name, namespace: ns, ...(finalizers ? { finalizers } : {}) },
  });
}

function recording() {
  const calls: string[] = [];
  return {
    calls,
    handlers: {
      apply: async (obj: KubeObject) => {
        calls.push(`apply ${obj.metadata.name}`);
        return Action.requeueAfter(60_000);
      },
      cleanup: async (obj: KubeObject) => {
        calls.push(`cleanup ${obj.metadata.name}`);
        return Action.done();
      },
    },
  };
}

test("finalize() adds the finalizer to a new object without calling apply, then applies", async () => {
  const { calls, handlers } = recording();
  const first = await finalize(client, await create("adds"), ours, handlers);
  assert.deepEqual(first, Action.done());
  assert.deepEqual(calls, []);
  const stored = await read("adds");
  assert.deepEqual(stored.metadata.finalizers, [ours]);

  const second = await finalize(client, stored, ours, handlers);
  assert.deepEqual(second, Action.requeueAfter(60_000));
  assert.deepEqual(calls, ["apply adds"]);
});

test("finalize() appends after a foreign finalizer, keeping it", async () => {
  const { handlers } = recording();
  await finalize(client, await create("appends", [foreign]), ours, handlers);
  assert.deepEqual((await read("appends")).metadata.finalizers, [foreign, ours]);
});

test("finalize() runs cleanup on delete, removes its finalizer, and the object disappears", async () => {
  const { calls, handlers } = recording();
  await finalize(client, await create("cleans"), ours, handlers);
  await client.delete(ConfigMap, { namespace: ns, name: "cleans" });
  const deleting = await read("cleans");
  assert.ok(deleting.metadata.deletionTimestamp, "a finalizer holds the object back");

  assert.deepEqual(await finalize(client, deleting, ours, handlers), Action.done());
  assert.deepEqual(calls, ["cleanup cleans"]);
  await assert.rejects(read("cleans"), isNotFound);
});

test("finalize() never removes another controller's finalizer", async () => {
  const { calls, handlers } = recording();
  await finalize(client, await create("shared", [foreign]), ours, handlers);
  await client.delete(ConfigMap, { namespace: ns, name: "shared" });
  await finalize(client, await read("shared"), ours, handlers);
  assert.deepEqual(calls, ["cleanup shared"]);

  const after = await read("shared");
  assert.ok(after.metadata.deletionTimestamp);
  assert.deepEqual(after.metadata.finalizers, [foreign]);
  // Ours is gone: a later reconcile leaves the object to the other controller.
  assert.deepEqual(await finalize(client, after, ours, handlers), Action.done());
  assert.deepEqual(calls, ["cleanup shared"]);
  assert.deepEqual((await read("shared")).metadata.finalizers, [foreign]);
});

test("finalize() keeps the finalizer when cleanup throws, and reports the step", async () => {
  await finalize(client, await create("fails"), ours, recording().handlers);
  await client.delete(ConfigMap, { namespace: ns, name: "fails" });
  const boom = new TerminalError("bucket s3://x is locked");
  const error = await finalize(client, await read("fails"), ours, {
    apply: async () => Action.done(),
    cleanup: async () => {
      throw boom;
    },
  }).catch((e: unknown) => e);
  assert.ok(error instanceof FinalizerError, String(error));
  assert.equal(error.step, "cleanup");
  assert.equal(error.cause, boom);
  assert.ok(isTerminalError(error), "a TerminalError from cleanup stays terminal");
  assert.deepEqual((await read("fails")).metadata.finalizers, [ours]);
});

test("finalize() keeps the finalizer while cleanup asks to be called again", async () => {
  await finalize(client, await create("waits"), ours, recording().handlers);
  await client.delete(ConfigMap, { namespace: ns, name: "waits" });
  const action = await finalize(client, await read("waits"), ours, {
    apply: async () => Action.done(),
    cleanup: async () => Action.requeueAfter(5_000),
  });
  assert.deepEqual(action, Action.requeueAfter(5_000));
  assert.deepEqual((await read("waits")).metadata.finalizers, [ours]);
});

test("finalize() from a stale read fails instead of clobbering a finalizer added meanwhile", async () => {
  const stale = await create("stale");
  // Another controller adds its finalizer after our read.
  await client.patch(
    ConfigMap,
    { namespace: ns, name: "stale" },
    { metadata: { finalizers: [foreign] } },
  );
  const error = await finalize(client, stale, ours, recording().handlers).catch((e: unknown) => e);
  assert.ok(error instanceof FinalizerError, String(error));
  assert.equal(error.step, "addFinalizer");
  assert.deepEqual((await read("stale")).metadata.finalizers, [foreign]);
});

test("finalize() removal from a stale read fails instead of dropping the finalizer now at our index", async () => {
  const other = "third.example.com/keep";
  await finalize(
    client,
    await create("stale-remove", [foreign, other]),
    ours,
    recording().handlers,
  );
  // Ours sits between two others; remember index 1 as ours.
  await client.patch(
    ConfigMap,
    { namespace: ns, name: "stale-remove" },
    { metadata: { finalizers: [foreign, ours, other] } },
  );
  await client.delete(ConfigMap, { namespace: ns, name: "stale-remove" });
  const stale = await read("stale-remove");
  assert.deepEqual(stale.metadata.finalizers, [foreign, ours, other]);
  // The first controller finishes meanwhile: `other` moves to index 1.
  await client.patch(
    ConfigMap,
    { namespace: ns, name: "stale-remove" },
    [{ op: "remove", path: "/metadata/finalizers/0" }],
    {
      type: "json",
    },
  );
  const { calls, handlers } = recording();
  const error = await finalize(client, stale, ours, handlers).catch((e: unknown) => e);
  assert.ok(error instanceof FinalizerError, String(error));
  assert.equal(error.step, "removeFinalizer");
  assert.deepEqual(calls, ["cleanup stale-remove"]);
  assert.deepEqual((await read("stale-remove")).metadata.finalizers, [ours, other]);

  // From a fresh read it removes ours, and only ours.
  await finalize(client, await read("stale-remove"), ours, handlers);
  assert.deepEqual((await read("stale-remove")).metadata.finalizers, [other]);
});
