/**
 * The PostgreSQL operator on real PostgreSQL 15 servers (Debian's) in a
 * local cluster of three nodes, one cluster for every scenario of this
 * file, in order:
 *
 * 1. bring-up of a primary and two standbys, `synchronous: {any: 1}`;
 * 2. the primary's pod killed (deleted with no grace: its server
 *    SIGKILLed): it comes back as the primary, or a standby takes over;
 * 3. a switchover asked with `ballast switchover` (after bring-up,
 *    `ballast status` and `ballast psql` are run against it too);
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
import { ballast } from "../../../cli/src/_test-cli.ts";
import { PostgresCluster } from "../src/api.ts";
import { annotations, labels } from "../src/resources.ts";
import { clusterManifest, Harness } from "./harness.ts";
import { onInstance, pgDriver } from "./workload.ts";

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
    longestWriteGapMs: longestGap(driver.ackTimes),
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

/** The longest time between two consecutive acknowledged writes: how long writes stopped. */
function longestGap(times: readonly number[]): number {
  let most = 0;
  for (let i = 1; i < times.length; i++)
    most = Math.max(most, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return most;
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

/** `ballast <args> -n <namespace> --kubeconfig <admin's> [-- <after>]`, as a user runs it. */
function cli(args: string[], after: string[] = []) {
  const where = ["-n", h.namespace, "--kubeconfig", h.cluster.controlPlane.kubeconfig];
  return ballast([...args, ...where, ...(after.length ? ["--", ...after] : [])]);
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
    // What a user sees and does with the CLI, on the same cluster.
    const status = await cli(["status", `pgc/${name}`]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /instance 0/);
    assert.match(status.stdout, /primary/);
    const psql = await cli(
      ["psql", name],
      ["-At", "-c", "SELECT pg_is_in_recovery(), count(*) > 0 FROM acked"],
    );
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(
      psql.stdout.trim(),
      "f|t",
      "psql ran on the primary, which holds the writer's rows",
    );
  });

  test("the primary's pod killed with no grace: a primary serves again, nothing acknowledged lost", async () => {
    const before = await settled();
    const old = before.status?.primary?.id ?? 0;
    const oldUid = (await h.instances(name)).find((p) => p.metadata.name === h.podOf(name, old))
      ?.metadata.uid;
    let killedAt = 0;
    const { result } = await underLoad("primary pod killed", async (load) => {
      killedAt = Date.now();
      await h.killPod(h.podOf(name, old));
      const back = await eventuallyOrDump(
        "one -rw endpoint again, on a new pod",
        async () => {
          const rw = await h.readWriteEndpoints(name);
          return rw.length === 1 && rw[0]?.metadata.uid !== oldUid ? rw[0] : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 250 },
      );
      const newPodServingAfterMs = Date.now() - killedAt;
      await load.waitForMore(50);
      return { newPrimaryPod: back.metadata.name, newPodServingAfterMs };
    });
    console.log(`# ${JSON.stringify({ scenario: "primary pod killed", ...result })}`);
    const after = await settled();
    assert.equal(after.status?.readyInstances, 3);
    const states = await h.recoveryStates(name);
    assert.deepEqual([...states.values()].sort(), ["primary", "standby", "standby"]);
  });

  test("switchover asked with `ballast switchover` (the annotation): the named standby becomes primary, the old one follows it", async () => {
    const before = await settled();
    const old = before.status?.primary?.id ?? 0;
    const target = [0, 1, 2].find((i) => i !== old) ?? 1;
    let askedAt = 0;
    const { result } = await underLoad("switchover", async (load) => {
      askedAt = Date.now();
      const asked = await cli(["switchover", name, "--to", String(target)]);
      assert.equal(asked.code, 0, asked.stderr);
      assert.match(asked.stdout, new RegExp(`${annotations.switchoverTo}=${target}`));
      await eventuallyOrDump(
        `instance ${target} the primary, the request annotation cleared`,
        async () => {
          const c = await h.pgc(name);
          return c.status?.primary?.id === target &&
            !c.status.switchover &&
            c.metadata.annotations?.[annotations.switchoverTo] === undefined
            ? c
            : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 250 },
      );
      const completedAfterMs = Date.now() - askedAt;
      await load.waitForMore(50);
      return { from: old, to: target, completedAfterMs };
    });
    console.log(`# ${JSON.stringify({ scenario: "switchover", ...result })}`);
    await settled();
    const states = await h.recoveryStates(name);
    assert.equal(states.get(h.podOf(name, target)), "primary");
    assert.equal(states.get(h.podOf(name, old)), "standby");
    const rw = await h.readWriteEndpoints(name);
    assert.deepEqual(
      rw.map((p) => p.metadata.name),
      [h.podOf(name, target)],
    );
  });

  test("a parameter change that needs a restart rolls the standbys one at a time, then hands over: never the primary restarted while primary", async () => {
    const before = await settled();
    const uidsBefore = new Map(
      (await h.instances(name)).map((p) => [p.metadata.name, p.metadata.uid]),
    );
    // Watches every 250 ms for a pod replaced while status still named its instance the primary.
    const violations: string[] = [];
    let watching = true;
    const watch = (async () => {
      let last: { primary?: number; uids: Map<string | undefined, string | undefined> } | undefined;
      while (watching) {
        try {
          const [c, pods] = await Promise.all([h.pgc(name), h.pods(name)]);
          const uids = new Map(
            pods
              .filter((p) => p.metadata.labels?.[labels.instanceId] !== undefined)
              .map((p) => [p.metadata.name, p.metadata.uid]),
          );
          const primary = c.status?.primary?.id;
          if (last && primary !== undefined && primary === last.primary) {
            const pod = h.podOf(name, primary);
            const was = last.uids.get(pod);
            if (was && uids.get(pod) !== was && !c.status?.switchover)
              violations.push(`${pod} replaced while status named it the primary`);
          }
          last = { uids, ...(primary !== undefined ? { primary } : {}) };
        } catch {}
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await underLoad("rolling parameter change", async (load) => {
        await h.mergePatch(PostgresCluster, name, {
          spec: { postgresql: { parameters: { max_connections: 60 } } },
        });
        await eventuallyOrDump(
          "every instance restarted with max_connections = 60",
          async () => {
            const c = await h.pgc(name);
            if (c.status?.operation || c.status?.switchover) return undefined;
            const password = await h.superuserPassword(name);
            const pods = await h.instances(name);
            if (pods.some((p) => uidsBefore.get(p.metadata.name) === p.metadata.uid))
              return undefined;
            const values = await Promise.all(
              pods.map((p) =>
                onInstance(p.status?.podIP ?? "", password, (cl) =>
                  cl.query<{ max_connections: string }>("SHOW max_connections"),
                ).then((r) => r.rows[0]?.max_connections),
              ),
            );
            return values.length === 3 && values.every((v) => v === "60") ? values : undefined;
          },
          { timeoutMs: 420_000, intervalMs: 1000 },
        );
        await load.waitForMore(50);
      });
    } finally {
      watching = false;
      await watch;
    }
    assert.deepEqual(violations, []);
    const after = await settled();
    assert.notEqual(after.status?.primary?.id, undefined);
    assert.notEqual(
      after.status?.primary?.id,
      before.status?.primary?.id,
      "the roll ended with a switchover, the old primary restarted as a standby",
    );
  });

  test("the primary's node stopped, the operator SIGKILLed mid-failover: the standby with every acknowledged commit takes over; the node back, the old primary rejoins as a standby", async () => {
    const before = await settled();
    const old = before.status?.primary?.id ?? 0;
    const node = await h.nodeOf(h.podOf(name, old));
    let stoppedAt = 0;
    const { result } = await underLoad(
      "primary node stopped",
      async (load) => {
        stoppedAt = Date.now();
        await h.stopNode(node);
        let killedIn: string | undefined;
        try {
          // The operator dies once the election is recorded, and a new one resumes it.
          const c = await eventuallyOrDump(
            "a failover recorded in status",
            async () => {
              const c = await h.pgc(name);
              return c.status?.election ? c : undefined;
            },
            { timeoutMs: 120_000, intervalMs: 100 },
          );
          killedIn = c.status?.election?.phase;
          await h.operator.kill();
          await h.operator.start();
          const promoted = await eventuallyOrDump(
            "another instance the primary, one -rw endpoint",
            async () => {
              const c = await h.pgc(name);
              const rw = await h.readWriteEndpoints(name);
              return c.status?.primary?.id !== undefined &&
                c.status.primary.id !== old &&
                !c.status.election &&
                rw.length === 1
                ? c
                : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 250 },
          );
          const newPrimaryAfterMs = Date.now() - stoppedAt;
          await load.waitForMore(50);
          return {
            node,
            from: old,
            to: promoted.status?.primary?.id,
            operatorKilledIn: killedIn,
            newPrimaryAfterMs,
          };
        } finally {
          await h.startNode(node);
        }
      },
      // The stopped node's instance only: the other standby is repointed live.
      { maxDown: 1 },
    );
    console.log(`# ${JSON.stringify({ scenario: "primary node stopped", ...result })}`);
    const after = await settled(300_000);
    assert.notEqual(after.status?.primary?.id, old);
    const states = await h.recoveryStates(name);
    assert.equal(
      states.get(h.podOf(name, old)),
      "standby",
      "the old primary rejoined as a standby",
    );
    assert.deepEqual([...states.values()].sort(), ["primary", "standby", "standby"]);
  });

  test("synchronous replication off, the primary's node stopped: a standby takes over, and what the rewind discards is reported", async () => {
    await h.mergePatch(PostgresCluster, name, { spec: { synchronous: null } });
    const before = await eventuallyOrDump(
      "synchronous_standby_names cleared",
      async () => {
        const c = await settled();
        return c.status?.synchronous === undefined ? c : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const old = before.status?.primary?.id ?? 0;
    const node = await h.nodeOf(h.podOf(name, old));
    const startedAt = Date.now();
    const { result, lost, acknowledged } = await underLoad(
      "asynchronous, primary node stopped",
      async (load) => {
        const stoppedAt = Date.now();
        await h.stopNode(node);
        try {
          const promoted = await eventuallyOrDump(
            "another instance the primary",
            async () => {
              const c = await h.pgc(name);
              const rw = await h.readWriteEndpoints(name);
              return c.status?.primary?.id !== old && !c.status?.election && rw.length === 1
                ? c
                : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 250 },
          );
          const newPrimaryAfterMs = Date.now() - stoppedAt;
          await load.waitForMore(50);
          return { node, from: old, to: promoted.status?.primary?.id, newPrimaryAfterMs };
        } finally {
          await h.startNode(node);
        }
      },
      // Without synchronous replication a failover may lose what the
      // promoted standby had not received: the figures say how much.
      { mayLose: true },
    );
    await settled(300_000);
    const states = await h.recoveryStates(name);
    assert.equal(states.get(h.podOf(name, old)), "standby", "the old primary rejoined");
    const discarded = await discardEvents(startedAt);
    const discardedBytes = discarded.reduce(
      (sum, m) => sum + Number(/wrote (\d+) bytes/.exec(m)?.[1] ?? 0),
      0,
    );
    console.log(
      `# ${JSON.stringify({ scenario: "asynchronous, primary node stopped", ...result, acknowledged, lost: lost.length, walDiscardedEvents: discarded.length, discardedBytes })}`,
    );
    // An acknowledged commit lost was in WAL the old primary wrote past its
    // timeline's end: the rejoin must have said it discarded some.
    if (lost.length > 0) assert.ok(discardedBytes > 0, "a lost commit is reported (WalDiscarded)");
  });
});

/** The messages of the cluster's WalDiscarded events made since `sinceMs`. */
async function discardEvents(sinceMs: number): Promise<string[]> {
  const res = await h.cluster.api<{
    items: { message?: string; metadata: { creationTimestamp?: string } }[];
  }>(`/api/v1/namespaces/${h.namespace}/events?fieldSelector=reason%3DWalDiscarded`);
  assert.equal(res.status, 200, `list events: ${res.status}`);
  return res.body.items
    .filter((e) => Date.parse(e.metadata.creationTimestamp ?? "") >= sinceMs - 1000)
    .map((e) => e.message ?? "");
}
