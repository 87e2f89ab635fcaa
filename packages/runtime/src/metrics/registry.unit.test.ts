import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WorkQueue } from "../queue/index.ts";
import { FakeClock } from "../time/fake-clock.ts";
import { MetricsRegistry } from "./index.ts";

/** The value of the sample `series` (name plus labels exactly as rendered), or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe("MetricsRegistry", () => {
  test("render() reports reconcile results under controller-runtime's names", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    const kafka = metrics.controller("kafkacluster");
    kafka.reconciled({ result: "success", seconds: 0.02 });
    kafka.reconciled({ result: "requeue_after", seconds: 0.3 });
    kafka.reconciled({ result: "error", seconds: 1.1 });
    kafka.reconciled({ result: "error", seconds: 0.004, terminal: true });
    const text = await metrics.render();
    const c = 'controller="kafkacluster"';
    assert.equal(sample(text, `controller_runtime_reconcile_total{${c},result="success"}`), 1);
    assert.equal(
      sample(text, `controller_runtime_reconcile_total{${c},result="requeue_after"}`),
      1,
    );
    assert.equal(sample(text, `controller_runtime_reconcile_total{${c},result="requeue"}`), 0);
    assert.equal(sample(text, `controller_runtime_reconcile_total{${c},result="error"}`), 2);
    assert.equal(sample(text, `controller_runtime_reconcile_errors_total{${c}}`), 2);
    assert.equal(sample(text, `controller_runtime_terminal_reconcile_errors_total{${c}}`), 1);
    assert.equal(sample(text, `controller_runtime_reconcile_time_seconds_count{${c}}`), 4);
    assert.equal(
      sample(text, `controller_runtime_reconcile_time_seconds_bucket{le="0.005",${c}}`),
      1,
    );
    assert.equal(sample(text, `controller_runtime_reconcile_time_seconds_bucket{le="60",${c}}`), 4);
    assert.match(text, /# TYPE controller_runtime_reconcile_time_seconds histogram/);
  });

  test("controller() starts every result counter at zero before the first reconcile", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    metrics.controller("redis");
    const text = await metrics.render();
    for (const result of ["success", "error", "requeue", "requeue_after"]) {
      const series = `controller_runtime_reconcile_total{controller="redis",result="${result}"}`;
      assert.equal(sample(text, series), 0, series);
    }
    assert.equal(sample(text, 'controller_runtime_active_workers{controller="redis"}'), 0);
  });

  test("worker gauges track concurrency limits and workers in use", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    const zk = metrics.controller("zookeeper");
    zk.setMaxConcurrentReconciles(4);
    zk.workerStarted();
    zk.workerStarted();
    zk.workerFinished();
    const text = await metrics.render();
    assert.equal(
      sample(text, 'controller_runtime_max_concurrent_reconciles{controller="zookeeper"}'),
      4,
    );
    assert.equal(sample(text, 'controller_runtime_active_workers{controller="zookeeper"}'), 1);
  });

  test("workQueue() hooks feed every workqueue_* series of a real queue", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({ clock, metrics: metrics.workQueue("kafkacluster") });
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    queue.addRateLimited("ns/c");
    clock.advance(2_000);
    await queue.get();
    clock.advance(3_000);
    const text = await metrics.render();
    const q = 'name="kafkacluster",controller="kafkacluster"';
    assert.equal(sample(text, `workqueue_depth{${q}}`), 2, "ns/b and ns/c wait");
    assert.equal(sample(text, `workqueue_adds_total{${q}}`), 3, "ns/a, ns/b and the expired ns/c");
    assert.equal(sample(text, `workqueue_retries_total{${q}}`), 1);
    assert.equal(sample(text, `workqueue_queue_duration_seconds_count{${q}}`), 1);
    assert.equal(sample(text, `workqueue_queue_duration_seconds_sum{${q}}`), 2);
    assert.equal(sample(text, `workqueue_unfinished_work_seconds{${q}}`), 3);
    assert.equal(sample(text, `workqueue_longest_running_processor_seconds{${q}}`), 3);
    queue.done("ns/a");
    const after = await metrics.render();
    assert.equal(sample(after, `workqueue_work_duration_seconds_count{${q}}`), 1);
    assert.equal(sample(after, `workqueue_work_duration_seconds_bucket{le="10",${q}}`), 1);
    assert.equal(sample(after, `workqueue_work_duration_seconds_bucket{le="1",${q}}`), 0);
    assert.equal(sample(after, `workqueue_unfinished_work_seconds{${q}}`), 0);
    queue.shutdown();
  });

  test("workQueue() labels the queue with its controller when they differ", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    metrics.workQueue("pods", "kafkacluster").added();
    const text = await metrics.render();
    assert.equal(sample(text, 'workqueue_adds_total{name="pods",controller="kafkacluster"}'), 1);
  });

  test("leaderElection() reports 0 until elected, then 1, then 0 when the lease is lost", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    const lease = metrics.leaderElection("ballast-operator");
    const series = 'leader_election_master_status{name="ballast-operator"}';
    assert.equal(sample(await metrics.render(), series), 0);
    lease.setLeader(true);
    assert.equal(sample(await metrics.render(), series), 1);
    lease.setLeader(false);
    assert.equal(sample(await metrics.render(), series), 0);
  });

  test("render() includes process and Node.js metrics by default", async () => {
    const metrics = new MetricsRegistry();
    const text = await metrics.render();
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^process_resident_memory_bytes /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
  });

  test("two registries keep separate series", async () => {
    const a = new MetricsRegistry({ defaultMetrics: false });
    const b = new MetricsRegistry({ defaultMetrics: false });
    a.controller("x").reconciled({ result: "success", seconds: 0 });
    const series = 'controller_runtime_reconcile_total{controller="x",result="success"}';
    assert.equal(sample(await a.render(), series), 1);
    assert.equal(sample(await b.render(), series), undefined);
  });

  test("contentType is the Prometheus text format", () => {
    assert.match(
      new MetricsRegistry({ defaultMetrics: false }).contentType,
      /^text\/plain; version=0\.0\.4/,
    );
  });
});
