/**
 * P1, P2 — what the PostgreSQL operator's failovers cost a client (issue
 * #18), on a PostgresCluster of 3 instances (PostgreSQL 15, Debian's,
 * `synchronous: {any: 1}`, `failoverDelaySeconds: 1`, the schema's
 * minimum) on a private 3-node local cluster, the operator running as in
 * its e2e (its own process, holding exactly its declared RBAC).
 *
 * P1, unplanned failover: SIGKILL of the primary's postmaster (the
 * container's process, found in the pod's network namespace), nothing
 * else: the node restarts a killed container only after its 10 s
 * back-off, so the operator has to notice, wait failoverDelay, fence,
 * promote and move `<name>-rw`. The clock runs from just before the
 * signal to the first INSERT committed through `<name>-rw`: the client
 * resolves `<name>-rw.<ns>.svc.cluster.local` through the cluster's DNS
 * server on each connect and connects to the Service's cluster IP from
 * the host (kube-proxy DNATs it to the pod), and a commit counts only if
 * `inet_server_addr()` in the same statement is not the old primary.
 * Alternating, in the same run, with the reference (postgres-plain.ts):
 * two plain servers on 127.0.0.1, the primary SIGKILLed the same way, a
 * script promoting the standby as soon as a connect to the primary is
 * refused; the same client code, writing wherever the script names the
 * primary.
 *
 * P2, switchover: the annotation `postgres.ballast.dev/switchover-to`
 * (what `ballast switchover` sets), the longest time between two commits
 * of a client writing every 20 ms through `<name>-rw`; the reference is
 * the clean switchover by hand on the plain pair, timed by the same
 * client.
 *
 * Every run also records where the time went, on one clock: the cluster's
 * status (election and switchover phases, the primary it names) and the
 * `-rw` EndpointSlice, watched; the instances' pods (Ready, deletion),
 * watched; `pg_is_in_recovery()` of each instance asked every 100 ms
 * through its pod IP; the client's failures by kind. Before every
 * disruption both sides wait until they are settled: the cluster Ready
 * with every instance serving and one `-rw` endpoint, the plain standby
 * streaming and caught up.
 *
 *   node bench/postgres-failover.ts   BENCH_PG_RUNS=10 BENCH_PG_SWITCHOVERS=5 BENCH_ONLY=P1,P2
 *                                     BENCH_PG_INTERVAL_MS=20
 */
import { execFile } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { apiWatch, eventually, type WatchEvent } from "@ballast/dev/testkit";
import { condition, type PodView } from "@ballast/e2e-kit";
import pg from "pg";
import { clusterNetworkOf, netnsName } from "../dev/src/node/network.ts";
import { clusterManifest, Harness, namespace } from "../packages/operators/postgres/e2e/harness.ts";
import { PostgresCluster } from "../packages/operators/postgres/src/api.ts";
import { annotations, labels, names } from "../packages/operators/postgres/src/resources.ts";
import { recordResults } from "./_results.ts";
import { quantile, round, spread } from "./_stats.ts";
import { type PgAddress, PlainPostgresPair } from "./postgres-plain.ts";

const only = process.env.BENCH_ONLY;
const wants = (f: string) => !only || only.split(",").includes(f);
if (!wants("P1") && !wants("P2")) process.exit(0);

const runs = Number(process.env.BENCH_PG_RUNS ?? 10);
const switchovers = Number(process.env.BENCH_PG_SWITCHOVERS ?? 5);
const intervalMs = Number(process.env.BENCH_PG_INTERVAL_MS ?? 20);
const timeoutMs = 1000;
const failoverDelaySeconds = 1;
const name = "bench";
const run$ = promisify(execFile);
const log = (msg: string) => process.stderr.write(`[P] ${msg}\n`);
const clock = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (v: number | undefined) => (v === undefined ? undefined : round(v, 0));
const asCluster = { metadata: { name } } as PostgresCluster;
const rwService = names.readWrite(asCluster);

// Not the e2e's cluster name: another session may run the e2e at the same time.
const h = await Harness.start("ballast-postgres-bench");
const measured = new Date().toISOString();
const octet = h.cluster.controlPlane.networkOctet;
if (octet === undefined) throw new Error("the local cluster has no pod network");
const network = clusterNetworkOf(octet);
// The cluster's DNS server, as a pod's resolver would ask it (no cache: a fresh answer each time).
const dns = new Resolver({ timeout: 300, tries: 1 });
dns.setServers([network.gateway]);
const scratch = mkdtempSync(join(tmpdir(), "ballast-bench-pg-"));
// The plain servers run as the postgres user, who must reach their directories inside it.
chmodSync(scratch, 0o755);
const logDir =
  process.env.BENCH_PG_LOG_DIR ?? mkdtempSync(join(tmpdir(), "ballast-bench-pg-logs-"));
mkdirSync(logDir, { recursive: true });
/** A run slower than this keeps the operator's log, as a failed one does. */
const slowMs = 5000;
/** The last operator switchover's trace (watchWorld's `trace`), kept with a slow run's logs. */
let lastTrace: string[] = [];
log(`logs of failed runs, and of runs over ${slowMs} ms, in ${logDir}`);
let plain: PlainPostgresPair | undefined;
const results: Record<string, unknown> = {};
try {
  await h.apply(
    clusterManifest(name, { synchronous: { any: 1 }, failoverDelaySeconds: failoverDelaySeconds }),
  );
  await settled(600_000);
  const password = await h.superuserPassword(name);
  await createTable(await rwTarget(), password);
  plain = await PlainPostgresPair.start({ dir: join(scratch, "plain"), password });
  await createTable(plain.primary, password);
  await plain.streaming();
  if (wants("P1")) results.P1 = await failovers(password, plain);
  if (wants("P2")) results.P2 = await switchoverRuns(password, plain);
  log(JSON.stringify(results));
  if (!only) recordResults(results);
} finally {
  await plain?.stop();
  rmSync(scratch, { recursive: true, force: true });
  await h.close();
}

// ───────────────────────────── the client ─────────────────────────────

interface Ack {
  at: number;
  /** `inet_server_addr():inet_server_port()` of the commit: the pod IP behind the Service. */
  server: string;
}

interface Failure {
  at: number;
  reason: string;
}

interface Probe {
  acks: Ack[];
  failures: Failure[];
  stop(): Promise<void>;
}

function classify(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED/.test(m)) return "refused";
  if (/EHOSTUNREACH|ENETUNREACH/.test(m)) return "unreachable";
  if (/timeout|timed out/i.test(m)) return "timeout";
  if (/read-only transaction/.test(m)) return "read-only";
  if (/starting up|shutting down|in recovery|not yet accepting/.test(m)) return "not accepting";
  if (/terminat|ECONNRESET|EPIPE|closed/i.test(m)) return "connection lost";
  if (/ENOTFOUND|ENODATA|ESERVFAIL|no address/.test(m)) return "no address";
  return m.slice(0, 60);
}

/**
 * One connection, kept while writes succeed; after any failure the next
 * attempt discovers and connects afresh. One INSERT per attempt (an
 * autocommit transaction: acknowledged once COMMIT returned, with
 * `synchronous` once a standby flushed it), `intervalMs` apart.
 */
function startProbe(
  discover: () => Promise<PgAddress | undefined>,
  password: string,
  every: number,
): Probe {
  const acks: Ack[] = [];
  const failures: Failure[] = [];
  let client: pg.Client | undefined;
  let running = true;
  let seq = 0;
  const drop = () => {
    const c = client;
    client = undefined;
    void c?.end().catch(() => {});
  };
  const loop = (async () => {
    while (running) {
      try {
        if (!client) {
          const target = await discover();
          if (!target) throw new Error("no address");
          const c = new pg.Client({
            ...target,
            user: "postgres",
            password,
            database: "postgres",
            connectionTimeoutMillis: timeoutMs,
            query_timeout: timeoutMs,
            application_name: "bench-probe",
          });
          c.on("error", () => {});
          client = c;
          await c.connect();
        }
        const r = await client.query<{ server: string }>(
          "INSERT INTO bench_probe (seq) VALUES ($1) RETURNING host(inet_server_addr()) || ':' || inet_server_port() AS server",
          [seq++],
        );
        acks.push({ at: clock(), server: r.rows[0]?.server ?? "" });
      } catch (err) {
        failures.push({ at: clock(), reason: classify(err) });
        drop();
      }
      await sleep(every);
    }
  })();
  return {
    acks,
    failures,
    async stop() {
      running = false;
      await loop;
      drop();
    },
  };
}

async function createTable(target: PgAddress, password: string): Promise<void> {
  const c = new pg.Client({ ...target, user: "postgres", password, database: "postgres" });
  c.on("error", () => {});
  await c.connect();
  try {
    await c.query("CREATE TABLE IF NOT EXISTS bench_probe (seq integer NOT NULL)");
  } finally {
    await c.end();
  }
}

/** `<name>-rw` as a client in the cluster finds it: its DNS name, asked of the cluster's DNS server. */
async function rwTarget(): Promise<PgAddress> {
  const [ip] = await dns.resolve4(`${rwService}.${namespace}.svc.cluster.local`);
  if (!ip) throw new Error(`${rwService} has no address`);
  return { host: ip, port: 5432 };
}

function firstAckAfter(p: Probe, since: number, notFrom?: string): Ack | undefined {
  return p.acks.find((a) => a.at > since && a.server !== notFrom);
}

async function firstAck(p: Probe, since: number, notFrom?: string): Promise<Ack> {
  try {
    return await eventually(
      `a commit after ${since === 0 ? "start" : "the event"}${notFrom ? ` not on ${notFrom}` : ""}`,
      async () => firstAckAfter(p, since, notFrom),
      { timeoutMs: 180_000, intervalMs: 10 },
    );
  } catch (err) {
    const last = JSON.stringify(p.failures.slice(-3));
    throw new Error(`${err instanceof Error ? err.message : String(err)}; last failures ${last}`);
  }
}

function failuresBetween(p: Probe, from: number, to: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of p.failures)
    if (f.at > from && f.at <= to) counts[f.reason] = (counts[f.reason] ?? 0) + 1;
  return counts;
}

interface Gap {
  ms: number;
  from: number;
  to: number;
  before: string;
  after: string;
}

/** The longest time between two commits, from the last one before `since` on. */
function longestGap(acks: readonly Ack[], since: number): Gap {
  const start = acks.findLastIndex((a) => a.at < since);
  let best: Gap = { ms: 0, from: since, to: since, before: "", after: "" };
  for (let i = Math.max(1, start + 1); i < acks.length; i++) {
    const a = acks[i - 1];
    const b = acks[i];
    if (a && b && b.at - a.at > best.ms)
      best = { ms: b.at - a.at, from: a.at, to: b.at, before: a.server, after: b.server };
  }
  return best;
}

// ───────────────────────────── P1 ─────────────────────────────

interface Run {
  first_write_ms: number;
  timeline: Record<string, number | undefined>;
  failures: Record<string, number>;
}

async function failovers(password: string, ref: PlainPostgresPair) {
  const operator: Run[] = [];
  const reference: Run[] = [];
  const failed: { run: number; what: string; error: string }[] = [];
  const load: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Alternate which goes first: the machine is noisy.
    const order = run % 2 === 0 ? ["operator", "reference"] : ["reference", "operator"];
    let op: Run | undefined;
    let pl: Run | undefined;
    for (const what of order) {
      load.push(round(loadavg()[0] ?? 0, 2));
      try {
        if (what === "operator") op = await killOperatorPrimary(password, run);
        else pl = await killPlainPrimary(password, ref);
        const r = what === "operator" ? op : pl;
        log(`P1 run ${run + 1}: ${what} ${r?.first_write_ms} ms ${JSON.stringify(r?.timeline)}`);
        if (what === "operator" && (r?.first_write_ms ?? 0) > slowMs)
          await keepLogs(`P1-run-${run + 1}-slow`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        failed.push({ run: run + 1, what, error });
        log(`P1 run ${run + 1}: ${what} FAILED: ${error}`);
        if (what === "operator") await keepLogs(`P1-run-${run + 1}`);
      }
    }
    // A failed side drops its pair, so the paired ratios stay paired.
    if (op && pl) {
      operator.push(op);
      reference.push(pl);
    }
  }
  const op = figure(operator.map((r) => r.first_write_ms));
  const pl = figure(reference.map((r) => r.first_write_ms));
  return {
    operator: { first_write_ms: op },
    reference: { first_write_ms: pl },
    ratio: { p50: round(op.p50 / pl.p50, 2), p99: round(op.p99 / pl.p99, 2) },
    paired_ratio: spread(
      operator.map((r, i) =>
        round(r.first_write_ms / (reference[i]?.first_write_ms ?? Number.NaN), 2),
      ),
    ),
    median_timeline_ms: {
      operator: medianTimeline(operator),
      reference: medianTimeline(reference),
    },
    runs: { operator, reference },
    failed_runs: failed,
    settings: settings(),
    load_1min: load,
    measured,
  };
}

async function killOperatorPrimary(password: string, run: number): Promise<Run> {
  const { primary, pods } = await settled();
  const old = pods.find((p) => instanceOf(p) === primary);
  const oldIP = old?.status?.podIP;
  if (!old || !oldIP) throw new Error(`no pod for primary ${primary}`);
  const pid = await postmasterPid(old);
  const world = watchWorld(password);
  const probe = startProbe(rwTarget, password, intervalMs);
  try {
    await firstAck(probe, 0);
    await world.synced();
    const killedAt = clock();
    process.kill(pid, "SIGKILL");
    const first = await firstAck(probe, killedAt, `${oldIP}:5432`);
    const timeline = {
      ...world.failover(killedAt, oldIP, old.metadata.uid ?? "", primary),
      first_failure: ms((probe.failures.find((f) => f.at > killedAt)?.at ?? killedAt) - killedAt),
      first_write: ms(first.at - killedAt),
    };
    return {
      first_write_ms: round(first.at - killedAt, 0),
      timeline,
      failures: failuresBetween(probe, killedAt, first.at),
    };
  } finally {
    await probe.stop();
    world.stop();
    // The killed instance rejoins (a new pod, pg_rewind) before anything else is measured.
    await settled().catch((err) => log(`P1 run ${run + 1}: not settled after: ${String(err)}`));
  }
}

async function killPlainPrimary(password: string, ref: PlainPostgresPair): Promise<Run> {
  await ref.streaming();
  const old = `${ref.primary.host}:${ref.primary.port}`;
  const probe = startProbe(async () => ref.writeTarget, password, intervalMs);
  try {
    await firstAck(probe, 0);
    const t = await ref.failover();
    const killedAt = t.killed ?? 0;
    const first = await firstAck(probe, killedAt, old);
    const rel = (v: number | undefined) => ms(v === undefined ? undefined : v - killedAt);
    return {
      first_write_ms: round(first.at - killedAt, 0),
      timeline: {
        refused_seen: rel(t.refusedAt),
        pg_promote_sent: rel(t.promoteSent),
        pg_promote_answered: rel(t.promoteAnswered),
        out_of_recovery_seen: rel(t.outOfRecovery),
        first_failure: rel(probe.failures.find((f) => f.at > killedAt)?.at ?? killedAt),
        first_write: rel(first.at),
      },
      failures: failuresBetween(probe, killedAt, first.at),
    };
  } finally {
    await probe.stop();
    await ref.rejoin();
  }
}

// ───────────────────────────── P2 ─────────────────────────────

interface SwitchoverRun {
  gap_ms: number;
  gap_servers: string;
  /** Asked → the operator's switchover record cleared (or the hand switchover's old primary streaming), s. */
  complete_s: number;
  timeline: Record<string, number | undefined>;
  failures_in_gap: Record<string, number>;
}

async function switchoverRuns(password: string, ref: PlainPostgresPair) {
  const operator: SwitchoverRun[] = [];
  const reference: SwitchoverRun[] = [];
  const failed: { run: number; what: string; error: string }[] = [];
  const load: number[] = [];
  for (let run = 0; run < switchovers; run++) {
    const order = run % 2 === 0 ? ["operator", "reference"] : ["reference", "operator"];
    for (const what of order) {
      load.push(round(loadavg()[0] ?? 0, 2));
      try {
        const r =
          what === "operator"
            ? await operatorSwitchover(password)
            : await plainSwitchover(password, ref);
        (what === "operator" ? operator : reference).push(r);
        log(`P2 run ${run + 1}: ${what} gap ${r.gap_ms} ms ${JSON.stringify(r.timeline)}`);
        // A slow run passed but is what needs explaining: its operator log too.
        if (what === "operator" && r.gap_ms > slowMs) await keepLogs(`P2-run-${run + 1}-slow`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        failed.push({ run: run + 1, what, error });
        log(`P2 run ${run + 1}: ${what} FAILED: ${error}`);
        if (what === "operator") await keepLogs(`P2-run-${run + 1}`);
      }
    }
  }
  const op = figure(operator.map((r) => r.gap_ms));
  const pl = figure(reference.map((r) => r.gap_ms));
  return {
    operator: { longest_gap_ms: op, complete_s: spread(operator.map((r) => r.complete_s)) },
    reference: { longest_gap_ms: pl, complete_s: spread(reference.map((r) => r.complete_s)) },
    ratio: { p50: round(op.p50 / pl.p50, 2), p99: round(op.p99 / pl.p99, 2) },
    median_timeline_ms: {
      operator: medianTimeline(operator),
      reference: medianTimeline(reference),
    },
    runs: { operator, reference },
    failed_runs: failed,
    settings: settings(),
    load_1min: load,
    measured,
  };
}

async function operatorSwitchover(password: string): Promise<SwitchoverRun> {
  const { primary, pods } = await settled();
  const oldIP = pods.find((p) => instanceOf(p) === primary)?.status?.podIP ?? "";
  const to = (primary + 1) % 3;
  const world = watchWorld(password);
  const probe = startProbe(rwTarget, password, intervalMs);
  try {
    await firstAck(probe, 0);
    await world.synced();
    const askedAt = clock();
    await h.mergePatch(PostgresCluster, name, {
      metadata: { annotations: { [annotations.switchoverTo]: String(to) } },
    });
    await eventually(
      `instance ${to} the primary, the switchover and its annotation cleared`,
      async () => {
        const c = await h.pgc(name);
        return c.status?.primary?.id === to &&
          !c.status.switchover &&
          c.metadata.annotations?.[annotations.switchoverTo] === undefined
          ? true
          : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 100 },
    );
    const doneAt = clock();
    await settled();
    // A few commits after it, so a gap at its very end is closed by one.
    await firstAck(probe, clock());
    const gap = longestGap(probe.acks, askedAt);
    lastTrace = [
      `gap ${round(gap.ms, 0)} ms from the last commit before it (time 0); asked at ${ms(askedAt - gap.from)}`,
      ...world.trace(gap.from),
    ];
    return {
      gap_ms: round(gap.ms, 0),
      gap_servers: `${gap.before} → ${gap.after}`,
      complete_s: round((doneAt - askedAt) / 1000, 1),
      timeline: {
        asked: ms(askedAt - gap.from),
        ...world.switchover(gap.from, askedAt, oldIP),
        first_write_after_gap: ms(gap.to - gap.from),
      },
      failures_in_gap: failuresBetween(probe, gap.from, gap.to),
    };
  } finally {
    await probe.stop();
    world.stop();
  }
}

async function plainSwitchover(password: string, ref: PlainPostgresPair): Promise<SwitchoverRun> {
  await ref.streaming();
  const probe = startProbe(async () => ref.writeTarget, password, intervalMs);
  try {
    await firstAck(probe, 0);
    const t = await ref.switchover();
    const askedAt = t.asked ?? 0;
    await firstAck(probe, clock());
    const gap = longestGap(probe.acks, askedAt);
    const rel = (v: number | undefined) => ms(v === undefined ? undefined : v - gap.from);
    return {
      gap_ms: round(gap.ms, 0),
      gap_servers: `${gap.before} → ${gap.after}`,
      complete_s: round(((t.oldStreaming ?? askedAt) - askedAt) / 1000, 1),
      timeline: {
        asked: rel(t.asked),
        checkpoint_done: rel(t.checkpointed),
        old_primary_stopped: rel(t.stopped),
        standby_has_its_wal: rel(t.walReceived),
        pg_promote_answered: rel(t.promoteAnswered),
        out_of_recovery_seen: rel(t.outOfRecovery),
        first_write_after_gap: rel(gap.to),
        old_primary_streaming: rel(t.oldStreaming),
      },
      failures_in_gap: failuresBetween(probe, gap.from, gap.to),
    };
  } finally {
    await probe.stop();
  }
}

// ───────────────────────────── shared ─────────────────────────────

function figure(values: number[]) {
  return {
    p50: round(quantile(values, 0.5), 0),
    p99: round(quantile(values, 0.99), 0),
    ...spread(values),
  };
}

function medianTimeline(list: { timeline: Record<string, number | undefined> }[]) {
  const keys = [...new Set(list.flatMap((r) => Object.keys(r.timeline)))];
  return Object.fromEntries(
    keys.map((k) => [
      k,
      ms(spread(list.map((r) => r.timeline[k]).filter((v): v is number => v !== undefined)).median),
    ]),
  );
}

function settings() {
  return {
    instances: 3,
    synchronous: { any: 1 },
    failover_delay_seconds: failoverDelaySeconds,
    client_interval_ms: intervalMs,
    client_timeout_ms: timeoutMs,
    client: `${rwService}.${namespace}.svc.cluster.local (cluster DNS) → cluster IP, from the host`,
    reference: "2 plain PostgreSQL 15 servers on 127.0.0.1, asynchronous streaming",
    version: "15",
  };
}

function instanceOf(p: PodView): number | undefined {
  const id = p.metadata.labels?.[labels.instanceId];
  return id === undefined ? undefined : Number(id);
}

/**
 * Ready by the operator's account (as the e2e's `settled`: no operation,
 * election or switchover, every instance ready, the spec observed) and
 * one `-rw` endpoint; the primary and the pods.
 */
async function settled(
  timeoutMs = 300_000,
): Promise<{ primary: number; pods: PodView[]; cluster: PostgresCluster }> {
  return eventually(
    `PostgresCluster ${name} settled with one -rw endpoint`,
    async () => {
      const c = await h.pgc(name);
      const s = c.status;
      if (
        condition(c, "Ready")?.status !== "True" ||
        s?.operation ||
        s?.election ||
        s?.switchover ||
        s?.primary === undefined ||
        s.observedGeneration !== c.metadata.generation ||
        (s.instances ?? []).filter((i) => i.ready).length !== c.spec.instances
      )
        return undefined;
      if ((await h.readWriteEndpoints(name)).length !== 1) return undefined;
      return { primary: s.primary.id, pods: await h.instances(name), cluster: c };
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** The pid of the postmaster in pod `pod`'s network namespace: the postgres process whose parent is none. */
async function postmasterPid(pod: PodView): Promise<number> {
  const ns = netnsName(network, pod.metadata.uid ?? "");
  const { stdout } = await run$("ip", ["netns", "pids", ns]);
  const comm = (pid: number | string) =>
    readFile(`/proc/${pid}/comm`, "utf8").then(
      (s) => s.trim(),
      () => "",
    );
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    if ((await comm(pid)) !== "postgres") continue;
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // Field 4, after the parenthesised command name.
    const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
    if (ppid && (await comm(ppid)) !== "postgres") return pid;
  }
  throw new Error(`no postmaster in ${pod.metadata.name}'s namespace ${ns}`);
}

async function keepLogs(run: string): Promise<void> {
  const dir = join(logDir, run);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "operator.log"), `${h.operator.logs().join("\n")}\n`);
  if (lastTrace.length > 0) writeFileSync(join(dir, "trace.txt"), `${lastTrace.join("\n")}\n`);
  const events = await h.cluster
    .api<{ items?: KubeEvent[] }>(`/api/v1/namespaces/${namespace}/events`)
    .then((r) => r.body.items ?? [])
    .catch(() => []);
  const lines = events
    .map((e) => ({ at: e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? "", e }))
    .sort((a, b) => a.at.localeCompare(b.at))
    .map(
      ({ at, e }) =>
        `${at} ${e.involvedObject?.kind}/${e.involvedObject?.name} ${e.type} ${e.reason}: ${e.message}`,
    );
  writeFileSync(join(dir, "events.txt"), `${lines.join("\n")}\n`);
}

interface KubeEvent {
  metadata?: { creationTimestamp?: string };
  lastTimestamp?: string;
  eventTime?: string;
  type?: string;
  reason?: string;
  message?: string;
  involvedObject?: { kind?: string; name?: string };
}

interface Seen {
  at: number;
  what: string;
}

/**
 * What the cluster and PostgreSQL did meanwhile: the cluster's status,
 * the `-rw` EndpointSlice and the instances' pods, watched; each
 * instance's `pg_is_in_recovery()`, asked every 100 ms over one kept
 * connection per pod IP.
 */
function watchWorld(password: string) {
  const stop = new AbortController();
  const pods = new Map<string, PodView>();
  const podEvents: Seen[] = [];
  const endpoints: Seen[] = [];
  const roles: Seen[] = [];
  const statuses: Seen[] = [];
  /** Everything above in one list, with the pods' names and container states: a slow run's trace. */
  const trace: Seen[] = [];
  const watching = new Set<string>();
  const auth = h.cluster.auth;
  const ns = `/namespaces/${namespace}`;
  const quiet = () => {};
  const watch = (what: string, path: string, on: (e: WatchEvent) => void) => {
    void apiWatch(
      auth,
      path,
      (e) => {
        watching.add(what);
        on(e);
      },
      stop.signal,
    ).catch(quiet);
  };
  watch(
    "pods",
    `/api/v1${ns}/pods?watch=true&labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${name}`)}`,
    (e) => {
      const p = e.object as unknown as PodView;
      if (e.type === "DELETED") pods.delete(p.metadata.name);
      else pods.set(p.metadata.name, p);
      const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status;
      const state =
        e.type === "DELETED"
          ? "gone"
          : p.metadata.deletionTimestamp
            ? "deleting"
            : ready === "True"
              ? "ready"
              : "unready";
      podEvents.push({ at: clock(), what: `${p.metadata.uid} ${state}` });
      const full = p as PodView & {
        status?: {
          phase?: string;
          containerStatuses?: { name: string; ready?: boolean; state?: Record<string, unknown> }[];
        };
      };
      const containers = (full.status?.containerStatuses ?? [])
        .map((c) => `${c.name}:${Object.keys(c.state ?? {}).join("")}${c.ready ? "+ready" : ""}`)
        .join(",");
      trace.push({
        at: clock(),
        what: `pod ${p.metadata.name} ${p.metadata.uid?.slice(0, 8)} ${e.type} ${state} phase=${full.status?.phase ?? "-"} ip=${p.status?.podIP ?? "-"} ${containers}`,
      });
    },
  );
  watch(
    "endpoints",
    `/apis/discovery.k8s.io/v1${ns}/endpointslices?watch=true&labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${rwService}`)}`,
    (e) => {
      const slice = e.object as {
        endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
      };
      const ready = (slice.endpoints ?? [])
        .filter((x) => x.conditions?.ready !== false)
        .flatMap((x) => x.addresses);
      endpoints.push({ at: clock(), what: ready.join(",") });
      trace.push({ at: clock(), what: `rw endpoints [${ready.join(",")}]` });
    },
  );
  watch(
    "status",
    `/apis/${PostgresCluster.apiVersion}${ns}/${PostgresCluster.plural}?watch=true&fieldSelector=metadata.name%3D${name}`,
    (e) => {
      const s = (e.object as unknown as PostgresCluster).status;
      statuses.push({
        at: clock(),
        what: `primary=${s?.primary?.id} election=${s?.election?.phase ?? "-"} switchover=${s?.switchover?.phase ?? "-"}`,
      });
      const instances = (s?.instances ?? [])
        .map((i) => `${i.id}:${i.role ?? "?"}${i.ready ? "+ready" : ""}`)
        .join(",");
      trace.push({
        at: clock(),
        what: `status primary=${s?.primary?.id} election=${JSON.stringify(s?.election ?? null)} switchover=${JSON.stringify(s?.switchover ?? null)} waiting=${JSON.stringify(s?.operation?.waitingFor ?? conditionMessage(s, "Progressing"))} instances=${instances}`,
      });
    },
  );
  const polling = (async () => {
    const clients = new Map<string, pg.Client>();
    const last = new Map<string, string>();
    while (!stop.signal.aborted) {
      const ips = [...pods.values()]
        .filter((p) => instanceOf(p) !== undefined && p.status?.podIP)
        .map((p) => p.status?.podIP ?? "");
      await Promise.all(
        ips.map(async (ip) => {
          let role = "down";
          try {
            let c = clients.get(ip);
            if (!c) {
              c = new pg.Client({
                host: ip,
                port: 5432,
                user: "postgres",
                password,
                database: "postgres",
                connectionTimeoutMillis: 300,
                query_timeout: 300,
              });
              c.on("error", () => {});
              clients.set(ip, c);
              await c.connect();
            }
            const r = await c.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r");
            role = r.rows[0]?.r ? "standby" : "primary";
          } catch {
            void clients.get(ip)?.end().catch(quiet);
            clients.delete(ip);
          }
          if (last.get(ip) !== role) {
            roles.push({ at: clock(), what: `${ip} ${role}` });
            trace.push({ at: clock(), what: `sql ${ip} ${role}` });
          }
          last.set(ip, role);
        }),
      );
      await sleep(100);
    }
    for (const c of clients.values()) void c.end().catch(quiet);
  })();
  const after = (list: Seen[], since: number, test: (what: string) => boolean) =>
    list.find((x) => x.at > since && test(x.what))?.at;
  const rel = (t: number | undefined, since: number) =>
    t === undefined ? undefined : ms(t - since);
  const newPrimary = (since: number, oldIP: string) =>
    after(roles, since, (w) => w.endsWith(" primary") && !w.startsWith(`${oldIP} `));
  const endpointMoved = (since: number, oldIP: string) =>
    after(endpoints, since, (w) => w !== "" && !w.split(",").includes(oldIP));
  return {
    /** Resolves once every watch has delivered its first event (the initial list). */
    synced: () =>
      eventually(
        "the bench's watches listed",
        async () => (watching.size === 3 ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 20 },
      ),
    /** P1: ms after the kill. */
    failover(since: number, oldIP: string, oldUid: string, oldId: number) {
      const phase = (p: string) =>
        rel(
          after(statuses, since, (w) => w.includes(`election=${p}`)),
          since,
        );
      const fencing = after(statuses, since, (w) => w.includes("election=fencing"));
      return {
        old_pod_unready: rel(
          after(podEvents, since, (w) => w === `${oldUid} unready`),
          since,
        ),
        election_fencing: phase("fencing"),
        old_pod_deleting: rel(
          after(podEvents, since, (w) => w === `${oldUid} deleting`),
          since,
        ),
        election_promoting: phase("promoting"),
        new_primary_seen: rel(newPrimary(since, oldIP), since),
        election_repointing: phase("repointing"),
        status_names_new_primary: rel(
          after(statuses, since, (w) => !w.startsWith(`primary=${oldId} `)),
          since,
        ),
        rw_endpoint_empty: rel(
          after(endpoints, since, (w) => w === ""),
          since,
        ),
        rw_endpoint_new_primary: rel(endpointMoved(since, oldIP), since),
        election_cleared: rel(
          after(statuses, fencing ?? Number.POSITIVE_INFINITY, (w) => w.includes("election=-")),
          since,
        ),
      };
    },
    /** P2: ms after the last commit before the longest gap. */
    switchover(gapFrom: number, since: number, oldIP: string) {
      const phase = (p: string) =>
        rel(
          after(statuses, since, (w) => w.includes(`switchover=${p}`)),
          gapFrom,
        );
      const started = after(statuses, since, (w) => !w.includes("switchover=-"));
      return {
        checkpointing: phase("checkpointing"),
        stopping: phase("stopping"),
        old_primary_down_seen: rel(
          after(roles, since, (w) => w === `${oldIP} down`),
          gapFrom,
        ),
        promoting: phase("promoting"),
        new_primary_seen: rel(newPrimary(since, oldIP), gapFrom),
        rw_endpoint_empty: rel(
          after(endpoints, since, (w) => w === ""),
          gapFrom,
        ),
        rw_endpoint_new_primary: rel(endpointMoved(since, oldIP), gapFrom),
        rejoining: phase("rejoining"),
        switchover_cleared: rel(
          after(statuses, started ?? Number.POSITIVE_INFINITY, (w) => w.includes("switchover=-")),
          gapFrom,
        ),
      };
    },
    /** Every change seen, ms after `since`, one line each. */
    trace(since: number): string[] {
      return [...trace]
        .sort((a, b) => a.at - b.at)
        .map((x) => `${String(ms(x.at - since)).padStart(7)} ${x.what}`);
    },
    stop() {
      stop.abort();
      void polling;
    },
  };
}

function conditionMessage(
  s: { conditions?: { type: string; message?: string }[] } | undefined,
  type: string,
): string | undefined {
  return s?.conditions?.find((c) => c.type === type)?.message;
}
