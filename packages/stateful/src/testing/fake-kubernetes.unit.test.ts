import assert from "node:assert/strict";
import { test } from "node:test";
import { isAlreadyExists, isConflict, isNotFound, KubeApiError } from "@ballast/runtime";
import type { PodLike } from "../pods/pods.ts";
import { FakeKubernetes, OperatorKilled, type Stored } from "./fake-kubernetes.ts";

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

function world() {
  return new FakeKubernetes<{ verb: "reconfig"; id: number }>({
    ownerKind: "Set",
    memberLabel: "example.dev/member",
  });
}

function pod(id: number): Stored {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `s-${id}`, namespace: "ns", labels: { "example.dev/member": String(id) } },
  };
}

test("FakeKubernetes.killBefore kills the operator before the first matching write only, which is not recorded", async () => {
  const api = world();
  const client = api.client();
  await client.create(pod(1));
  api.killBefore = (c) => c.verb === "delete" || c.verb === "reconfig";
  await assert.rejects(client.delete(Pod, { name: "s-1", namespace: "ns" }), OperatorKilled);
  assert.ok(api.get("Pod", "s-1"), "the pod is still there");
  assert.equal(api.killBefore, undefined, "cleared once it fired");
  api.record({ verb: "reconfig", id: 1 });
  await client.delete(Pod, { name: "s-1", namespace: "ns" });
  assert.deepEqual(api.calls, [
    { verb: "create", kind: "Pod", name: "s-1" },
    { verb: "reconfig", id: 1 },
    { verb: "delete", kind: "Pod", name: "s-1" },
  ]);
  assert.deepEqual(api.deleted("Pod"), ["Pod/s-1"]);
});

test("FakeKubernetes delete refuses a stale uid precondition with a Conflict and keeps the object", async () => {
  const api = world();
  const client = api.client();
  const created = await client.create(pod(1));
  const stale = client.delete(
    Pod,
    { name: "s-1", namespace: "ns" },
    { preconditions: { uid: "not-its-uid" } },
  );
  await assert.rejects(stale, (err) => err instanceof KubeApiError && isConflict(err));
  assert.ok(api.get("Pod", "s-1"));
  await client.delete(
    Pod,
    { name: "s-1", namespace: "ns" },
    { preconditions: { uid: created.metadata.uid ?? "" } },
  );
  assert.equal(api.get("Pod", "s-1"), undefined);
  await assert.rejects(client.delete(Pod, { name: "s-1", namespace: "ns" }), isNotFound);
});

test("FakeKubernetes create answers AlreadyExists for an object it holds, records nothing, and keeps the first", async () => {
  const api = world();
  const client = api.client();
  const first = await client.create(pod(1));
  await assert.rejects(
    client.create(pod(1)),
    (err) => err instanceof KubeApiError && isAlreadyExists(err) && err.code === 409,
  );
  assert.equal(api.calls.length, 1);
  assert.equal(api.get("Pod", "s-1")?.metadata.uid, first.metadata.uid);
});

test("FakeKubernetes.startPods starts every pod but those excepted, and controllerContext().owned reads copies of the store", async () => {
  const api = world();
  api.put({ apiVersion: "example.dev/v1", kind: "Set", metadata: { name: "s", namespace: "ns" } });
  for (const id of [1, 2]) api.put(pod(id));
  api.startPods([2]);
  const ctx = api.controllerContext("s");
  assert.equal(ctx.object?.metadata.name, "s");
  const pods = ctx.owned<PodLike>(Pod);
  assert.deepEqual(
    pods.map((p) => [p.metadata.name, p.status?.podIP]),
    [
      ["s-1", "10.0.0.1"],
      ["s-2", undefined],
    ],
  );
  (pods[0] as PodLike).status = {};
  assert.equal((api.get("Pod", "s-1") as PodLike).status?.podIP, "10.0.0.1");
  assert.throws(() => api.controllerContext("missing"), /no Set missing/);
});
