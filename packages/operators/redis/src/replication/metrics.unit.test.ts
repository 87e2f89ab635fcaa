import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sampleMetric } from "@ballast/runtime/testing";
import { Registry } from "prom-client";
import type { RedisReplication, RedisReplicationStatus } from "../api.ts";
import type { MasterDecision } from "../plan/master.ts";
import { RedisMetrics } from "./metrics.ts";

const where = { namespace: "data", replication: "cache" };

function set(status: RedisReplicationStatus = {}): RedisReplication {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisReplication",
    metadata: { name: "cache", namespace: "data" },
    spec: { version: "7.0.15", replicas: 2, sentinels: 3 },
    status,
  } as unknown as RedisReplication;
}

const master = (id: number): MasterDecision => ({
  kind: "master",
  id,
  demote: [],
  by: "sentinels",
});
const waiting: MasterDecision = { kind: "wait", blockers: [], demote: [], toward: undefined };

const sample = (registry: Registry, name: string, labels: Record<string, string> = where) =>
  sampleMetric(registry, name, labels);

test("RedisMetrics.record() exposes members, the master and the sentinels agreeing of a healthy set", async () => {
  const registry = new Registry();
  const metrics = new RedisMetrics(registry);
  metrics.record(set({ readyMembers: 3, sentinelsAgreeing: 3 }), master(0));
  assert.equal(await sample(registry, "ballast_redis_members_serving"), 3);
  assert.equal(await sample(registry, "ballast_redis_members_desired"), 3);
  assert.equal(await sample(registry, "ballast_redis_master_id"), 0);
  assert.equal(await sample(registry, "ballast_redis_sentinels_agreeing"), 3);
  assert.equal(await sample(registry, "ballast_redis_sentinels_desired"), 3);
  assert.equal(await sample(registry, "ballast_redis_failovers_observed_total"), 0);
  assert.equal(
    await sample(registry, "ballast_redis_operation_in_progress", { ...where, type: "Roll" }),
    0,
  );
});

test("RedisMetrics.record() counts each move of the master once, shows -1 while there is none, and keeps the last master when Redis was not asked", async () => {
  const registry = new Registry();
  const metrics = new RedisMetrics(registry);
  metrics.record(set(), master(0));
  metrics.record(set(), master(0));
  metrics.record(set(), waiting);
  assert.equal(await sample(registry, "ballast_redis_master_id"), -1);
  metrics.record(set(), master(1));
  metrics.record(set(), undefined);
  assert.equal(await sample(registry, "ballast_redis_master_id"), 1);
  metrics.record(set(), master(1));
  metrics.record(set(), master(2));
  assert.equal(await sample(registry, "ballast_redis_failovers_observed_total"), 2);
});

test("RedisMetrics.record() shows the operation and its progress; forget() drops every series of the set", async () => {
  const registry = new Registry();
  const metrics = new RedisMetrics(registry);
  const operation = {
    type: "Roll" as const,
    reason: "configuration change",
    startedAt: "2026-12-01T10:00:00Z",
    summary: "Roll 1/3",
    pending: [2, 0],
    done: [1],
  };
  metrics.record(set({ operation }), master(0));
  assert.equal(
    await sample(registry, "ballast_redis_operation_in_progress", { ...where, type: "Roll" }),
    1,
  );
  assert.ok(
    Math.abs((await sample(registry, "ballast_redis_operation_progress_ratio")) ?? 0) - 1 / 3 <
      1e-9,
  );
  metrics.forget("data", "cache");
  for (const m of await registry.getMetricsAsJSON()) assert.deepEqual(m.values, [], m.name);
});

test("the Grafana dashboard's Redis row charts every series RedisMetrics registers", async () => {
  const registry = new Registry();
  new RedisMetrics(registry);
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  const dashboard = JSON.parse(
    readFileSync(
      join(import.meta.dirname, "../../../../../deploy/grafana/ballast-dashboard.json"),
      "utf8",
    ),
  ) as { panels: { type: string; title?: string; targets?: { expr?: string }[] }[] };
  const start = dashboard.panels.findIndex((p) => p.type === "row" && /redis/i.test(p.title ?? ""));
  assert.ok(start >= 0, "a Redis row");
  const end = dashboard.panels.findIndex((p, i) => i > start && p.type === "row");
  const row = dashboard.panels.slice(start + 1, end < 0 ? undefined : end);
  const exprs = row.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ""));
  for (const name of names)
    assert.ok(
      exprs.some((e) => new RegExp(`\\b${name}\\b`).test(e)),
      `${name} is not charted in the Redis row`,
    );
});
