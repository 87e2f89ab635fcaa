import assert from "node:assert/strict";
import { test } from "node:test";
import type { RedisReplication } from "./api.ts";
import type { RedisCluster } from "./cluster/api.ts";
import { redisStatusView } from "./status-view.ts";

const options = { style: { color: false }, now: new Date("2026-12-01T10:00:30Z") } as const;

test("the Redis status view shows the master, the sentinels agreeing, each member's role and link, and the roll", () => {
  const r = {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisReplication",
    metadata: { name: "cache", namespace: "data" },
    spec: { version: "7.0.15", replicas: 2, sentinels: 3 },
    status: {
      master: 0,
      readyMembers: 2,
      sentinelsAgreeing: 3,
      masterName: "cache",
      masterEndpoint: "cache-master.data.svc:6379",
      sentinelEndpoint: "cache-sentinel.data.svc:26379",
      members: [
        { id: 0, pod: "cache-0", role: "master", ready: true, offset: 4242 },
        { id: 1, pod: "cache-1", role: "replica", ready: true, offset: 4242, masterLink: "up" },
        { id: 2, pod: "cache-2", role: "", ready: false },
      ],
      sentinels: [
        { id: 0, pod: "cache-sentinel-0", ready: true, names: 0 },
        { id: 1, pod: "cache-sentinel-1", ready: false },
      ],
      lastRepair: {
        action: "demote member 2 to follow member 0",
        reason: "member 2 says it is master, but member 0 is",
        at: "2026-12-01T09:59:00Z",
      },
      operation: {
        type: "Roll",
        reason: "configuration change",
        startedAt: "2026-12-01T10:00:00Z",
        summary: "Roll 1/3",
        pending: [0],
        done: [1],
        current: 2,
        waitingFor: "member 2 is starting",
      },
    },
  } as unknown as RedisReplication;
  const text = redisStatusView(r, options) ?? "";
  assert.match(text, /^RedisReplication data\/cache: no status yet/);
  assert.match(text, /Members serving\s+2\/3/);
  assert.match(text, /Master\s+member 0/);
  assert.match(text, /Sentinels agreeing\s+3\/3/);
  assert.match(text, /1\s+cache-1\s+replica\s+yes\s+4242\s+up/);
  assert.match(text, /2\s+cache-2\s+-\s+no\s+-\s+-/);
  assert.match(text, /1\s+cache-sentinel-1\s+no\s+-/);
  assert.match(text, /Last repair\s+demote member 2 to follow member 0/);
  assert.match(text, /Restarting\s+member 2/);
  assert.match(text, /Waiting for\s+member 2 is starting/);
  assert.equal(redisStatusView({ ...r, kind: "ZooKeeperEnsemble" }, options), undefined);
});

test("the Redis status view shows a RedisCluster's shards with master, replicas and slots, each node, and the slot moves remaining", () => {
  const node = (id: number, shard: number, role: string, ready = true, removing = false) => ({
    id,
    shard,
    pod: `shards-${id}`,
    nodeId: `${id}`.repeat(40).slice(0, 40),
    role,
    ready,
    ...(removing ? { removing: true } : {}),
  });
  const r = {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisCluster",
    metadata: { name: "shards", namespace: "data" },
    spec: { version: "7.0.15", shards: 3, replicasPerShard: 1 },
    status: {
      formed: true,
      slotsAssigned: 16384,
      readyNodes: 5,
      endpoint: "shards.data.svc:6379",
      shards: [
        { shard: 0, master: 1, members: [0, 1], slots: "0-4095", slotCount: 4096 },
        { shard: 1, master: 2, members: [2, 3], slots: "5462-9557", slotCount: 4096 },
        { shard: 2, master: 4, members: [4, 5], slots: "10923-15018", slotCount: 4096 },
        {
          shard: 3,
          master: 6,
          members: [6, 7],
          slots: "4096-5461,9558-10922,15019-16383",
          slotCount: 4096,
          removing: true,
        },
      ],
      nodes: [
        node(0, 0, "replica"),
        node(1, 0, "master"),
        node(2, 1, "master"),
        node(3, 1, "", false),
        node(4, 2, "master"),
        node(5, 2, "replica"),
        node(6, 3, "master", true, true),
        node(7, 3, "replica", true, true),
      ],
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "NodesNotServing",
          message: "node 3 has no running pod",
          lastTransitionTime: "2026-12-01T10:00:00Z",
        },
      ],
      operation: {
        type: "ScaleDown",
        reason: "removing node 6, node 7",
        startedAt: "2026-12-01T10:00:00Z",
        summary: "ScaleDown 2048/4096",
        removing: [6, 7],
        movesTotal: 4096,
        movesRemaining: 2048,
        waitingFor: "2048 slots to move (120 moved in this pass)",
      },
    },
  } as unknown as RedisCluster;
  const text = redisStatusView(r, options) ?? "";
  assert.match(text, /^RedisCluster data\/shards: not Ready/);
  assert.match(text, /Nodes serving\s+5\/6/);
  assert.match(text, /Shards\s+3 × \(master \+ 1 replica\)/);
  assert.match(text, /Slots owned\s+16384\/16384/);
  assert.match(text, /Slot moves\s+2048 remaining of 4096/);
  assert.match(text, /SHARD\s+MASTER\s+REPLICAS\s+SLOTS\s+COUNT\s+STATE/);
  assert.match(text, /0\s+node 1\s+0\s+0-4095\s+4096\s+ok/);
  assert.match(text, /1\s+node 2\s+3 \(not serving\)\s+5462-9557\s+4096\s+0\/1 replicas serving/);
  assert.match(
    text,
    /3\s+node 6\s+7 \(removing\)\s+4096-5461,9558-10922,15019-16383\s+4096\s+removing/,
  );
  assert.match(text, /3\s+1\s+shards-3\s+-\s+no\s+33333333\s+-/);
  assert.match(text, /7\s+3\s+shards-7\s+replica\s+yes\s+77777777\s+yes/);
  assert.match(text, /Operation: ScaleDown/);
  assert.match(text, /Progress\s+\[#####-----\] 2048\/4096 slot moves done/);
  assert.match(text, /Removing\s+node 6, node 7/);
  assert.match(text, /NodesNotServing/);
});

test("the Redis status view of a RedisCluster with no status yet says so; a shard without a master shows none", () => {
  const r = {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisCluster",
    metadata: { name: "shards", namespace: "data" },
    spec: { version: "7.0.15", shards: 3 },
  } as unknown as RedisCluster;
  const text = redisStatusView(r, options) ?? "";
  assert.match(text, /^RedisCluster data\/shards: no status yet/);
  assert.match(text, /Shards: none yet/);
  assert.match(text, /Operation: none/);
  const masterless = {
    ...r,
    status: {
      shards: [{ shard: 0, members: [0, 1], slots: "0-5461", slotCount: 5462 }],
      nodes: [
        { id: 0, shard: 0, pod: "shards-0", role: "", ready: false },
        { id: 1, shard: 0, pod: "shards-1", role: "", ready: false },
      ],
    },
  } as unknown as RedisCluster;
  assert.match(
    redisStatusView(masterless, options) ?? "",
    /0\s+none\s+0 \(not serving\), 1 \(not serving\)\s+0-5461\s+5462\s+no master/,
  );
});
