import assert from "node:assert/strict";
import { test } from "node:test";
import { type DemoPod, DemoPodsError, waitForPods, whyNotRunning } from "./demo-pods.ts";

const running = (name: string): DemoPod => ({
  metadata: { name },
  status: {
    phase: "Running",
    podIP: "10.200.1.2",
    conditions: [{ type: "Ready", status: "True" }],
  },
});

const waiting = (name: string, reason: string, message: string): DemoPod => ({
  metadata: { name },
  status: {
    phase: "Pending",
    conditions: [{ type: "PodScheduled", status: "True" }],
    containerStatuses: [{ name: "httpd", state: { waiting: { reason, message } } }],
  },
});

const pullError = waiting(
  "hello-1",
  "ErrImagePull",
  "this image runs on the host's BusyBox, which is not installed: run `apt-get install -y busybox`",
);

/** A fake clock that the wait's sleeps move forward. */
function fakeTime() {
  let now = 0;
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

test("whyNotRunning() gives a pulling failure's reason and message and calls it stuck", () => {
  assert.deepEqual(whyNotRunning(pullError), {
    reason:
      "container httpd ErrImagePull: this image runs on the host's BusyBox, which is not installed: run `apt-get install -y busybox`",
    stuck: true,
  });
});

test("whyNotRunning() reports a crash loop with its restarts, an unscheduled pod and a starting container", () => {
  const crashing: DemoPod = {
    metadata: { name: "c" },
    status: {
      phase: "Running",
      containerStatuses: [
        {
          name: "app",
          restartCount: 3,
          state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s" } },
        },
      ],
    },
  };
  assert.deepEqual(whyNotRunning(crashing), {
    reason: "container app CrashLoopBackOff after 3 restart(s): back-off 40s",
    stuck: true,
  });
  const unscheduled: DemoPod = {
    metadata: { name: "u" },
    status: {
      phase: "Pending",
      conditions: [
        { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes" },
      ],
    },
  };
  assert.deepEqual(whyNotRunning(unscheduled), {
    reason: "not scheduled (Unschedulable): 0/3 nodes",
    stuck: false,
  });
  assert.deepEqual(whyNotRunning(waiting("s", "ContainerCreating", "")), {
    reason: "container httpd ContainerCreating",
    stuck: false,
  });
  assert.equal(whyNotRunning(running("r")), undefined);
});

test("whyNotRunning() does not count a Running pod that is not Ready as running", () => {
  const unready: DemoPod = {
    metadata: { name: "p" },
    status: {
      phase: "Running",
      conditions: [
        { type: "Ready", status: "False", reason: "ContainersNotReady", message: "probe failed" },
      ],
    },
  };
  assert.deepEqual(whyNotRunning(unready), {
    reason: "phase Running, not Ready (ContainersNotReady: probe failed)",
    stuck: false,
  });
});

test("waitForPods() returns the Running and Ready pods once there are enough", async () => {
  const time = fakeTime();
  let polls = 0;
  const pods = await waitForPods(
    () =>
      ++polls < 3
        ? [running("a"), waiting("b", "ContainerCreating", "")]
        : [running("a"), running("b")],
    { what: "hello", count: 2, timeoutMs: 60_000, ...time },
  );
  assert.deepEqual(
    pods.map((p) => p.metadata.name),
    ["a", "b"],
  );
  assert.equal(polls, 3);
});

test("waitForPods() fails within seconds with the pod's reason when a pod cannot pull its image", async () => {
  const time = fakeTime();
  await assert.rejects(
    waitForPods(() => [running("hello-0"), pullError], {
      what: "Deployment ballast-demo/hello",
      count: 2,
      timeoutMs: 60_000,
      ...time,
    }),
    (error: unknown) => {
      assert.ok(error instanceof DemoPodsError);
      assert.equal(
        error.message,
        "Deployment ballast-demo/hello: pod hello-1 does not run: container httpd ErrImagePull: this image runs on the host's BusyBox, which is not installed: run `apt-get install -y busybox`",
      );
      return true;
    },
  );
  assert.equal(time.clock(), 5000, "no waiting past stuckForMs for a pod that waiting cannot fix");
});

test("waitForPods() does not give up on a pod whose stuck status was read before its node retried", async () => {
  const time = fakeTime();
  let polls = 0;
  // The first reads still show the pull error of before the fix; then the node retries.
  const pods = await waitForPods(
    () =>
      ++polls <= 8 ? [running("hello-0"), pullError] : [running("hello-0"), running("hello-1")],
    { what: "hello", count: 2, timeoutMs: 60_000, ...time },
  );
  assert.equal(pods.length, 2);
  assert.equal(time.clock(), 2000);
});

test("waitForPods() does not call a changed Deployment done while its new pod cannot pull its image", async () => {
  const time = fakeTime();
  await assert.rejects(
    waitForPods(() => [running("old-0"), running("old-1"), pullError], {
      what: "hello",
      count: 2,
      timeoutMs: 60_000,
      ...time,
    }),
    {
      name: "DemoPodsError",
      message: /^hello: pod hello-1 does not run: container httpd ErrImagePull/,
    },
  );
});

test("waitForPods() fails at the bound naming what each pod still waits for", async () => {
  const time = fakeTime();
  await assert.rejects(
    waitForPods(() => [running("a"), waiting("b", "ContainerCreating", "building the image")], {
      what: "hello",
      count: 2,
      timeoutMs: 60_000,
      ...time,
    }),
    {
      name: "DemoPodsError",
      message:
        "hello: 1 of 2 pod(s) Running and Ready after 60 s:\n  b: container httpd ContainerCreating: building the image",
    },
  );
  assert.equal(time.clock(), 60_000);
});
