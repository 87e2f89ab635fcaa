import assert from "node:assert/strict";
import { test } from "node:test";
import { type PodLike, podStartProblem } from "./pods.ts";

function pod(status?: PodLike["status"]): PodLike {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, ...(status ? { status } : {}) };
}

test("podStartProblem() names an image that cannot be pulled, with the kubelet's message", () => {
  const p = pod({
    containerStatuses: [
      {
        name: "zookeeper",
        state: {
          waiting: { reason: "ErrImagePull", message: "no release 3.9.99 on Maven Central" },
        },
      },
    ],
  });
  assert.equal(
    podStartProblem(p),
    "container zookeeper ErrImagePull: no release 3.9.99 on Maven Central",
  );
});

test("podStartProblem() names a crash loop with its restart count", () => {
  const p = pod({
    containerStatuses: [
      {
        name: "main",
        restartCount: 4,
        state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s" } },
      },
    ],
  });
  assert.equal(
    podStartProblem(p),
    "container main restarted 4 time(s) (CrashLoopBackOff): back-off 40s",
  );
});

test("podStartProblem() names a pod the scheduler cannot place", () => {
  const p = pod({
    conditions: [
      { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes" },
    ],
  });
  assert.equal(podStartProblem(p), "not scheduled (Unschedulable): 0/3 nodes");
});

test("podStartProblem() says nothing of a pod merely on its way", () => {
  for (const reason of ["ContainerCreating", "PodInitializing", undefined]) {
    const p = pod({
      conditions: [{ type: "PodScheduled", status: "True" }],
      containerStatuses: [{ name: "main", state: { waiting: reason ? { reason } : {} } }],
    });
    assert.equal(podStartProblem(p), undefined, String(reason));
  }
  assert.equal(podStartProblem(pod()), undefined);
});
