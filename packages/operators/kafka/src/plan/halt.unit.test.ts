import assert from "node:assert/strict";
import { test } from "node:test";
import type { Operation, PodLike } from "@ballast/stateful";
import { rollHalt, terminationReason } from "./halt.ts";

const now = new Date("2026-01-01T12:00:00Z");
const roll = {
  type: "Roll" as const,
  reason: "configuration change",
  startedAt: "2026-01-01T11:50:00Z",
  summary: "Roll 1/3",
  pending: [2, 0],
  done: [],
  current: 1,
  restartedPod: "old-uid",
} satisfies Operation;

type PodStatus = NonNullable<PodLike["status"]>;

function pod(uid: string, status: PodStatus, created = "2026-01-01T11:59:00Z"): PodLike {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "k-1", uid, creationTimestamp: created },
    status,
  };
}

const log = [
  "[2026-01-01 11:59:30,001] INFO starting (kafka.server.KafkaRaftServer)",
  "[2026-01-01 11:59:31,002] ERROR Exiting Kafka due to fatal exception (kafka.Kafka$)",
  "org.apache.kafka.common.config.ConfigException: Invalid value 0 for configuration socket.request.max.bytes: Value must be at least 1",
  "\tat org.apache.kafka.common.config.ConfigDef$Range.ensureValid(ConfigDef.java:1001)",
  "\tat kafka.Kafka.main(Kafka.scala)",
].join("\n");

const crashLooping: PodStatus = {
  conditions: [{ type: "Ready", status: "False" }],
  containerStatuses: [
    {
      name: "kafka",
      restartCount: 3,
      state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s" } },
      lastState: { terminated: { exitCode: 1, message: log } },
    } as NonNullable<PodStatus["containerStatuses"]>[number],
  ],
};

test("rollHalt() says why the node restarted last cannot start: its crash loop and the exception it exited with", () => {
  const halt = rollHalt(roll, new Map([[1, pod("new-uid", crashLooping)]]), now);
  assert.equal(halt?.node, 1);
  assert.equal(
    halt?.message,
    "node 1 did not come back after its restart: container kafka restarted 3 time(s) (CrashLoopBackOff): back-off 40s; last exit: org.apache.kafka.common.config.ConfigException: Invalid value 0 for configuration socket.request.max.bytes: Value must be at least 1",
  );
});

test("rollHalt() is silent while the node is merely on its way, and once it is Ready", () => {
  const starting = pod("new-uid", { conditions: [{ type: "Ready", status: "False" }] });
  const ready = pod("new-uid", { conditions: [{ type: "Ready", status: "True" }] });
  const deleted = pod("old-uid", crashLooping);
  for (const p of [starting, ready, deleted])
    assert.equal(rollHalt(roll, new Map([[1, p]]), now), undefined);
  assert.equal(rollHalt(roll, new Map(), now), undefined, "no pod yet");
  assert.equal(
    rollHalt({ ...roll, current: 7 }, new Map([[1, pod("x", crashLooping)]]), now),
    undefined,
    "the node restarted last has no pod yet",
  );
});

test("rollHalt() halts a node whose pod is not Ready past the bound, and not before", () => {
  const slow = pod(
    "new-uid",
    { conditions: [{ type: "Ready", status: "False" }] },
    "2026-01-01T11:54:00Z",
  );
  assert.match(
    rollHalt(roll, new Map([[1, slow]]), now)?.message ?? "",
    /node 1 did not come back after its restart: its pod is not Ready 6 minute\(s\) after it was created \(the bound is 5\)/,
  );
  assert.equal(rollHalt(roll, new Map([[1, slow]]), now, 10 * 60_000), undefined);
});

test("terminationReason() picks the exception line of a log tail, else its last line", () => {
  assert.match(
    terminationReason(pod("u", crashLooping)) ?? "",
    /^org\.apache\.kafka\.common\.config\.ConfigException: Invalid value 0/,
  );
  const plain = pod("u", {
    containerStatuses: [
      { name: "kafka", lastState: { terminated: { message: "starting\nout of disk\n" } } } as never,
    ],
  });
  assert.equal(terminationReason(plain), "out of disk");
  assert.equal(terminationReason(pod("u", {})), undefined);
});
