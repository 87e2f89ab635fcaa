import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleMetric } from "@ballast/runtime/testing";
import { Registry } from "prom-client";
import type { MemberReport } from "../admin/port.ts";
import type { ZooKeeperEnsemble, ZooKeeperEnsembleStatus } from "../api.ts";
import { observe } from "../plan/state.ts";
import { ZooKeeperMetrics } from "./metrics.ts";

const where = { namespace: "data", ensemble: "zk" };

function ensemble(status: ZooKeeperEnsembleStatus = {}): ZooKeeperEnsemble {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "ZooKeeperEnsemble",
    metadata: { name: "zk", namespace: "data" },
    spec: { version: "3.9.5", replicas: 3 },
    status,
  } as unknown as ZooKeeperEnsemble;
}

/** Members 1–3 as voters, `leader` in broadcast leading them, every other one following it. */
function led(leader: number): MemberReport[] {
  const config = new Map([1, 2, 3].map((id) => [id, "participant" as const]));
  return [1, 2, 3].map((id) => ({
    id,
    reachable: true,
    state: id === leader ? "leader" : "follower",
    broadcast: true,
    config,
    ...(id === leader ? { syncedVotingFollowers: 2 } : {}),
  }));
}

/** Members 1–3 up but electing: nobody in broadcast, so nobody says what the configuration is. */
function electing(): MemberReport[] {
  return [1, 2, 3].map((id) => ({ id, reachable: true, state: "looking", broadcast: false }));
}

const sample = (registry: Registry, name: string, labels: Record<string, string> = where) =>
  sampleMetric(registry, name, labels);

test("ZooKeeperMetrics.record() exposes members, voters, the quorum and the leader of a healthy ensemble", async () => {
  const registry = new Registry();
  const metrics = new ZooKeeperMetrics(registry);
  metrics.record(ensemble({ readyMembers: 3 }), observe(led(2)));
  assert.equal(await sample(registry, "ballast_zookeeper_members_serving"), 3);
  assert.equal(await sample(registry, "ballast_zookeeper_members_desired"), 3);
  assert.equal(await sample(registry, "ballast_zookeeper_voters"), 3);
  assert.equal(await sample(registry, "ballast_zookeeper_quorum"), 1);
  assert.equal(await sample(registry, "ballast_zookeeper_leader_id"), 2);
  for (const type of ["Roll", "ScaleUp", "ScaleDown"])
    assert.equal(
      await sample(registry, "ballast_zookeeper_operation_in_progress", { ...where, type }),
      0,
    );
  assert.equal(await sample(registry, "ballast_zookeeper_operation_progress_ratio"), 0);
});

test("ZooKeeperMetrics.record() reports a lost quorum as 0 and no leader as -1, keeping the voters last seen", async () => {
  const registry = new Registry();
  const metrics = new ZooKeeperMetrics(registry);
  metrics.record(ensemble({ readyMembers: 3 }), observe(led(1)));
  metrics.record(ensemble({ readyMembers: 0 }), observe(electing()));
  assert.equal(await sample(registry, "ballast_zookeeper_quorum"), 0);
  assert.equal(await sample(registry, "ballast_zookeeper_leader_id"), -1);
  assert.equal(await sample(registry, "ballast_zookeeper_members_serving"), 0);
  assert.equal(await sample(registry, "ballast_zookeeper_voters"), 3);
});

test("ZooKeeperMetrics.record() without an observation leaves what ZooKeeper last said", async () => {
  const registry = new Registry();
  const metrics = new ZooKeeperMetrics(registry);
  metrics.record(ensemble({ readyMembers: 3 }), observe(led(3)));
  metrics.record(ensemble({ readyMembers: 3 }), undefined);
  assert.equal(await sample(registry, "ballast_zookeeper_quorum"), 1);
  assert.equal(await sample(registry, "ballast_zookeeper_leader_id"), 3);
});

test("ZooKeeperMetrics.record() shows a roll in progress and how far along it is", async () => {
  const registry = new Registry();
  const metrics = new ZooKeeperMetrics(registry);
  const rolling = ensemble({
    readyMembers: 2,
    operation: {
      type: "Roll",
      reason: "configuration change",
      startedAt: "2026-12-01T10:00:00Z",
      summary: "Roll 1/3",
      pending: [3],
      done: [1],
      current: 2,
    },
  } as ZooKeeperEnsembleStatus);
  metrics.record(rolling, observe(led(3)));
  const inProgress = (type: string) =>
    sample(registry, "ballast_zookeeper_operation_in_progress", { ...where, type });
  assert.equal(await inProgress("Roll"), 1);
  assert.equal(await inProgress("ScaleUp"), 0);
  assert.equal(await inProgress("ScaleDown"), 0);
  assert.equal(await sample(registry, "ballast_zookeeper_operation_progress_ratio"), 1 / 3);

  metrics.record(ensemble({ readyMembers: 3 }), observe(led(1)));
  assert.equal(await inProgress("Roll"), 0);
  assert.equal(await sample(registry, "ballast_zookeeper_operation_progress_ratio"), 0);
});

test("ZooKeeperMetrics.forget() removes every series of a deleted ensemble and no other", async () => {
  const registry = new Registry();
  const metrics = new ZooKeeperMetrics(registry);
  const other = ensemble({ readyMembers: 3 });
  other.metadata.name = "other";
  metrics.record(ensemble({ readyMembers: 3 }), observe(led(1)));
  metrics.record(other, observe(led(1)));
  metrics.forget("data", "zk");
  for (const m of await registry.getMetricsAsJSON()) {
    assert.ok(
      m.values.every((v) => v.labels.ensemble === "other"),
      `${m.name} still has a series of data/zk`,
    );
    assert.ok(m.values.length > 0, `${m.name} kept the other ensemble's series`);
  }
});
