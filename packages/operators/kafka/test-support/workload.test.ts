import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { KafkaAdmin } from "../src/admin/index.ts";
import { type HostKafka, startHostKafka } from "./host-kafka.ts";
import { startWorkload } from "./workload.ts";

let kafka: HostKafka;
let admin: KafkaAdmin;

async function createTopic(
  name: string,
  replicationFactor: number,
  minIsr: number,
  replicas?: number[],
) {
  await admin.createTopic({
    name,
    partitions: replicas ? 1 : 3,
    replicationFactor,
    config: { "min.insync.replicas": String(minIsr) },
  });
  if (replicas) await admin.reassign([{ topic: name, partition: 0, replicas }]);
  await eventually(`topic ${name} led by a broker`, async () => {
    const o = await admin.observe();
    const parts = o.partitions.filter((p) => p.topic === name);
    const ready =
      parts.length > 0 &&
      parts.every((p) => p.leader >= 0 && p.isr.length === replicationFactor) &&
      (!replicas || parts[0]?.replicas.join() === replicas.join());
    return ready && o.reassignments.length === 0 ? true : undefined;
  });
}

describe("startWorkload() against a 3-node KRaft cluster", { timeout: 600_000 }, () => {
  before(async () => {
    kafka = await startHostKafka({ nodes: 3 });
    admin = new KafkaAdmin({ bootstrap: kafka.bootstrap(), timeoutMs: 10_000 });
  });
  after(async () => {
    await admin?.close();
    await kafka?.close();
  });

  test("stop() reports every acknowledged message consumed when nothing happens", async (t) => {
    await createTopic("calm", 3, 2);
    const workload = startWorkload({ bootstrap: () => kafka.bootstrap(), topic: "calm" });
    await workload.waitFor({ acknowledged: 100, consumed: 50 });
    const report = await workload.stop();
    t.diagnostic(JSON.stringify({ ...report, lost: report.lost.length }));
    assert.ok(report.acknowledged >= 100, `acknowledged ${report.acknowledged}`);
    assert.deepEqual(report.lost, []);
    assert.equal(report.failed, 0);
    assert.equal(report.consumed, report.acknowledged);
    assert.equal(report.missedLive, 0);
    assert.deepEqual(report.duplicated, []);
    assert.deepEqual(report.unacknowledgedButPresent, []);
    assert.deepEqual(report.neverWritten, []);
  });

  test("stop() reports no loss when a broker restarts under RF=3, min.insync.replicas=2", async (t) => {
    await createTopic("restart", 3, 2);
    const workload = startWorkload({ bootstrap: () => kafka.bootstrap(), topic: "restart" });
    await workload.waitFor({ acknowledged: 100, consumed: 20 });
    const leader =
      (await admin.observe()).partitions.find((p) => p.topic === "restart")?.leader ?? 0;
    await kafka.stop(leader, { hard: true });
    const beforeRestart = workload.progress().acknowledged;
    await workload.waitFor({ acknowledged: beforeRestart + 100 });
    await kafka.start(leader);
    await eventually("the restarted broker back in every ISR", async () => {
      const o = await admin.observe();
      return o.partitions.filter((p) => p.topic === "restart").every((p) => p.isr.includes(leader))
        ? true
        : undefined;
    });
    const afterRestart = workload.progress().acknowledged;
    await workload.waitFor({ acknowledged: afterRestart + 50 });
    const report = await workload.stop();
    t.diagnostic(JSON.stringify({ ...report, lost: report.lost.length }));
    assert.deepEqual(report.lost, []);
    assert.ok(report.acknowledged >= afterRestart + 50);
    assert.equal(report.missedLive, 0, "the live consumer read every acknowledged message");
    // Beyond those, only sends whose outcome the producer never learned.
    assert.ok(
      report.consumed <= report.acknowledged + report.failed,
      `read ${report.consumed}, sent ${report.acknowledged} + ${report.failed} unanswered`,
    );
    assert.ok(report.unacknowledgedButPresent.length <= report.failed);
    assert.deepEqual(report.neverWritten, []);
  });

  test("stop() lists the acknowledged messages a broker lost with its disk (negative control)", async (t) => {
    // RF=1 on broker 1: when its copy of the partition is deleted, acknowledged data is really gone.
    await createTopic("doomed", 1, 1, [1]);
    const workload = startWorkload({
      bootstrap: () => kafka.bootstrap(),
      topic: "doomed",
      drainTimeoutMs: 20_000,
    });
    await workload.waitFor({ acknowledged: 100 });
    await kafka.stop(1, { hard: true });
    const ackedBeforeLoss = workload.progress().acknowledged;
    kafka.wipeTopic(1, "doomed");
    await kafka.start(1);
    await workload.waitFor({ acknowledged: ackedBeforeLoss + 30 }, 90_000);
    const report = await workload.stop();
    t.diagnostic(JSON.stringify({ ...report, lost: report.lost.length }));
    assert.ok(report.lost.length > 0, "the checker noticed the loss");
    // Everything acknowledged before the disk was lost is gone; later writes landed on the new log.
    assert.ok(
      report.lost.length >= ackedBeforeLoss,
      `lost ${report.lost.length} of ${ackedBeforeLoss}`,
    );
    assert.ok(report.lost.includes(0), "the very first message is among the lost");
    assert.ok(
      report.lost.length < report.acknowledged,
      "messages written after the restart are found",
    );
  });
});
