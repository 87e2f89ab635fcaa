/**
 * The Grafana dashboard only charts series the code registers: every metric
 * named in a panel or variable query is one that the runtime's
 * MetricsRegistry (controller, work queue, leader election and process
 * metrics), the Kafka operator's KafkaMetrics, the ZooKeeper operator's
 * ZooKeeperMetrics, the Redis operator's RedisMetrics and
 * RedisClusterMetrics or the PostgreSQL operator's PostgresMetrics puts on
 * /metrics; and every operator metric is charted.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { MetricsRegistry } from "@ballast/runtime";
import { PostgresMetrics } from "../../postgres/src/cluster/metrics.ts";
import { RedisClusterMetrics } from "../../redis/src/cluster/metrics.ts";
import { RedisMetrics } from "../../redis/src/replication/metrics.ts";
import { ZooKeeperMetrics } from "../../zookeeper/src/ensemble/metrics.ts";
import { KafkaMetrics } from "../src/cluster/metrics.ts";

const repoRoot = join(import.meta.dirname, "../../../..");

interface Panel {
  id: number;
  title?: string;
  type: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown; definition?: string }[] };
}

const dashboard = JSON.parse(
  readFileSync(join(repoRoot, "deploy/grafana/ballast-dashboard.json"), "utf8"),
) as Dashboard;

/** The series names a scrape of the operator can return, histogram suffixes included. */
async function registeredSeries(): Promise<Set<string>> {
  const metrics = new MetricsRegistry();
  new KafkaMetrics(metrics.registry);
  new ZooKeeperMetrics(metrics.registry);
  new RedisMetrics(metrics.registry);
  new RedisClusterMetrics(metrics.registry);
  new PostgresMetrics(metrics.registry);
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(m.name + suffix);
    if (String(m.type) === "summary")
      for (const suffix of ["_sum", "_count"]) names.add(m.name + suffix);
  }
  return names;
}

const keywords = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
]);

/**
 * The metric names in a PromQL expression: identifiers that are not
 * functions (followed by `(`), keywords, label names (inside `{}` or after
 * by/without), or durations; and the names a `__name__` matcher lists
 * (`{__name__=~"a|b"}`, as a variable over several operators' series uses).
 */
export function metricNames(expr: string): string[] {
  const names: string[] = [];
  for (const m of expr.matchAll(/__name__\s*=~?\s*"([^"]*)"/g))
    names.push(...(m[1] ?? "").split("|"));
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/\$\w+/g, "");
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = stripped.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest) || keywords.has(m[0])) continue;
    names.push(m[0]);
  }
  return names;
}

function expressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? [])
        if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : (v.query as { query?: string })?.query;
    const inner = /^label_values\((.*),\s*\w+\)$/.exec(q ?? "")?.[1];
    assert.ok(inner, `variable ${v.name}: a label_values() query`);
    out.push({ where: `variable $${v.name}`, expr: inner });
  }
  return out;
}

test("metricNames() finds the metric in PromQL and skips functions, labels and keywords", () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (controller, le) (rate(x_seconds_bucket{controller=~"$c"}[5m])))',
    ),
    ["x_seconds_bucket"],
  );
  assert.deepEqual(metricNames("a_total / on (name) b_total"), ["a_total", "b_total"]);
  assert.deepEqual(metricNames('{__name__=~"a_desired|b_desired"}'), ["a_desired", "b_desired"]);
});

test("every dashboard expression names only metrics the operator registers", async () => {
  const registered = await registeredSeries();
  const unknown: string[] = [];
  const all = expressions();
  assert.ok(all.length >= 20, `${all.length} expressions`);
  for (const { where, expr } of all) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
    for (const name of names) if (!registered.has(name)) unknown.push(`${where}: ${name}`);
  }
  assert.deepEqual(unknown, []);
});

test("the dashboard charts every Kafka metric and the controller-runtime essentials", async () => {
  const used = new Set(expressions().flatMap((e) => metricNames(e.expr)));
  const kafka = [...(await registeredSeries())].filter((n) => n.startsWith("ballast_kafka_"));
  assert.ok(kafka.length >= 7);
  for (const name of [
    ...kafka,
    "controller_runtime_reconcile_total",
    "controller_runtime_reconcile_time_seconds_bucket",
    "workqueue_depth",
    "workqueue_adds_total",
    "workqueue_retries_total",
    "leader_election_master_status",
    "process_resident_memory_bytes",
  ])
    assert.ok(used.has(name), `${name} is charted`);
});

test("the dashboard charts every ZooKeeper metric", async () => {
  const used = new Set(expressions().flatMap((e) => metricNames(e.expr)));
  const zookeeper = [...(await registeredSeries())].filter((n) =>
    n.startsWith("ballast_zookeeper_"),
  );
  assert.ok(zookeeper.length >= 7);
  for (const name of zookeeper) assert.ok(used.has(name), `${name} is charted`);
});

test("the dashboard charts every Redis metric, of both kinds", async () => {
  const used = new Set(expressions().flatMap((e) => metricNames(e.expr)));
  const all = [...(await registeredSeries())];
  const replication = all.filter(
    (n) => n.startsWith("ballast_redis_") && !n.startsWith("ballast_redis_cluster_"),
  );
  const cluster = all.filter((n) => n.startsWith("ballast_redis_cluster_"));
  assert.ok(replication.length >= 7);
  assert.ok(cluster.length >= 14);
  for (const name of [...replication, ...cluster]) assert.ok(used.has(name), `${name} is charted`);
});

/** Seconds since the newest completed base backup (namespace, cluster): the "Last base backup age" panel. */
const lastBackupAge = "ballast_postgres_last_backup_age_seconds";

/** The panels from the row titled `title` to the next row. */
function rowPanels(title: string): Panel[] {
  const start = dashboard.panels.findIndex((p) => p.type === "row" && p.title === title);
  assert.ok(start >= 0, `a ${title} row`);
  const end = dashboard.panels.findIndex((p, i) => i > start && p.type === "row");
  return dashboard.panels.slice(start + 1, end < 0 ? undefined : end);
}

test("the dashboard charts every PostgreSQL metric in its row, and the last base backup's age", async () => {
  const row = rowPanels("PostgreSQL clusters");
  const used = new Set(
    row.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr ?? ""))),
  );
  const postgres = [...(await registeredSeries())].filter((n) => n.startsWith("ballast_postgres_"));
  assert.ok(postgres.length >= 12);
  for (const name of [...postgres, lastBackupAge])
    assert.ok(used.has(name), `${name} is charted in the PostgreSQL row`);
  const backup = row.find((p) => p.title === "Last base backup age");
  assert.deepEqual(
    backup?.targets?.map((t) => t.expr),
    [`${lastBackupAge}{namespace=~"$namespace", cluster=~"$pgcluster"}`],
  );
  assert.equal(
    (backup as { fieldConfig?: { defaults?: { unit?: string } } }).fieldConfig?.defaults?.unit,
    "s",
  );
});

test("panel ids are unique and no two panels overlap", () => {
  const all: Panel[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      all.push(p);
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  const ids = all.map((p) => p.id);
  assert.deepEqual(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
  );
  const overlaps: string[] = [];
  for (const [i, a] of dashboard.panels.entries()) {
    const g = a.gridPos;
    assert.ok(g.x >= 0 && g.x + g.w <= 24, `panel ${a.id} fits the 24 columns`);
    for (const b of dashboard.panels.slice(i + 1)) {
      const h = b.gridPos;
      if (g.x < h.x + h.w && h.x < g.x + g.w && g.y < h.y + h.h && h.y < g.y + g.h)
        overlaps.push(`${a.id} "${a.title}" and ${b.id} "${b.title}"`);
    }
  }
  assert.deepEqual(overlaps, []);
});

test("the namespace variable spans Kafka, ZooKeeper, both Redis kinds and PostgreSQL; cluster, ensemble, replication, rediscluster and pgcluster come from each one's metrics", () => {
  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  const namespace = vars.get("namespace")?.definition ?? "";
  assert.match(namespace, /^label_values\(\{__name__=~"[\w|]+"\}, namespace\)$/);
  const sources = metricNames(namespace);
  assert.ok(
    sources.some((n) => n.startsWith("ballast_kafka_")),
    namespace,
  );
  assert.ok(
    sources.some((n) => n.startsWith("ballast_zookeeper_")),
    namespace,
  );
  assert.ok(
    sources.some((n) => n.startsWith("ballast_redis_") && !n.startsWith("ballast_redis_cluster_")),
    namespace,
  );
  assert.ok(
    sources.some((n) => n.startsWith("ballast_redis_cluster_")),
    namespace,
  );
  assert.ok(
    sources.some((n) => n.startsWith("ballast_postgres_")),
    namespace,
  );
  assert.match(
    vars.get("cluster")?.definition ?? "",
    /^label_values\(ballast_kafka_\w+\{namespace=~"\$namespace"\}, cluster\)$/,
  );
  assert.match(
    vars.get("ensemble")?.definition ?? "",
    /^label_values\(ballast_zookeeper_\w+\{namespace=~"\$namespace"\}, ensemble\)$/,
  );
  assert.match(
    vars.get("replication")?.definition ?? "",
    /^label_values\(ballast_redis_\w+\{namespace=~"\$namespace"\}, replication\)$/,
  );
  assert.match(
    vars.get("rediscluster")?.definition ?? "",
    /^label_values\(ballast_redis_cluster_\w+\{namespace=~"\$namespace"\}, cluster\)$/,
  );
  assert.match(
    vars.get("pgcluster")?.definition ?? "",
    /^label_values\(ballast_postgres_\w+\{namespace=~"\$namespace"\}, cluster\)$/,
  );
});
