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
 *    the promoted standby had not received);
 * 7. spec.backup turned on against a real S3 server in the cluster
 *    (versitygw): the roll that gives every instance archive_command,
 *    the stanza, and WAL segments in the bucket;
 * 8. the object store stopped: BackupReady False ArchivingStalled (a
 *    Warning event, the metrics), commits unaffected; started again, the
 *    condition clears;
 * 9. a ScheduledBackup's immediate Backup under the writer (and an
 *    impossible schedule, and a Backup naming no cluster, which wait);
 * 10. a point-in-time restore of that Backup into a new cluster of two
 *    instances, to a time between two batches of rows, from a source
 *    whose max_connections the roll raised (and a target before the
 *    backup, refused in status with nothing made);
 * 11. retention: a ScheduledBackup firing every minute, with
 *    spec.backup.retention '2 full': the oldest set leaves the bucket and
 *    its Backup turns Expired;
 * 12. spec.roles and spec.databases: a role made with a generated Secret
 *    it logs in with, its database; removed from the spec, it is kept
 *    while it owns objects, then dropped, the data kept.
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
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { eventually, type ObjectStore, startObjectStore } from "@ballast/dev/testkit";
import { condition, startAckedWrites } from "@ballast/e2e-kit";
import pg from "pg";
import { ballast } from "../../../cli/src/_test-cli.ts";
import { PostgresCluster } from "../src/api.ts";
import { Backup } from "../src/backup/api.ts";
import { ScheduledBackup } from "../src/backup/scheduled-api.ts";
import { annotations, labels } from "../src/resources.ts";
import { clusterManifest, Harness } from "./harness.ts";
import { onInstance, pgDriver } from "./workload.ts";

const name = "db";
let h: Harness;
/** The object store spec.backup archives to (scenario 7 starts it). */
let store: ObjectStore;
/** The Backup scenario 9's schedule made, which scenario 10 restores. */
let firstBackup = "";

/** The operator's sample of `series` for the cluster, as Prometheus scrapes it; undefined when absent. */
async function operatorMetric(series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${h.operator.metricsPort()}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${series}{`) && l.includes(`cluster="${name}"`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

/** A ScheduledBackup of the cluster. */
function schedule(scheduleName: string, spec: Record<string, unknown>) {
  return {
    apiVersion: ScheduledBackup.apiVersion,
    kind: ScheduledBackup.kind,
    metadata: { name: scheduleName, namespace: h.namespace },
    spec: { cluster: { name }, ...spec },
  };
}

/** The Backups ScheduledBackup `scheduleName` made, oldest first, with their phases. */
async function scheduledRuns(scheduleName: string): Promise<Backup[]> {
  const selector = encodeURIComponent(`ballast.dev/scheduled-backup=${scheduleName}`);
  const res = await h.cluster.api<{ items?: Backup[] }>(
    `/apis/ballast.dev/v1alpha1/namespaces/${h.namespace}/backups?labelSelector=${selector}`,
  );
  return (res.body.items ?? []).sort((a, b) =>
    (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1,
  );
}

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
    await h.apply(
      clusterManifest(name, {
        synchronous: { any: 1 },
        bootstrap: { initdb: { database: "shop" } },
      }),
    );
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
    // bootstrap.initdb's database, owned by its role (the database's name by default).
    await eventuallyOrDump(
      "database shop owned by role shop",
      async () => {
        const r = await cli(
          ["psql", name],
          ["-At", "-c", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'"],
        );
        return r.code === 0 && r.stdout.trim() === "shop" ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
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

  test("spec.backup turned on: a roll under the writer gives every instance archive_command, the stanza is made, and WAL reaches the bucket (listed with the S3 API)", async () => {
    store = await startObjectStore(h.cluster, { namespace: h.namespace });
    const bucket = "backups";
    await store.createBucket(bucket);
    await putSecret("backup-s3", {
      ACCESS_KEY_ID: store.credentials.accessKeyId,
      SECRET_ACCESS_KEY: store.credentials.secretAccessKey,
    });
    await settled();
    const { result } = await underLoad("backup turned on", async (load) => {
      const askedAt = Date.now();
      await h.mergePatch(PostgresCluster, name, {
        spec: {
          backup: {
            objectStore: {
              endpoint: store.endpoint,
              bucket,
              credentialsSecret: "backup-s3",
              caSecret: store.credentialsSecret,
            },
            // Counted, so the retention scenario sees pgBackRest expire a set.
            retention: "2 full",
          },
        },
      });
      const c = await eventuallyOrDump(
        "BackupReady True (stanza-create and check done in the primary)",
        async () => {
          const c = await h.pgc(name);
          return condition(c, "BackupReady")?.status === "True" && c.status?.backup ? c : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 1000 },
      );
      const archivingAfterMs = Date.now() - askedAt;
      await load.waitForMore(50);
      return { archivingAfterMs, repoPath: c.status?.backup?.repoPath };
    });
    console.log(`# ${JSON.stringify({ scenario: "backup turned on", ...result })}`);
    assert.equal(result.repoPath, `/${h.namespace}/${name}`);
    // The primary archives: pg_stat_archiver counts segments and no failure since the check.
    const archiver = await cli(
      ["psql", name],
      [
        "-At",
        "-c",
        "SELECT archived_count > 0, last_archived_wal IS NOT NULL FROM pg_stat_archiver",
      ],
    );
    assert.equal(archiver.code, 0, archiver.stderr);
    assert.equal(archiver.stdout.trim(), "t|t");
    const s3 = await store.client();
    try {
      const listed = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: `${h.namespace}/${name}/archive/${name}/`,
        }),
      );
      const keys = (listed.Contents ?? []).map((o) => o.Key ?? "");
      console.log(
        `# ${JSON.stringify({ scenario: "backup turned on", archiveObjects: keys.length })}`,
      );
      assert.ok(
        keys.some((k) => k.endsWith("archive.info")),
        `archive.info in ${keys.join(", ")}`,
      );
      assert.ok(
        keys.some((k) => /\/[0-9A-F]{24}-[0-9a-f]{40}(\.zst)?$/.test(k)),
        `a WAL segment in ${keys.join(", ")}`,
      );
    } finally {
      s3.destroy();
    }
  });

  test("the object store down under the writer: commits go on, BackupReady False ArchivingStalled (event, metrics); the store back, archiving resumes and the condition clears", async () => {
    const archived = await eventuallyOrDump(
      "status.backup.lastArchivedWal recorded from pg_stat_archiver",
      async () => (await h.pgc(name)).status?.backup?.lastArchivedWal,
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    assert.equal(await operatorMetric("ballast_postgres_archiving_failing"), 0);
    const age = await operatorMetric("ballast_postgres_last_archived_wal_age_seconds");
    assert.ok(age !== undefined && age >= 0, `last archived WAL age ${age}`);
    const scenarioStartedAt = Date.now();
    const switchWal = async () => {
      const r = await cli(["psql", name], ["-At", "-c", "SELECT pg_walfile_name(pg_switch_wal())"]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const { result } = await underLoad("object store down", async (load) => {
      await store.stop();
      const stoppedAt = Date.now();
      try {
        // A full segment to archive: pgBackRest's archive-push retries the
        // refused store for minutes before it fails, so the first verdict
        // is Stalled (the segment waits a minute); Failing would be right too.
        const waitingWal = await switchWal();
        const failing = await eventuallyOrDump(
          "BackupReady False ArchivingStalled or ArchivingFailing",
          async () => {
            const c = await h.pgc(name);
            const ready = condition(c, "BackupReady");
            return ready?.status === "False" &&
              (ready.reason === "ArchivingStalled" || ready.reason === "ArchivingFailing")
              ? { ready, awaiting: c.status?.backup?.walFilesAwaitingArchive }
              : undefined;
          },
          { timeoutMs: 180_000, intervalMs: 1000 },
        );
        assert.match(failing.ready.message ?? "", /spec\.backup\.objectStore/);
        if (failing.ready.reason === "ArchivingStalled") {
          assert.match(failing.ready.message ?? "", new RegExp(`${waitingWal} has waited`));
          assert.ok((failing.awaiting ?? 0) >= 1, `WAL awaiting archive ${failing.awaiting}`);
          const gauge = await operatorMetric("ballast_postgres_wal_files_awaiting_archive");
          assert.ok((gauge ?? 0) >= 1, `the awaiting-archive gauge ${gauge}`);
        }
        assert.equal(await operatorMetric("ballast_postgres_archiving_failing"), 1);
        await load.waitForMore(50);
        return { verdict: failing.ready.reason, notArchivingAfterMs: Date.now() - stoppedAt };
      } finally {
        await store.start();
      }
    });
    const startedAt = Date.now();
    const healed = await eventuallyOrDump(
      "BackupReady True again, a newer WAL archived",
      async () => {
        const c = await h.pgc(name);
        const last = c.status?.backup?.lastArchivedWal ?? "";
        return condition(c, "BackupReady")?.status === "True" && last > archived ? c : undefined;
      },
      // PostgreSQL waits up to a minute before it tries a failed segment again.
      { timeoutMs: 240_000, intervalMs: 1000 },
    );
    assert.equal(await operatorMetric("ballast_postgres_archiving_failing"), 0);
    const warned = await eventsWithReason(result.verdict ?? "", scenarioStartedAt);
    assert.ok(
      warned.some((e) => e.type === "Warning"),
      `an ${result.verdict} Warning event (${JSON.stringify(warned)})`,
    );
    console.log(
      `# ${JSON.stringify({ scenario: "object store down", ...result, resumedAfterMs: Date.now() - startedAt, lastArchivedWal: healed.status?.backup?.lastArchivedWal })}`,
    );
  });

  test("a ScheduledBackup with immediate under the writer: its Backup, pgBackRest on the primary, Completed with its label, WAL positions and sizes, in the cluster's status; an impossible schedule and a Backup naming no cluster are reported, making nothing", async () => {
    const typo = "backup-of-nothing";
    const dailyHour = (new Date().getUTCHours() + 12) % 24;
    await h.apply({
      apiVersion: Backup.apiVersion,
      kind: Backup.kind,
      metadata: { name: typo, namespace: h.namespace },
      spec: { cluster: { name: "no-such-cluster" }, type: "full" },
    });
    await h.apply(schedule("never", { schedule: "0 0 30 2 *" }));
    const { result } = await underLoad("scheduled backup", async (load) => {
      const askedAt = Date.now();
      // Daily, 12 hours from now: within the test, only the immediate run fires.
      await h.apply(schedule("nightly", { schedule: `0 ${dailyHour} * * *`, immediate: true }));
      const sb = await eventuallyOrDump(
        "ScheduledBackup nightly made its immediate Backup",
        async () => {
          const sb = await h.read<ScheduledBackup>(ScheduledBackup, "nightly");
          return sb.status?.lastBackup ? sb : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      firstBackup = sb.status?.lastBackup ?? "";
      const b = await eventuallyOrDump(
        `Backup ${firstBackup} Completed`,
        async () => {
          const b = await h.read<Backup>(Backup, firstBackup);
          if (b.status?.phase === "Failed") throw new Error(`backup failed: ${b.status.message}`);
          return b.status?.phase === "Completed" ? b : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 1000 },
      );
      const completedAfterMs = Date.now() - askedAt;
      await load.waitForMore(50);
      return { completedAfterMs, schedule: sb.status, backup: b };
    });
    console.log(
      `# ${JSON.stringify({ scenario: "scheduled backup", completedAfterMs: result.completedAfterMs, status: result.backup.status })}`,
    );
    const { backup, schedule: sbStatus } = result;
    assert.match(firstBackup, /^nightly-\d{12}$/, "named after its scheduled minute");
    assert.equal(backup.metadata.labels?.["ballast.dev/scheduled-backup"], "nightly");
    assert.equal(
      backup.metadata.ownerReferences,
      undefined,
      "not owned: deleting the schedule keeps it",
    );
    assert.equal(backup.spec.cluster.name, name);
    const next = sbStatus?.nextScheduleTime ?? "";
    const hh = String(dailyHour).padStart(2, "0");
    assert.match(
      next,
      new RegExp(`T${hh}:00:00(\\.000)?Z$`),
      `the next run is ${hh}:00 UTC: ${next}`,
    );
    assert.equal(condition({ status: sbStatus ?? {} }, "Ready")?.status, "True");
    const status = backup.status;
    assert.match(status?.label ?? "", /^\d{8}-\d{6}F$/);
    assert.equal(status?.type, "full");
    assert.match(status?.startLsn ?? "", /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.ok((status?.databaseBytes ?? 0) > 1_000_000, "a whole database was copied");
    assert.ok((status?.repositoryBytes ?? 0) > 0);
    const c = await eventuallyOrDump(
      "the cluster's status.backup.lastBackup names it",
      async () => {
        const c = await h.pgc(name);
        return c.status?.backup?.lastBackup?.name === firstBackup ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal(c.status?.backup?.lastBackup?.label, status?.label);
    assert.equal(status?.instance, c.status?.primary?.id, "taken on the primary");
    const age = await operatorMetric("ballast_postgres_last_backup_age_seconds");
    assert.ok(age !== undefined && age >= 0 && age < 600, `last backup age ${age}`);
    const shown = await cli(["status", `postgrescluster/${name}`]);
    assert.match(
      shown.stdout,
      new RegExp(`Last backup\\s+${firstBackup} \\(full ${status?.label}\\)`),
    );
    // The restore of this Backup is the next scenario's.
    const waiting = await h.read<Backup>(Backup, typo);
    assert.equal(waiting.status?.phase, "Pending");
    assert.match(
      waiting.status?.message ?? "",
      /^spec\.cluster\.name: PostgresCluster .*no-such-cluster not found/,
    );
    const never = await h.read<ScheduledBackup>(ScheduledBackup, "never");
    const invalid = condition(never, "Ready");
    assert.equal(invalid?.status, "False");
    assert.equal(invalid?.reason, "InvalidSchedule");
    assert.match(invalid?.message ?? "", /^spec\.schedule "0 0 30 2 \*": /);
    assert.deepEqual(await scheduledRuns("never"), [], "an impossible schedule makes nothing");
  });

  test("a point-in-time restore of Backup first into a new cluster of two: exactly the rows committed before the target, a standby streaming from the restored primary, writes taken; a target before the backup refused in status with nothing made", async (t) => {
    const source = await h.pgc(name);
    const first = await h.read<Backup>(Backup, firstBackup);
    const restored = "db-restored";
    const early = "db-too-early";
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const onSource = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
      const target = await h.primaryTarget(name);
      if (!target) throw new Error("no primary");
      return onInstance(target.host, target.password, work, 10_000);
    };
    const clusterPath = (n: string) =>
      `/apis/ballast.dev/v1alpha1/namespaces/${h.namespace}/postgresclusters/${n}`;
    // Removed however the scenario ends: the next one shares the nodes.
    t.after(async () => {
      for (const n of [early, restored]) await h.cluster.api(clusterPath(n), { method: "DELETE" });
    });
    const checkPods = async (n: string) => {
      const selector = encodeURIComponent(`postgres.ballast.dev/restore-check=${n}`);
      const res = await h.cluster.api<{ items?: unknown[] }>(
        `/api/v1/namespaces/${h.namespace}/pods?labelSelector=${selector}`,
      );
      return res.body.items ?? [];
    };
    const orDump = async <T>(what: () => Promise<T>): Promise<T> => {
      try {
        return await what();
      } catch (err) {
        for (const n of [early, restored]) {
          const c = await h.find<PostgresCluster>(PostgresCluster, n);
          console.log(`# ${n} status ${JSON.stringify(c?.status, null, 1)}`);
          for (const p of await h.pods(n)) {
            console.log(`# ${n} pod ${p.metadata.name} ${JSON.stringify(p.status)}`);
            for (const previous of ["--previous=true", "--previous=false"]) {
              const logs = await h.cluster.kubectl(
                "logs",
                "-n",
                h.namespace,
                p.metadata.name ?? "",
                "-c",
                "postgres",
                previous,
                "--tail=80",
              );
              console.log(`# ${p.metadata.name} log ${previous}:\n${logs.stdout}${logs.stderr}`);
            }
          }
        }
        throw err;
      }
    };
    const recovery = (target: { time: string }) => ({
      bootstrap: { recovery: { backup: { name: firstBackup }, target } },
      backup: source.spec.backup,
    });
    const { result } = await underLoad("point-in-time restore", async (load) =>
      orDump(async () => {
        // A target before the backup began: refused in status, nothing made.
        const before = new Date(Date.parse(first.status?.startedAt ?? "") - 60_000).toISOString();
        await h.apply(clusterManifest(early, { instances: 1, ...recovery({ time: before }) }));
        const refused = await eventuallyOrDump(
          "the early target refused in status",
          async () => {
            const d = condition(await h.pgc(early), "Degraded");
            return d?.reason === "RestoreTargetUnreachable" ? d : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        );
        assert.match(
          refused.message ?? "",
          /^spec\.bootstrap\.recovery\.target\.time \S+ is before the end of backup \d{8}-\d{6}F/,
        );
        await eventuallyOrDump(
          "the check pod deleted",
          async () => ((await checkPods(early)).length === 0 ? true : undefined),
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        assert.deepEqual(
          await h.instances(early),
          [],
          "no instance pod for a target it cannot reach",
        );
        assert.equal(await h.claimExists(h.claimOf(early, 0)), false, "no claim either");

        // Batch A, the target, batch B; then the WAL past the target archived.
        await onSource((c) =>
          c.query("CREATE TABLE pitr (batch text NOT NULL, n integer NOT NULL)"),
        );
        await onSource((c) =>
          c.query("INSERT INTO pitr SELECT 'A', g FROM generate_series(1, 100) g"),
        );
        await sleep(1500);
        const target = new Date().toISOString();
        await sleep(1500);
        await onSource((c) =>
          c.query("INSERT INTO pitr SELECT 'B', g FROM generate_series(1, 100) g"),
        );
        const segment = await onSource(
          async (c) =>
            (await c.query<{ w: string }>("SELECT pg_walfile_name(pg_switch_wal()) AS w")).rows[0]
              ?.w ?? "",
        );
        await eventuallyOrDump(
          `WAL segment ${segment} archived`,
          async () => {
            const last = await onSource(
              async (c) =>
                (
                  await c.query<{ w: string | null }>(
                    "SELECT last_archived_wal AS w FROM pg_stat_archiver",
                  )
                ).rows[0]?.w,
            );
            return last && last >= segment ? last : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 1000 },
        );

        const askedAt = Date.now();
        await h.apply(clusterManifest(restored, { instances: 2, ...recovery({ time: target }) }));
        const c = await eventuallyOrDump(
          `${restored} Ready with both instances serving`,
          async () => {
            const c = await h.pgc(restored);
            return condition(c, "Ready")?.status === "True" &&
              (c.status?.instances ?? []).filter((i) => i.ready).length === 2
              ? c
              : undefined;
          },
          { timeoutMs: 420_000, intervalMs: 1000 },
        );
        const readyAfterMs = Date.now() - askedAt;
        await load.waitForMore(50);
        return { readyAfterMs, target, cluster: c };
      }),
    );
    console.log(
      `# ${JSON.stringify({ scenario: "point-in-time restore", readyAfterMs: result.readyAfterMs, target: result.target, timeline: result.cluster.status?.primary?.timeline })}`,
    );
    await orDump(async () => {
      assert.equal(
        result.cluster.status?.systemIdentifier,
        source.status?.systemIdentifier,
        "a restore keeps the source's system identifier",
      );
      const states = await h.recoveryStates(restored);
      assert.deepEqual([...states.values()].sort(), ["primary", "standby"]);
      const primary = await h.primaryTarget(restored);
      assert.ok(primary, "the restored cluster's -rw has its primary");
      const batches = await onInstance(
        primary.host,
        primary.password,
        async (c) =>
          (
            await c.query<{ batch: string; n: number }>(
              "SELECT batch, count(*)::int AS n FROM pitr GROUP BY batch ORDER BY batch",
            )
          ).rows,
      );
      assert.deepEqual(batches, [{ batch: "A", n: 100 }], "all of A, none of B");
      // The roll scenario raised the source's max_connections; the restored
      // cluster has the default, lower one, which only a recovery with
      // hot_standby off accepts (docs/restore.md, step 5).
      const maxConnections = (c: pg.Client) =>
        c
          .query<{ max_connections: string }>("SHOW max_connections")
          .then((r) => Number(r.rows[0]?.max_connections));
      const restoredMax = await onInstance(primary.host, primary.password, maxConnections);
      const sourceMax = await onSource(maxConnections);
      assert.ok(restoredMax < sourceMax, `restored ${restoredMax} < source ${sourceMax}`);
      await onInstance(primary.host, primary.password, (c) =>
        c.query("INSERT INTO pitr VALUES ('C', 1)"),
      );
      const standby = (await h.instances(restored)).find(
        (p) => p.metadata.labels?.[labels.role] === "standby",
      );
      const standbyIp = standby?.status?.podIP;
      assert.ok(standbyIp, "a standby pod");
      await eventuallyOrDump(
        "the write reaches the standby (it streams from the restored primary)",
        async () =>
          onInstance(standbyIp, primary.password, async (c) =>
            (await c.query("SELECT 1 FROM pitr WHERE batch = 'C'")).rowCount === 1
              ? true
              : undefined,
          ).catch(() => undefined),
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const left = await onInstance(
        standbyIp,
        primary.password,
        async (c) =>
          (await c.query<{ recovery_target_time: string }>("SHOW recovery_target_time")).rows[0]
            ?.recovery_target_time,
      );
      assert.equal(left, "", "the standby does not inherit the restore's target");
      // Its own archive: the stanza made in its own path, never the source's.
      const archiving = await eventuallyOrDump(
        `${restored} archives into its own repository`,
        async () => {
          const c = await h.pgc(restored);
          return condition(c, "BackupReady")?.status === "True" && c.status?.backup
            ? c.status.backup
            : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 1000 },
      );
      assert.equal(archiving.repoPath, `/${h.namespace}/${restored}`);
    });
  });

  test("retention under the writer: a ScheduledBackup firing every minute, spec.backup.retention '2 full': the oldest full set expires, its Backup record turns Expired and its files leave the bucket (listed with the S3 API), exactly two sets kept", async () => {
    const first = await h.read<Backup>(Backup, firstBackup);
    const firstLabel = first.status?.label ?? "";
    const setsPrefix = `${h.namespace}/${name}/backup/${name}/`;
    const s3 = await store.client();
    /** The full sets in the bucket (their labels) and how many objects one label holds. */
    const setsInBucket = async () => {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: "backups", Prefix: setsPrefix, Delimiter: "/" }),
      );
      return (listed.CommonPrefixes ?? [])
        .map((p) => (p.Prefix ?? "").slice(setsPrefix.length, -1))
        .filter((l) => /^\d{8}-\d{6}F$/.test(l))
        .sort();
    };
    const objectsOf = async (label: string) =>
      (
        await s3.send(
          new ListObjectsV2Command({ Bucket: "backups", Prefix: `${setsPrefix}${label}/` }),
        )
      ).KeyCount ?? 0;
    try {
      assert.deepEqual(await setsInBucket(), [firstLabel], "one set before the schedule runs");
      assert.ok((await objectsOf(firstLabel)) > 0);
      const { result } = await underLoad("retention", async (load) => {
        await h.apply(schedule("frequent", { schedule: "* * * * *" }));
        await eventuallyOrDump(
          "two runs of the every-minute schedule Completed",
          async () => {
            const done = (await scheduledRuns("frequent")).filter(
              (b) => b.status?.phase === "Completed" || b.status?.phase === "Expired",
            );
            return done.length >= 2 ? done : undefined;
          },
          { timeoutMs: 300_000, intervalMs: 2000 },
        );
        await h.mergePatch(ScheduledBackup, "frequent", { spec: { suspend: true } });
        // A third run may have started before the suspend: it ends before the count.
        const runs = await eventuallyOrDump(
          "no run of the schedule Pending or Running",
          async () => {
            const all = await scheduledRuns("frequent");
            return all.every(
              (b) => b.status?.phase === "Completed" || b.status?.phase === "Expired",
            )
              ? all
              : undefined;
          },
          { timeoutMs: 300_000, intervalMs: 2000 },
        );
        const expired = await eventuallyOrDump(
          `Backup ${firstBackup} Expired`,
          async () => {
            const b = await h.read<Backup>(Backup, firstBackup);
            return b.status?.phase === "Expired" ? b : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 1000 },
        );
        await load.waitForMore(50);
        return { runs, expired };
      });
      const runs = result.runs.map((b) => ({
        name: b.metadata.name,
        phase: b.status?.phase,
        label: b.status?.label,
      }));
      console.log(
        `# ${JSON.stringify({ scenario: "retention", runs, expired: result.expired.status?.message })}`,
      );
      assert.match(
        result.expired.status?.message ?? "",
        /^retention \(spec\.backup\.retention 2 full\) removed set /,
      );
      assert.equal(await objectsOf(firstLabel), 0, `nothing of set ${firstLabel} left`);
      // The records agree with the bucket: the Completed ones are the two sets kept.
      const inBucket = await setsInBucket();
      const completed = result.runs
        .filter((b) => b.status?.phase === "Completed")
        .map((b) => b.status?.label ?? "")
        .sort();
      assert.deepEqual(inBucket, completed, "Completed records = sets in the bucket");
      assert.equal(inBucket.length, 2, "retention keeps two full sets");
      for (const b of result.runs.filter((r) => r.status?.phase === "Expired"))
        assert.equal(await objectsOf(b.status?.label ?? ""), 0, `${b.metadata.name}'s set is gone`);
      const sb = await h.read<ScheduledBackup>(ScheduledBackup, "frequent");
      assert.equal(condition(sb, "Ready")?.reason, "Suspended");
      assert.equal(sb.status?.nextScheduleTime, undefined, "suspended: no next run");
      const newest = result.runs.filter((b) => b.status?.phase === "Completed").at(-1);
      const c = await eventuallyOrDump(
        "status.backup.lastBackup is the newest run",
        async () => {
          const c = await h.pgc(name);
          return c.status?.backup?.lastBackup?.name === newest?.metadata.name ? c : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      assert.equal(c.status?.backup?.lastBackup?.label, newest?.status?.label);
    } finally {
      s3.destroy();
    }
  });

  test("spec.roles and spec.databases under the writer: the app role logs in with its generated Secret and owns db app; removed from the spec, it is kept while it owns objects, then dropped, the data kept", async () => {
    await settled();
    const connect = async <T>(
      user: { user: string; password: string },
      database: string,
      work: (c: pg.Client) => Promise<T>,
    ) => {
      const target = await h.primaryTarget(name);
      if (!target) throw new Error("no primary");
      const c = new pg.Client({
        host: target.host,
        port: 5432,
        ...user,
        database,
        connectionTimeoutMillis: 3000,
      });
      c.on("error", () => {});
      await c.connect();
      try {
        return await work(c);
      } finally {
        await c.end().catch(() => {});
      }
    };
    const asSuperuser = async <T>(database: string, work: (c: pg.Client) => Promise<T>) =>
      connect(
        { user: "postgres", password: (await h.primaryTarget(name))?.password ?? "" },
        database,
        work,
      );
    const roleExists = () =>
      asSuperuser(
        "postgres",
        async (c) =>
          (await c.query("SELECT 1 FROM pg_roles WHERE rolname = 'app'")).rows.length === 1,
      );
    await underLoad("roles and databases", async (load) => {
      await h.mergePatch(PostgresCluster, name, {
        spec: { roles: [{ name: "app" }], databases: [{ name: "app", owner: "app" }] },
      });
      const secret = await eventuallyOrDump(
        `Secret ${name}-role-app`,
        async () => {
          const res = await h.cluster.api<{ data?: Record<string, string> }>(
            `/api/v1/namespaces/${h.namespace}/secrets/${name}-role-app`,
          );
          if (res.status !== 200) return undefined;
          const get = (k: string) => Buffer.from(res.body.data?.[k] ?? "", "base64").toString();
          return { username: get("username"), password: get("password"), uri: get("uri") };
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      assert.equal(secret.username, "app");
      assert.match(
        secret.uri,
        new RegExp(`^postgresql://app:.+@${name}-rw\\.${h.namespace}\\.svc:5432/app$`),
      );
      const app = { user: "app", password: secret.password };
      await eventuallyOrDump(
        "app logs in to database app with the Secret's password",
        async () =>
          connect(
            app,
            "app",
            async (c) => (await c.query("SELECT current_user")).rows.length === 1,
          ).catch(() => undefined),
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      await connect(app, "app", async (c) => {
        await c.query("CREATE TABLE notes (v text)");
        await c.query("INSERT INTO notes VALUES ('kept')");
      });
      const owner = await asSuperuser(
        "postgres",
        async (c) =>
          (
            await c.query(
              "SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = 'app'",
            )
          ).rows[0]?.o,
      );
      assert.equal(owner, "app");
      // Removed from the spec (the database given to postgres): app owns a table, so it is kept and status says why.
      await h.mergePatch(PostgresCluster, name, {
        spec: { roles: [], databases: [{ name: "app", owner: "postgres" }] },
      });
      await eventuallyOrDump(
        "Degraded naming role app as kept because it owns objects",
        async () => {
          const d = condition(await h.pgc(name), "Degraded");
          return d?.reason === "RolesNotReconciled" &&
            /role app, removed from spec\.roles, is not dropped: it owns objects/.test(
              d.message ?? "",
            )
            ? d
            : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      assert.equal(await roleExists(), true, "a role that owns objects is not dropped");
      // Once it owns nothing, the operator drops it; the database and its data stay.
      await asSuperuser("app", (c) => c.query("REASSIGN OWNED BY app TO postgres"));
      await eventuallyOrDump(
        "role app dropped",
        async () => ((await roleExists()) ? undefined : true),
        {
          timeoutMs: 120_000,
          intervalMs: 1000,
        },
      );
      const rows = await asSuperuser(
        "app",
        async (c) => (await c.query("SELECT v FROM notes")).rows,
      );
      assert.deepEqual(rows, [{ v: "kept" }], "removing a role never drops the data");
      await eventuallyOrDump(
        "Degraded no longer about roles",
        async () =>
          condition(await h.pgc(name), "Degraded")?.reason !== "RolesNotReconciled"
            ? true
            : undefined,
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      await load.waitForMore(20);
    });
  });
});

/** Creates (or replaces) an Opaque Secret in the test namespace. */
async function putSecret(secretName: string, data: Record<string, string>): Promise<void> {
  const body = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: secretName, namespace: h.namespace },
    type: "Opaque",
    stringData: data,
  };
  const res = await h.cluster.api(`/api/v1/namespaces/${h.namespace}/secrets`, {
    method: "POST",
    body,
  });
  assert.ok(res.status === 201 || res.status === 409, `create secret ${secretName}: ${res.status}`);
}

/** The messages of the cluster's WalDiscarded events made since `sinceMs`. */
async function discardEvents(sinceMs: number): Promise<string[]> {
  return (await eventsWithReason("WalDiscarded", sinceMs)).map((e) => e.message ?? "");
}

/** The namespace's events with `reason`, made since `sinceMs` (a second of clock skew allowed). */
async function eventsWithReason(
  reason: string,
  sinceMs: number,
): Promise<{ message?: string; type?: string }[]> {
  const res = await h.cluster.api<{
    items: { message?: string; type?: string; metadata: { creationTimestamp?: string } }[];
  }>(`/api/v1/namespaces/${h.namespace}/events?fieldSelector=reason%3D${reason}`);
  assert.equal(res.status, 200, `list events: ${res.status}`);
  return res.body.items.filter(
    (e) => Date.parse(e.metadata.creationTimestamp ?? "") >= sinceMs - 1000,
  );
}
