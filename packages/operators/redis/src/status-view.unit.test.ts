import assert from "node:assert/strict";
import { test } from "node:test";
import type { RedisReplication } from "./api.ts";
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
