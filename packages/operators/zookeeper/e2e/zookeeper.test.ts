/**
 * The ZooKeeper operator on real ZooKeeper 3.9.5 JVMs in a local cluster,
 * one cluster for every scenario of this file, in order: bring-up of 3; a
 * config roll with the operator SIGKILLed mid-way (the leader restarted
 * last); scale 3 → 5 → 3 by reconfig, existing members never restarted;
 * scale 3 → 5 again, ids 4 and 5 reused on new volumes. Every operation
 * runs under the e2e kit's acknowledged-write checker (sequential znode
 * creates; every acknowledged one must exist afterwards) and its
 * disruption monitor (never two voters down at once).
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { type AckedWritesReport, type DisruptionReport, startAckedWrites } from "@ballast/e2e-kit";
import { ensembleManifest, Harness } from "./harness.ts";
import { zooKeeperDriver } from "./workload.ts";

const name = "zk";
let h: Harness;
const figures: {
  scenario: string;
  acknowledged: number;
  lost: number;
  /** Most voters whose server process was down at once (asserted ≤ 1). */
  maxDown: number;
  /** Most voters not serving at once (a leader's restart: every follower, for its election). */
  maxNotServing: number;
  notServingTimeline: [string, number[]][];
}[] = [];

/** Runs `operation` with writes going on before, during and after it, under the disruption monitor. */
async function underLoad(
  scenario: string,
  operation: () => Promise<void>,
): Promise<{ writes: AckedWritesReport; disruption: DisruptionReport<number> }> {
  const writes = startAckedWrites(
    zooKeeperDriver(() => h.servers(name)),
    { intervalMs: 50 },
  );
  const voters = { ids: [] as number[] };
  const refresh = setInterval(() => {
    h.ensemble(name)
      .then((e) => {
        voters.ids = (e.status?.members ?? [])
          .filter((m) => m.voter && !m.removing)
          .map((m) => m.id);
      })
      .catch(() => {});
  }, 500);
  voters.ids = ((await h.ensemble(name)).status?.members ?? [])
    .filter((m) => m.voter)
    .map((m) => m.id);
  const running = h.monitorDisruption(name, () => voters.ids, "ContainersReady");
  const serving = h.monitorDisruption(name, () => voters.ids, "Ready");
  try {
    await writes.waitFor({ acknowledged: 20 }, 60_000);
    await operation();
    const done = writes.progress().acknowledged;
    await writes.waitFor({ acknowledged: done + 20 }, 60_000);
  } finally {
    clearInterval(refresh);
  }
  const disruption = await running.stop();
  const notServing = await serving.stop();
  const report = await writes.stop();
  figures.push({
    scenario,
    acknowledged: report.acknowledged,
    lost: report.lost.length,
    maxDown: disruption.maxDown,
    maxNotServing: notServing.maxDown,
    notServingTimeline: notServing.timeline.map(([t, d]) => [
      new Date(t).toISOString().slice(11, 23),
      d,
    ]),
  });
  assert.deepEqual(report.lost, [], `${scenario}: acknowledged creates lost`);
  assert.ok(disruption.samples > 0 && notServing.samples > 0, "the monitors sampled");
  assert.ok(
    disruption.maxDown <= 1,
    `${scenario}: ${disruption.maxDown} voters down at once: ${JSON.stringify(disruption.timeline)}`,
  );
  return { writes: report, disruption };
}

async function uids(): Promise<Map<string, string>> {
  return new Map((await h.pods(name)).map((p) => [p.metadata.name ?? "", p.metadata.uid ?? ""]));
}

describe("ZooKeeper operator on real ZooKeeper", { timeout: 30 * 60_000 }, () => {
  before(async () => {
    h = await Harness.start();
  });
  after(async () => {
    console.log(`zookeeper e2e figures: ${JSON.stringify(figures)}`);
    await h?.close();
  });
  afterEach(async (t) => {
    if (!h) return;
    const e = await h.ensemble(name).catch(() => undefined);
    console.log(
      `after "${t.name}": ${JSON.stringify(e?.status)}\n${h.operator.logTail?.(30) ?? ""}`,
    );
  });

  test("bring-up of 3: ids 1–3, a leader, every member a serving voter", async () => {
    await h.apply(ensembleManifest(name));
    const e = await h.settled(name, 300_000);
    assert.deepEqual(
      e.status?.members?.map((m) => m.id),
      [1, 2, 3],
    );
    assert.equal(e.status?.members?.filter((m) => m.role === "leader").length, 1);
    assert.ok(e.status?.leader !== undefined);
  });

  test("a config roll restarts the leader last, resumed after the operator is SIGKILLed mid-roll", async () => {
    const start = await h.ensemble(name);
    const leaderPod = `${name}-${start.status?.leader}`;
    const before = await uids();
    const replacedOrder: string[] = [];
    await underLoad("roll", async () => {
      await h.patch(name, {
        spec: { config: { tickTime: 1000, initLimit: 10, syncLimit: 5, maxClientCnxns: 100 } },
      });
      let killed = false;
      await eventually(
        "every member restarted and the roll over",
        async () => {
          const now = await uids();
          for (const [pod, uid] of now)
            if (before.get(pod) !== uid && !replacedOrder.includes(pod)) replacedOrder.push(pod);
          if (!killed && replacedOrder.length === 1) {
            await h.operator.kill();
            await h.operator.start();
            killed = true;
          }
          const e = await h.ensemble(name);
          return replacedOrder.length === 3 && !e.status?.operation ? true : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 300 },
      );
      assert.ok(killed, "the operator was killed mid-roll");
    });
    assert.equal(
      replacedOrder.at(-1),
      leaderPod,
      `order ${replacedOrder.join(", ")}, leader ${leaderPod}`,
    );
    await h.settled(name);
  });

  test("scale 3 → 5 → 3 by reconfig restarts no existing member", async () => {
    const before = await uids();
    await underLoad("scale 3→5→3", async () => {
      await h.patch(name, { spec: { replicas: 5 } });
      const grown = await h.settled(name, 300_000);
      assert.deepEqual(
        grown.status?.members?.map((m) => m.id),
        [1, 2, 3, 4, 5],
      );
      await h.patch(name, { spec: { replicas: 3 } });
      const shrunk = await h.settled(name, 300_000);
      assert.deepEqual(
        shrunk.status?.members?.map((m) => m.id),
        [1, 2, 3],
      );
    });
    const afterUids = await uids();
    for (const [pod, uid] of before)
      assert.equal(afterUids.get(pod), uid, `${pod} was not restarted`);
    assert.deepEqual([...afterUids.keys()].sort(), [`${name}-1`, `${name}-2`, `${name}-3`]);
  });

  test("scale down then up reuses ids 4 and 5 on fresh volumes, and they join as voters", async () => {
    await underLoad("scale 3→5 (ids reused)", async () => {
      await h.patch(name, { spec: { replicas: 5 } });
      const e = await h.settled(name, 300_000);
      assert.deepEqual(
        e.status?.members?.filter((m) => m.voter).map((m) => m.id),
        [1, 2, 3, 4, 5],
      );
    });
  });
});
