import assert from "node:assert/strict";
import { test } from "node:test";
import type { ZooKeeperEnsemble } from "./api.ts";
import { zookeeperStatusView } from "./status-view.ts";

const options = { style: { color: false }, now: new Date("2026-12-01T10:00:30Z") } as const;

test("the ZooKeeper status view shows the leader, each member's role and zxid, and the roll", () => {
  const e = {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "ZooKeeperEnsemble",
    metadata: { name: "zk", namespace: "data" },
    spec: { version: "3.9.5", replicas: 3 },
    status: {
      leader: 3,
      readyMembers: 2,
      members: [
        { id: 1, pod: "zk-1", role: "follower", ready: true, voter: true, zxid: "0x10000002a" },
        { id: 2, pod: "zk-2", role: "", ready: false, voter: true },
        { id: 3, pod: "zk-3", role: "leader", ready: true, voter: true, zxid: "0x10000002a" },
      ],
      operation: {
        type: "Roll",
        reason: "configuration change",
        startedAt: "2026-12-01T10:00:00Z",
        summary: "Roll 1/3",
        pending: [3],
        done: [1],
        current: 2,
        waitingFor: "member 2 is starting",
      },
    },
  } as unknown as ZooKeeperEnsemble;
  const text = zookeeperStatusView(e, options) ?? "";
  assert.match(text, /^ZooKeeperEnsemble data\/zk: no status yet/);
  assert.match(text, /Members serving\s+2\/3/);
  assert.match(text, /Leader\s+member 3/);
  assert.match(text, /3\s+zk-3\s+leader\s+yes\s+yes\s+0x10000002a/);
  assert.match(text, /Restarting\s+member 2/);
  assert.match(text, /Waiting for\s+member 2 is starting/);
  assert.equal(zookeeperStatusView({ ...e, kind: "KafkaCluster" }, options), undefined);
});
