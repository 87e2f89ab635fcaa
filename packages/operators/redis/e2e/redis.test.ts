/**
 * The Redis operator on real redis-server 7.0.15 processes (Debian's) in a
 * local cluster of three nodes, one cluster for every scenario of this
 * file, in order: bring-up of a master, two replicas and three sentinels;
 * the master's pod killed (deleted with no grace: its redis-server
 * SIGKILLed), the sentinels failing over, the master Service following,
 * the old member back as a replica; a config roll (the replicas one at a
 * time, a controlled failover under paused writes, the old master last).
 * Writes run under the e2e kit's
 * acknowledged-write checker — a write counts only once `WAIT 1` said a
 * replica has it — and every acknowledged write must be read back from the
 * master afterwards. The pods labelled master are sampled every 250 ms:
 * never two.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { readTrace, refused, startAckedWrites, unexercised } from "@ballast/e2e-kit";
import { Redis } from "ioredis";
import { RedisReplication } from "../src/api.ts";
import { namespacedRules } from "../src/rbac.ts";
import { labels as podLabels } from "../src/resources.ts";
import { Harness, replicationManifest } from "./harness.ts";
import { redisDriver } from "./workload.ts";

const name = "cache";
let h: Harness;

/** Redis members (not sentinels) whose redis-server is down at once (pod ContainersReady). */
function monitorMembersDown() {
  return h.monitorMembers(name, {
    memberLabel: podLabels.memberId,
    members: () => [0, 1, 2],
    up: "ContainersReady",
  });
}

/** Every 250 ms: how many pods are labelled master (asserted ≤ 1). */
function sampleLabels(): { stop(): Promise<{ samples: number; most: number }> } {
  let samples = 0;
  let most = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const n = (await h.labelledMasters(name)).length;
        samples++;
        most = Math.max(most, n);
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

/** What the status says each second (its master, why it is Degraded, the last repair), when it changes. */
function timeline(): { stop(): Promise<string[]> } {
  const lines: string[] = [];
  const started = Date.now();
  let last = "";
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const s = (await h.set(name)).status;
        const degraded = s?.conditions?.find((c) => c.type === "Degraded");
        const line = `master=${s?.master} degraded=${degraded?.status}:${degraded?.message} repair=${s?.lastRepair?.action ?? "-"} sentinels=${JSON.stringify(s?.sentinels?.map((x) => x.names))}`;
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

/** ROLE of every member pod, through its IP. */
async function roles(password: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of await h.members(name)) {
    const ip = p.status?.podIP;
    if (!ip) continue;
    const c = new Redis({
      host: ip,
      port: 6379,
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on("error", () => {});
    try {
      await c.connect();
      const role = (await c.call("ROLE")) as unknown[];
      out.set(p.metadata.name, String(role[0]));
    } catch {
      out.set(p.metadata.name, "down");
    } finally {
      c.disconnect();
    }
  }
  return out;
}

describe("RedisReplication on the local cluster", { timeout: 900_000 }, () => {
  before(async () => {
    h = await Harness.start();
  });

  after(async () => {
    await h?.close();
  });

  test("bring-up: one master, two replicas in sync, three sentinels agreeing, the master Service on the master", async () => {
    await h.apply(replicationManifest(name));
    const r = await h.settled(name, 300_000);
    assert.equal(r.status?.master, 0, "member 0 starts as master");
    const labelled = await h.labelledMasters(name);
    assert.deepEqual(
      labelled.map((p) => p.metadata.name),
      [`${name}-0`],
    );
    const password = await h.password(name);
    assert.ok(password.length >= 32);
    for (const p of await h.pods(name))
      assert.ok(!JSON.stringify(p).includes(password), p.metadata.name);
    const seen = await roles(password);
    assert.deepEqual([...seen].sort(), [
      [`${name}-0`, "master"],
      [`${name}-1`, "slave"],
      [`${name}-2`, "slave"],
    ]);
  });

  test("the master's pod killed: the sentinels fail over, the Service follows, the old member returns as a replica, no acknowledged write lost", async () => {
    const password = await h.password(name);
    const before = await h.set(name);
    const old = before.status?.master;
    assert.ok(old !== undefined);
    const driver = redisDriver(() => h.masterIP(name), password);
    const writes = startAckedWrites(driver, { intervalMs: 20 });
    const labels = sampleLabels();
    const down = monitorMembersDown();
    const story = timeline();
    let killedAt = 0;
    let recognisedMs: number | undefined;
    try {
      await writes.waitFor({ acknowledged: 50 }, 60_000);
      killedAt = Date.now();
      await h.killPod(`${name}-${old}`);
      const r = await eventually(
        "another member recognised as master",
        async () => {
          const s = await h.set(name);
          return s.status?.master !== undefined && s.status.master !== old ? s : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      recognisedMs = Date.now() - killedAt;
      const done = writes.progress().acknowledged;
      await writes.waitFor({ acknowledged: done + 50 }, 120_000);
      await h.settled(name, 240_000);
      assert.notEqual(r.status?.master, old);
    } finally {
      const sampled = await labels.stop();
      const disruption = await down.stop();
      const told = await story.stop();
      if (process.env.REDIS_E2E_VERBOSE) {
        console.log(told.join("\n"));
        for (const id of [0, 1, 2]) {
          const logs = await h.cluster.kubectl("-n", h.namespace, "logs", `${name}-sentinel-${id}`);
          console.log(`--- sentinel ${id}\n${logs.stdout.split("\n").slice(-40).join("\n")}`);
        }
      }
      const report = await writes.stop();
      // The longest gap between two acknowledged writes from the kill on: the unavailability window.
      const lastBefore = driver.ackTimes.filter((t) => t < killedAt).at(-1);
      const times = [
        ...(lastBefore === undefined ? [] : [lastBefore]),
        ...driver.ackTimes.filter((t) => t >= killedAt),
      ];
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
      console.log(
        JSON.stringify({
          scenario: "master pod killed",
          acknowledged: report.acknowledged,
          failed: report.failed,
          lost: report.lost.length,
          unconfirmed: writes.progress().unconfirmed,
          writeUnavailableMs: gaps.length > 0 ? Math.max(...gaps) : undefined,
          newMasterInStatusMs: recognisedMs,
          lastRepair: (await h.set(name)).status?.lastRepair,
          labelSamples: sampled.samples,
          mostLabelledMaster: sampled.most,
          maxMembersDown: disruption.maxDown,
        }),
      );
      assert.deepEqual(report.lost, [], "acknowledged writes lost");
      assert.ok(sampled.samples > 0);
      assert.ok(sampled.most <= 1, "never two pods labelled master");
      assert.ok(disruption.samples > 0);
      assert.ok(
        disruption.maxDown <= 1,
        `members down at once: ${JSON.stringify(disruption.timeline)}`,
      );
    }
    const after = await h.set(name);
    const seen = await roles(password);
    assert.equal(seen.get(`${name}-${old}`), "slave", "the old master came back as a replica");
    assert.equal(
      [...seen.values()].filter((r) => r === "master").length,
      1,
      `one master: ${JSON.stringify([...seen])}`,
    );
    assert.equal(seen.get(`${name}-${after.status?.master}`), "master");
  });

  test("a config roll restarts the replicas one at a time, fails over under paused writes, then restarts the old master; no acknowledged write lost", async () => {
    const password = await h.password(name);
    const before = await h.settled(name);
    const oldMaster = before.status?.master;
    assert.ok(oldMaster !== undefined);
    const uids = new Map((await h.members(name)).map((p) => [p.metadata.name, p.metadata.uid]));
    const driver = redisDriver(() => h.masterIP(name), password);
    const writes = startAckedWrites(driver, { intervalMs: 20 });
    const labels = sampleLabels();
    const down = monitorMembersDown();
    const replaced: string[] = [];
    const started = Date.now();
    try {
      await writes.waitFor({ acknowledged: 50 }, 60_000);
      await h.mergePatch(RedisReplication, name, {
        spec: { config: { "maxmemory-policy": "allkeys-lru" } },
      });
      await eventually(
        "every member restarted once",
        async () => {
          for (const p of await h.members(name)) {
            const was = uids.get(p.metadata.name);
            if (was && was !== p.metadata.uid && !replaced.includes(p.metadata.name))
              replaced.push(p.metadata.name);
          }
          return replaced.length === uids.size ? true : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 250 },
      );
      await h.settled(name, 240_000);
      const done = writes.progress().acknowledged;
      await writes.waitFor({ acknowledged: done + 50 }, 120_000);
    } finally {
      const sampled = await labels.stop();
      const disruption = await down.stop();
      const report = await writes.stop();
      const gaps = driver.ackTimes
        .filter((t) => t >= started)
        .map((t, i, all) => t - (all[i - 1] ?? t));
      console.log(
        JSON.stringify({
          scenario: "config roll",
          acknowledged: report.acknowledged,
          failed: report.failed,
          lost: report.lost.length,
          longestWriteGapMs: Math.max(0, ...gaps),
          replaced,
          labelSamples: sampled.samples,
          mostLabelledMaster: sampled.most,
          maxMembersDown: disruption.maxDown,
        }),
      );
      assert.deepEqual(report.lost, [], "acknowledged writes lost");
      assert.ok(sampled.most <= 1, "never two pods labelled master");
      assert.ok(disruption.samples > 0);
      assert.ok(
        disruption.maxDown <= 1,
        `members down at once: ${JSON.stringify(disruption.timeline)}`,
      );
    }
    assert.equal(
      replaced.at(-1),
      `${name}-${oldMaster}`,
      `the master restarted last: ${replaced.join(", ")}`,
    );
    const after = await h.set(name);
    assert.notEqual(
      after.status?.master,
      oldMaster,
      "a controlled failover moved the master first",
    );
    assert.equal(after.status?.switchover, undefined);
    const seen = await roles(password);
    assert.equal(
      [...seen.values()].filter((r) => r === "master").length,
      1,
      JSON.stringify([...seen]),
    );
    const ip = (await h.members(name)).find(
      (p) => p.metadata.name === `${name}-${after.status?.master}`,
    )?.status?.podIP;
    const c = new Redis({
      host: ip ?? "",
      port: 6379,
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    c.on("error", () => {});
    await c.connect();
    try {
      assert.deepEqual(await c.config("GET", "maxmemory-policy"), [
        "maxmemory-policy",
        "allkeys-lru",
      ]);
    } finally {
      c.disconnect();
    }
  });

  test("RBAC: the scenarios ran as the operator's ServiceAccount with only the declared rules, none refused", () => {
    const accesses = readTrace(h.traceFile);
    assert.ok(accesses.length > 50, `only ${accesses.length} API requests traced`);
    assert.deepEqual(
      refused(accesses).map((a) => a.line),
      [],
      "requests the API server refused",
    );
    // Scale-downs (claim deletes) are not among these scenarios yet: listed, not asserted.
    const unused = unexercised(namespacedRules, accesses, [
      "ballast.dev|redisreplications/finalizers|update",
    ]);
    console.log(JSON.stringify({ rulesNotExercisedYet: unused }));
  });
});
