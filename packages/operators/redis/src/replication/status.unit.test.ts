import assert from "node:assert/strict";
import { test } from "node:test";
import type { MemberReport, SentinelReport } from "../admin/port.ts";
import type { RedisReplication } from "../api.ts";
import { chooseMaster } from "../plan/master.ts";
import type { ReplicationObservation } from "../plan/state.ts";
import { memberAddress, sentinelAddress } from "../resources.ts";
import { buildStatus } from "./status.ts";

const now = new Date("2026-12-01T10:00:00Z");
const r = {
  apiVersion: "ballast.dev/v1alpha1",
  kind: "RedisReplication",
  metadata: { name: "rr", namespace: "ns", generation: 2 },
  spec: { version: "7.0.15", replicas: 1, sentinels: 1, persistence: { mode: "none" } },
  status: {
    members: [
      { id: 0, pod: "rr-0", ready: false },
      { id: 1, pod: "rr-1", ready: false },
    ],
  },
} as unknown as RedisReplication;

function observation(masterUp: boolean): ReplicationObservation {
  const master: MemberReport = masterUp
    ? {
        id: 0,
        reachable: true,
        role: "master",
        offset: 100,
        replicationId: "a",
        loading: false,
        replicas: [{ address: memberAddress(r, 1), state: "online", offset: 100, lagSeconds: 0 }],
      }
    : {
        id: 0,
        reachable: false,
        role: "unknown",
        error: { reason: "unreachable", message: "refused" },
      };
  const replica: MemberReport = {
    id: 1,
    reachable: true,
    role: "replica",
    offset: 100,
    replicationId: "a",
    loading: false,
    following: memberAddress(r, 0),
    masterLinkStatus: masterUp ? "up" : "down",
    syncInProgress: false,
    priority: 100,
  };
  const sentinel: SentinelReport = {
    id: 0,
    reachable: true,
    monitoring: true,
    master: memberAddress(r, 0),
    flags: ["master"],
    subjectivelyDown: !masterUp,
    objectivelyDown: !masterUp,
    failoverInProgress: false,
    configEpoch: 0,
    quorum: 1,
    replicas: [
      {
        address: memberAddress(r, 1),
        flags: ["slave"],
        down: false,
        masterLinkOk: masterUp,
        offset: 100,
        priority: 100,
      },
    ],
    sentinels: [],
  };
  return {
    members: [
      { id: 0, address: memberAddress(r, 0), report: master },
      { id: 1, address: memberAddress(r, 1), report: replica },
    ],
    sentinels: [{ id: 0, address: sentinelAddress(r, 0), report: sentinel }],
    expectedSentinels: 1,
  };
}

test("buildStatus() says Ready with the master, roles, offsets and links, and nothing when unchanged", () => {
  const obs = observation(true);
  const status = buildStatus(r, {
    pods: new Map(),
    observation: obs,
    decision: chooseMaster(obs),
    update: {},
    now,
  });
  assert.equal(status?.master, 0);
  assert.equal(status?.ready, "2/2");
  assert.equal(status?.sentinelsAgreeing, 1);
  assert.deepEqual(status?.members?.[1], {
    id: 1,
    pod: "rr-1",
    role: "replica",
    ready: true,
    offset: 100,
    masterLink: "up",
  });
  assert.equal(status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
  const again = buildStatus(
    { ...r, status: status ?? {} },
    { pods: new Map(), observation: obs, decision: chooseMaster(obs), update: {}, now },
  );
  assert.equal(again, undefined, "no write when nothing changed");
});

test("buildStatus() says Degraded NoMaster with what the plan waits for, keeps the last master, and records since when a member is silent", () => {
  const obs = observation(false);
  const status = buildStatus(
    { ...r, status: { ...r.status, master: 0 } },
    { pods: new Map(), observation: obs, decision: chooseMaster(obs), update: {}, now },
  );
  const degraded = status?.conditions?.find((c) => c.type === "Degraded");
  assert.equal(degraded?.status, "True");
  assert.equal(degraded?.reason, "NoMaster");
  assert.match(degraded?.message ?? "", /member 0/);
  assert.equal(status?.master, 0, "the last master is kept: chooseMaster reads it");
  assert.equal(status?.members?.[0]?.unreachableSince, now.toISOString());
  assert.equal(status?.conditions?.find((c) => c.type === "Ready")?.status, "False");
});
