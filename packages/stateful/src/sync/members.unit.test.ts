import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "@ballast/runtime";
import type { Member } from "../members/membership.ts";
import type { Operation } from "../operation/operation.ts";
import { FakeKubernetes } from "../testing/fake-kubernetes.ts";
import { syncMembers } from "./members.ts";

const label = "example.ballast.dev/member";

function world() {
  const k8s = new FakeKubernetes({ ownerKind: "Example", memberLabel: label });
  k8s.put({
    apiVersion: "example.dev/v1",
    kind: "Example",
    metadata: { name: "x", namespace: "ns" },
  });
  return k8s;
}

const claim = (m: Member): KubeObject => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: `data-x-${m.id}`, namespace: "ns" },
});
const pod = (m: Member): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: `x-${m.id}`, namespace: "ns", labels: { [label]: String(m.id) } },
});

test("syncMembers() creates every missing member's claim before its pod, all in one pass", async () => {
  const k8s = world();
  const members: Member[] = [{ id: 0 }, { id: 1 }, { id: 2 }];
  const created = await syncMembers(k8s.controllerContext("x"), {
    shared: [],
    members,
    pods: new Map(),
    operation: undefined,
    claim,
    pod,
  });
  assert.equal(created, true);
  const order = k8s.calls.flatMap((c) =>
    "kind" in c && c.verb === "create" ? [`${c.kind}/${c.name}`] : [],
  );
  assert.deepEqual(order, [
    "PersistentVolumeClaim/data-x-0",
    "Pod/x-0",
    "PersistentVolumeClaim/data-x-1",
    "Pod/x-1",
    "PersistentVolumeClaim/data-x-2",
    "Pod/x-2",
  ]);
});

test("syncMembers() gives no pod to a member drained for removal, and reports nothing created", async () => {
  const k8s = world();
  const drained: Operation = {
    type: "ScaleDown",
    reason: "r",
    startedAt: "t",
    summary: "",
    removing: [1],
    drained: true,
  };
  const created = await syncMembers(k8s.controllerContext("x"), {
    shared: [],
    members: [{ id: 1, removing: true }],
    pods: new Map(),
    operation: drained,
    claim,
    pod,
  });
  assert.equal(created, false);
  assert.deepEqual(k8s.calls, []);
});
