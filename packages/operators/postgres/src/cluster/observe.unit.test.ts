/** isFenced: when a recorded fence is in effect (observe.ts, step 3); serving: what Ready and the roll wait for. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PodLike } from "@ballast/stateful";
import type { Election, InstanceObservation, PostgresStatus } from "../plan/types.ts";
import { annotations } from "../resources.ts";
import { isFenced, serving } from "./observe.ts";

const SYSID = "7000000000000000000";
const electionFrom0: PostgresStatus = {
  systemIdentifier: SYSID,
  primary: { id: 0, timeline: 1 },
  election: { phase: "fencing", from: 0, timeline: 1, startedAt: "2026-01-01T00:00:00Z" },
};
const silent: InstanceObservation = {
  id: 0,
  reachable: false,
  unreachableForMs: 60_000,
  kubeletReportsUp: false,
  fenced: false,
};
const writing: InstanceObservation = {
  id: 0,
  reachable: true,
  kubeletReportsUp: false,
  fenced: false,
  inRecovery: false,
  timeline: 1,
  systemIdentifier: SYSID,
  currentLsn: 100n,
};

function pod(o: { marker?: boolean; deleting?: boolean } = {}): PodLike {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "db-0",
      ...(o.marker ? { annotations: { [annotations.primary]: "db-0" } } : {}),
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:05Z" } : {}),
    },
  };
}

test("no fence recorded for the instance: never fenced", () => {
  const none: PostgresStatus = { systemIdentifier: SYSID, primary: { id: 0, timeline: 1 } };
  assert.equal(isFenced(none, silent, undefined, "db-0", true), false);
});

test("its pod gone, or made without the marker: fenced", () => {
  assert.equal(isFenced(electionFrom0, silent, undefined, "db-0"), true);
  assert.equal(isFenced(electionFrom0, silent, pod(), "db-0"), true);
  assert.equal(isFenced(electionFrom0, silent, pod({ marker: true }), "db-0"), false);
});

test("a pod being deleted: fenced only once its node is lost and its server silent", () => {
  const deleting = pod({ marker: true, deleting: true });
  assert.equal(isFenced(electionFrom0, silent, deleting, "db-0", false), false);
  assert.equal(isFenced(electionFrom0, silent, deleting, "db-0", true), true);
  // Its server answers as a writer: whatever the node says, not fenced.
  assert.equal(isFenced(electionFrom0, writing, deleting, "db-0", true), false);
});

test("it answers in recovery: fenced, marker or not", () => {
  const inRecovery: InstanceObservation = { ...writing, inRecovery: true };
  assert.equal(
    isFenced(electionFrom0, inRecovery, pod({ marker: true, deleting: true }), "db-0"),
    true,
  );
});

test("serving: the primary serves once the kubelet's probe passes too, and keeps its role before", () => {
  const recorded: PostgresStatus = { systemIdentifier: SYSID, primary: { id: 0, timeline: 1 } };
  const obs = (up: boolean) => ({
    instances: [{ ...writing, kubeletReportsUp: up }],
    synchronous: "off" as const,
    failoverDelayMs: 5000,
    status: recorded,
  });
  const early = serving(obs(false), 0);
  assert.equal(early.serving, false);
  assert.equal(early.role, "primary");
  assert.match(early.why, /probe has not passed/);
  assert.deepEqual(serving(obs(true), 0), { serving: true, role: "primary", why: "the primary" });
});

test("serving: an elected primary serves while the others are repointed, not before", () => {
  const election = (phase: "fencing" | "promoting" | "repointing"): Election =>
    phase === "fencing"
      ? { phase, from: 1, timeline: 1, startedAt: "t" }
      : { phase, from: 1, to: 0, timeline: 1, startedAt: "t" };
  const obs = (phase: "fencing" | "promoting" | "repointing", primary: number) => ({
    instances: [{ ...writing, kubeletReportsUp: true }],
    synchronous: "off" as const,
    failoverDelayMs: 5000,
    status: {
      systemIdentifier: SYSID,
      primary: { id: primary, timeline: 2 },
      election: election(phase),
    } satisfies PostgresStatus,
  });
  assert.equal(serving(obs("repointing", 0), 0).serving, true);
  // Before repointing status still names the lost primary: instance 0 writes, but is not it.
  assert.equal(serving(obs("promoting", 1), 0).serving, false);
  assert.equal(serving(obs("fencing", 1), 0).serving, false);
});
