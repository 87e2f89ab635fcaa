import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sampleMetric } from "@ballast/runtime/testing";
import { Registry } from "prom-client";
import type { ClusterNodeView } from "../admin/cluster-port.ts";
import type { RedisCluster, RedisClusterStatus } from "./api.ts";
import { type ClusterSeen, RedisClusterMetrics, slotsCovered } from "./metrics.ts";
import { buildView, type ClusterMember, type ClusterObservation } from "./plan/view.ts";

const where = { namespace: "data", cluster: "shards" };

function cluster(status: RedisClusterStatus = {}, replicasPerShard = 1): RedisCluster {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisCluster",
    metadata: { name: "shards", namespace: "data" },
    spec: { version: "7.0.15", shards: 3, replicasPerShard },
    status,
  } as unknown as RedisCluster;
}

const sample = (registry: Registry, name: string, labels: Record<string, string> = where) =>
  sampleMetric(registry, name, labels);

const hex = (n: number) => n.toString(16).padStart(40, "0");

/**
 * Three shards of two (ids 2s, 2s+1); `masters[s]` owns the shard's
 * slots. `notOk` answer with cluster_state:fail; `down` do not answer.
 * `migrating`: slot 100 marked on its owner.
 */
function seen(
  masters: readonly number[],
  { notOk = [] as number[], down = [] as number[], migrating = false } = {},
): ClusterSeen {
  const members: ClusterMember[] = [0, 1, 2, 3, 4, 5].map((id) => ({
    id,
    shard: Math.floor(id / 2),
    nodeId: hex(id),
  }));
  const ranges: [number, number][] = [
    [0, 5461],
    [5462, 10922],
    [10923, 16383],
  ];
  const table = (self: number): ClusterNodeView[] =>
    members.map((m) => {
      const master = masters[m.shard] === m.id;
      return {
        nodeId: hex(m.id),
        ip: `10.0.0.${m.id}`,
        port: 6379,
        flags: master ? ["master"] : ["slave"],
        myself: m.id === self,
        master,
        ...(master ? {} : { replicaOf: hex(masters[m.shard] ?? 0) }),
        failing: false,
        unusable: false,
        configEpoch: 1,
        connected: true,
        slots: master ? [ranges[m.shard] as [number, number]] : [],
        migrating:
          migrating && m.id === self && master && m.shard === 0
            ? [{ slot: 100, peer: hex(2) }]
            : [],
        importing: [],
      };
    });
  const observation: ClusterObservation = {
    nodes: members.map((m) => ({
      member: m,
      answer: down.includes(m.id)
        ? { id: m.id, reachable: false, error: { reason: "timeout", message: "t/o" } }
        : {
            id: m.id,
            reachable: true,
            nodeId: hex(m.id),
            stateOk: !notOk.includes(m.id),
            knownNodes: 6,
            slotsAssigned: 16384,
            currentEpoch: 1,
            nodes: table(m.id),
            role: masters[m.shard] === m.id ? "master" : "replica",
            offset: 0,
            masterLinkUp: true,
            loading: false,
            keys: 0,
            usedMemory: 0,
          },
      podIP: `10.0.0.${m.id}`,
    })),
  };
  return { observation, view: buildView(observation) };
}

const healthy: RedisClusterStatus = {
  readyNodes: 6,
  slotsAssigned: 16384,
  shards: [0, 1, 2].map((shard) => ({
    shard,
    master: shard * 2,
    members: [shard * 2, shard * 2 + 1],
    slots: "",
    slotCount: 5461,
  })),
  nodes: [0, 1, 2, 3, 4, 5].map((id) => ({
    id,
    shard: Math.floor(id / 2),
    pod: `shards-${id}`,
    ready: true,
  })),
  conditions: [
    {
      type: "Degraded",
      status: "False",
      reason: "AsExpected",
      message: "",
      lastTransitionTime: "2026-12-01T10:00:00Z",
    },
  ],
};

test("RedisClusterMetrics.record() exposes nodes, shards, masters and replicas serving and every slot covered of a healthy cluster", async () => {
  const registry = new Registry();
  const metrics = new RedisClusterMetrics(registry);
  metrics.record(cluster(healthy), seen([0, 2, 4]));
  assert.equal(await sample(registry, "ballast_redis_cluster_nodes_serving"), 6);
  assert.equal(await sample(registry, "ballast_redis_cluster_nodes_desired"), 6);
  assert.equal(await sample(registry, "ballast_redis_cluster_shards_desired"), 3);
  assert.equal(await sample(registry, "ballast_redis_cluster_masters_serving"), 3);
  assert.equal(await sample(registry, "ballast_redis_cluster_replicas_desired"), 1);
  for (const shard of ["0", "1", "2"])
    assert.equal(
      await sample(registry, "ballast_redis_cluster_replicas_serving", { ...where, shard }),
      1,
    );
  assert.equal(await sample(registry, "ballast_redis_cluster_slots_assigned"), 16384);
  assert.equal(await sample(registry, "ballast_redis_cluster_slots_covered"), 16384);
  assert.equal(await sample(registry, "ballast_redis_cluster_slots_migrating"), 0);
  assert.equal(await sample(registry, "ballast_redis_cluster_nodes_state_ok"), 6);
  assert.equal(await sample(registry, "ballast_redis_cluster_reshard_moves_remaining"), 0);
  assert.equal(await sample(registry, "ballast_redis_cluster_failover_in_progress"), 0);
  assert.equal(await sample(registry, "ballast_redis_cluster_failovers_observed_total"), 0);
  assert.equal(
    await sample(registry, "ballast_redis_cluster_degraded", { ...where, reason: "AsExpected" }),
    0,
  );
  assert.equal(
    await sample(registry, "ballast_redis_cluster_operation_in_progress", {
      ...where,
      type: "Roll",
    }),
    0,
  );
});

test("slotsCovered() counts a slot only for a master that answers, sees the cluster ok and claims it itself", () => {
  assert.equal(slotsCovered(seen([0, 2, 4])), 16384);
  // Shard 1's master sees the cluster failing: its 5461 slots are not served.
  assert.equal(slotsCovered(seen([0, 2, 4], { notOk: [2] })), 16384 - 5461);
  // Shard 2's master does not answer: the others' tables still say it owns them (assigned), not covered.
  const gone = seen([0, 2, 4], { down: [4] });
  assert.equal(gone.view.owners.size, 16384);
  assert.equal(slotsCovered(gone), 16384 - 5461);
});

test("RedisClusterMetrics.record() counts each shard's master moving once, keeps the nodes' series when they were not asked", async () => {
  const registry = new Registry();
  const metrics = new RedisClusterMetrics(registry);
  metrics.record(cluster(healthy), seen([0, 2, 4]));
  metrics.record(cluster(healthy), seen([0, 2, 4]));
  metrics.record(cluster(healthy), seen([1, 2, 4], { notOk: [3], migrating: false }));
  metrics.record(cluster(healthy), undefined);
  assert.equal(await sample(registry, "ballast_redis_cluster_nodes_state_ok"), 5);
  metrics.record(cluster(healthy), seen([1, 3, 5], { migrating: false }));
  assert.equal(await sample(registry, "ballast_redis_cluster_failovers_observed_total"), 3);
  metrics.record(cluster(healthy), seen([0, 3, 5], { migrating: true }));
  assert.equal(await sample(registry, "ballast_redis_cluster_failovers_observed_total"), 4);
  assert.equal(await sample(registry, "ballast_redis_cluster_slots_migrating"), 1);
});

test("RedisClusterMetrics.record() shows a reshard's moves and progress, the degraded reason and a failover; forget() drops every series", async () => {
  const registry = new Registry();
  const metrics = new RedisClusterMetrics(registry);
  const status: RedisClusterStatus = {
    ...healthy,
    readyNodes: 5,
    nodes: (healthy.nodes ?? []).map((n) => (n.id === 3 ? { ...n, ready: false } : n)),
    operation: {
      type: "ScaleUp",
      reason: "adding node 6, node 7",
      startedAt: "2026-12-01T10:00:00Z",
      summary: "ScaleUp 1024/4096",
      adding: [6, 7],
      movesTotal: 4096,
      movesRemaining: 3072,
    },
    failover: { shard: 1, from: 2, to: 3, startedAt: "2026-12-01T10:00:01Z" },
    conditions: [
      {
        type: "Degraded",
        status: "True",
        reason: "SlotsUncovered",
        message: "",
        lastTransitionTime: "2026-12-01T10:00:00Z",
      },
    ],
  };
  metrics.record(cluster(healthy), seen([0, 2, 4]));
  metrics.record(cluster(status), seen([0, 2, 4]));
  assert.equal(await sample(registry, "ballast_redis_cluster_reshard_moves_remaining"), 3072);
  assert.equal(await sample(registry, "ballast_redis_cluster_operation_progress_ratio"), 0.25);
  assert.equal(
    await sample(registry, "ballast_redis_cluster_operation_in_progress", {
      ...where,
      type: "ScaleUp",
    }),
    1,
  );
  assert.equal(await sample(registry, "ballast_redis_cluster_failover_in_progress"), 1);
  assert.equal(
    await sample(registry, "ballast_redis_cluster_replicas_serving", { ...where, shard: "1" }),
    0,
  );
  assert.equal(
    await sample(registry, "ballast_redis_cluster_degraded", {
      ...where,
      reason: "SlotsUncovered",
    }),
    1,
  );
  assert.equal(
    await sample(registry, "ballast_redis_cluster_degraded", { ...where, reason: "AsExpected" }),
    undefined,
    "the previous reason's series is dropped",
  );
  // A shard removed: its replicas series goes.
  metrics.record(cluster({ ...healthy, shards: (healthy.shards ?? []).slice(0, 2) }), undefined);
  assert.equal(
    await sample(registry, "ballast_redis_cluster_replicas_serving", { ...where, shard: "2" }),
    undefined,
  );
  metrics.forget("data", "shards");
  for (const m of await registry.getMetricsAsJSON()) assert.deepEqual(m.values, [], m.name);
});

test("the Grafana dashboard's Redis cluster row charts every series RedisClusterMetrics registers", async () => {
  const registry = new Registry();
  new RedisClusterMetrics(registry);
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  const dashboard = JSON.parse(
    readFileSync(
      join(import.meta.dirname, "../../../../../deploy/grafana/ballast-dashboard.json"),
      "utf8",
    ),
  ) as { panels: { type: string; title?: string; targets?: { expr?: string }[] }[] };
  const start = dashboard.panels.findIndex(
    (p) => p.type === "row" && /redis cluster/i.test(p.title ?? ""),
  );
  assert.ok(start >= 0, "a Redis cluster row");
  const end = dashboard.panels.findIndex((p, i) => i > start && p.type === "row");
  const row = dashboard.panels.slice(start + 1, end < 0 ? undefined : end);
  const exprs = row.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ""));
  for (const name of names)
    assert.ok(
      exprs.some((e) => new RegExp(`\\b${name}\\b`).test(e)),
      `${name} is not charted in the Redis cluster row`,
    );
});
