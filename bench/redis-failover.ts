/**
 * R1, R2 — what the Redis operator's failovers cost a client (issue #16),
 * on a RedisReplication of a master, 2 replicas and 3 sentinels
 * (`sentinel.downAfterMilliseconds: 1000`) on a private 3-node local
 * cluster, the operator running as in its e2e (its own process, holding
 * exactly its declared RBAC).
 *
 * R1, unplanned failover: SIGKILL the master's redis-server and time until
 * the first write a client gets accepted by the new master. Alternating,
 * in the same run, with the reference: plain Sentinel, no operator
 * (redis-plain.ts: the same redis.conf, Sentinel settings and password, on
 * 127.0.0.1), killed the same way and measured by the same client code
 * (redis-probe.ts), which finds the master by asking the sentinels. On the
 * operator's set three clients run at once, each finding the master its
 * own way: through the `<name>-master` Service (its DNS name, which the
 * local cluster resolves to the Service's ready endpoints: there is no
 * kube-proxy), through the address `status.master` names, and through the
 * sentinels in the pods, as the reference's client does. The kill is the
 * same on both sides: `kill -9` of the redis-server process (found in the
 * pod's network namespace), then, on the cluster, the pod deleted (see
 * `deletePod`) so the node does not restart it in place.
 *
 * R2, controlled switchover during a roll: a redis.conf change that Redis
 * cannot apply at run time (`databases`) rolls every member; the longest
 * time between two accepted writes of each client during the roll.
 *
 * Before every kill and every roll the bench waits until the set is
 * settled and every sentinel lists every replica healthy, the same check
 * for both sides. Each run also records where the time went: Sentinel's
 * own steps (from the sentinels' logs, Redis's millisecond timestamps),
 * the members' roles (asked every 100 ms), the master label, the master
 * Service's EndpointSlice and the set's status (watched), each client's
 * discoveries and failures.
 *
 *   node bench/redis-failover.ts    BENCH_REDIS_RUNS=10, BENCH_REDIS_ROLLS=5, BENCH_ONLY=R1,R2
 */

import { execFile } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { apiWatch, eventually, type WatchEvent } from "@ballast/dev/testkit";
import type { PodView } from "@ballast/e2e-kit";
import { clusterNetworkOf, netnsName } from "../dev/src/node/network.ts";
import {
  Harness,
  namespace,
  replicationManifest,
} from "../packages/operators/redis/e2e/harness.ts";
import { RedisReplication } from "../packages/operators/redis/src/api.ts";
import { labels, names, quorum, redisConfig } from "../packages/operators/redis/src/resources.ts";
import { recordResults } from "./_results.ts";
import { quantile, round, spread } from "./_stats.ts";
import { PlainSentinelSet } from "./redis-plain.ts";
import {
  type Ack,
  ask,
  askSentinels,
  clock,
  type Probe,
  sentinelEvents,
  sentinelsUnsettled,
  startProbe,
  type Target,
} from "./redis-probe.ts";

const only = process.env.BENCH_ONLY;
const wants = (f: string) => !only || only.split(",").includes(f);
if (!wants("R1") && !wants("R2")) process.exit(0);

const runs = Number(process.env.BENCH_REDIS_RUNS ?? 10);
const rolls = Number(process.env.BENCH_REDIS_ROLLS ?? 5);
const downAfterMs = 1000;
const failoverTimeoutMs = 20_000;
/** R1's clients retry every ~50 ms (the issue's); R2's write every 20 ms, for a finer gap. */
const failoverIntervalMs = Number(process.env.BENCH_REDIS_INTERVAL_MS ?? 50);
const rollIntervalMs = Number(process.env.BENCH_REDIS_ROLL_INTERVAL_MS ?? 20);
const name = "bench";
const replicas = 2;
const sentinels = 3;
const run$ = promisify(execFile);
const log = (msg: string) => process.stderr.write(`[R] ${msg}\n`);
const ms = (v: number | undefined) => (v === undefined ? undefined : round(v, 0));

const manifest = replicationManifest(name, {
  replicas,
  sentinels,
  sentinel: { downAfterMilliseconds: downAfterMs, failoverTimeoutMilliseconds: failoverTimeoutMs },
});
const spec = manifest.spec as unknown as RedisReplication["spec"];
const asSet = { metadata: { name, namespace }, spec } as unknown as RedisReplication;

// The sentinel pods do not change during a measurement: list them once a second at most.
let podCache: { at: number; pods: Promise<PodView[]> } | undefined;
let kept = 0;

const h = await Harness.start();
const measured = new Date().toISOString();
const octet = h.cluster.controlPlane.networkOctet;
if (octet === undefined) throw new Error("the local cluster has no pod network");
const network = clusterNetworkOf(octet);
// The cluster's DNS server, as a pod's resolver would ask it (no cache: a fresh answer each time).
const dns = new Resolver({ timeout: 300, tries: 1 });
dns.setServers([network.gateway]);
const scratch = mkdtempSync(join(tmpdir(), "ballast-bench-redis-"));
// Raw material for the diagnosis of each run (sentinel and operator logs, every client's failures), kept.
const logDir =
  process.env.BENCH_REDIS_LOG_DIR ?? mkdtempSync(join(tmpdir(), "ballast-bench-redis-logs-"));
mkdirSync(logDir, { recursive: true });
log(`logs of every run in ${logDir}`);
let plain: PlainSentinelSet | undefined;
const results: Record<string, unknown> = {};
try {
  await h.apply(manifest);
  await h.settled(name, 600_000);
  const password = await h.password(name);
  if (wants("R1")) {
    plain = await PlainSentinelSet.start({
      dir: scratch,
      password,
      masterName: name,
      redisConf: redisConfig(asSet),
      replicas,
      sentinels,
      quorum: quorum(asSet),
      downAfterMs,
      failoverTimeoutMs,
    });
    results.R1 = await failovers(password, plain);
  }
  if (wants("R2")) results.R2 = await switchovers(password);
  log(JSON.stringify(results));
  if (!only) recordResults(results);
} finally {
  await plain?.stop();
  rmSync(scratch, { recursive: true, force: true });
  await h.close();
}

// ───────────────────────────── R1 ─────────────────────────────

interface OperatorFailover {
  /** Kill → first write accepted by the new master, per client, ms. */
  service: number;
  status: number;
  sentinels: number;
  /** ms after the kill: Sentinel's steps, the roles, the label, the endpoint, each client's discovery. */
  timeline: Record<string, number | undefined>;
  /** The operator's reconciles and writes meanwhile. */
  operator: { reconciles: (number | undefined)[]; writes: string[] };
  failures: Record<string, Record<string, number>>;
}

interface PlainFailover {
  sentinels: number;
  timeline: Record<string, number | undefined>;
  failures: Record<string, number>;
}

async function failovers(password: string, ref: PlainSentinelSet) {
  const operator: OperatorFailover[] = [];
  const reference: PlainFailover[] = [];
  // A run in which a side never got a write through within 180 s: kept out of the figures
  // (both sides of that run, so the paired ratios stay paired) and reported with its error.
  const failed: { run: number; what: string; error: string }[] = [];
  const load: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Alternate which goes first: the machine is noisy.
    const order = run % 2 === 0 ? ["operator", "reference"] : ["reference", "operator"];
    let op: OperatorFailover | undefined;
    let pl: PlainFailover | undefined;
    for (const what of order) {
      load.push(round(loadavg()[0] ?? 0, 2));
      try {
        if (what === "operator") {
          const r = await killOperatorMaster(password);
          op = r;
          log(
            `R1 run ${run + 1}: operator service ${r.service.toFixed(0)} ms, status ${r.status.toFixed(0)} ms, sentinels ${r.sentinels.toFixed(0)} ms ${JSON.stringify(r.timeline)}`,
          );
        } else {
          const r = await killPlainMaster(password, ref);
          pl = r;
          log(
            `R1 run ${run + 1}: reference ${r.sentinels.toFixed(0)} ms ${JSON.stringify(r.timeline)}`,
          );
        }
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        failed.push({ run: run + 1, what, error });
        log(`R1 run ${run + 1}: ${what} FAILED: ${error}`);
      }
    }
    if (op && pl) {
      operator.push(op);
      reference.push(pl);
    }
  }
  const of = (values: number[]) => {
    const s = spread(values.map((v) => round(v, 0)));
    return { p50: round(quantile(values, 0.5), 0), p99: round(quantile(values, 0.99), 0), ...s };
  };
  const service = of(operator.map((r) => r.service));
  const statusPath = of(operator.map((r) => r.status));
  const inPods = of(operator.map((r) => r.sentinels));
  const plainSentinel = of(reference.map((r) => r.sentinels));
  const paired = (values: number[]) =>
    spread(values.map((v, i) => round(v / (reference[i]?.sentinels ?? Number.NaN), 2)));
  const medianOf = (key: string, list: { timeline: Record<string, number | undefined> }[]) =>
    ms(spread(list.map((r) => r.timeline[key]).filter((v): v is number => v !== undefined)).median);
  const keys = (list: { timeline: Record<string, number | undefined> }[]) => [
    ...new Set(list.flatMap((r) => Object.keys(r.timeline))),
  ];
  return {
    operator: { service_ms: service, status_ms: statusPath, sentinels_ms: inPods },
    reference: { sentinels_ms: plainSentinel },
    ratio: {
      service_to_reference: round(service.median / plainSentinel.median, 2),
      status_to_reference: round(statusPath.median / plainSentinel.median, 2),
      sentinels_in_pods_to_reference: round(inPods.median / plainSentinel.median, 2),
    },
    paired_ratio: {
      service_to_reference: paired(operator.map((r) => r.service)),
      sentinels_in_pods_to_reference: paired(operator.map((r) => r.sentinels)),
    },
    median_timeline_ms: {
      operator: Object.fromEntries(keys(operator).map((k) => [k, medianOf(k, operator)])),
      reference: Object.fromEntries(keys(reference).map((k) => [k, medianOf(k, reference)])),
    },
    runs: { operator, reference },
    failed_runs: failed,
    settings: {
      down_after_ms: downAfterMs,
      failover_timeout_ms: failoverTimeoutMs,
      parallel_syncs: 1,
      quorum: quorum(asSet),
      client_interval_ms: failoverIntervalMs,
      client_timeout_ms: 1000,
      version: spec.version,
    },
    load_1min: load,
    measured,
  };
}

async function killOperatorMaster(password: string): Promise<OperatorFailover> {
  const { master, pods } = await fairStart(password);
  const old = pods.find((p) => memberOf(p) === master);
  const oldIP = old?.status?.podIP;
  if (!old || !oldIP) throw new Error(`no pod for master ${master}`);
  const pid = await redisServerPid(old);
  const world = watchWorld();
  const probes = operatorProbes(password, failoverIntervalMs);
  try {
    await firstAcks(probes, 0);
    const killedAt = clock();
    process.kill(pid, "SIGKILL");
    const deleting = deletePod(old).then(() => clock());
    try {
      await firstAcks(probes, killedAt, `${oldIP}:6379`);
    } catch (err) {
      keep(`R1-operator-${++kept}-failed`, await sentinelLogs(), probes, killedAt);
      throw err;
    }
    const deletedAt = await deleting;
    const firsts = probes.map((p) => firstAckAfter(p, killedAt, `${oldIP}:6379`) ?? Number.NaN);
    const [service, status, inPods] = firsts.map((t) => t - killedAt) as [number, number, number];
    const logs = await sentinelLogs();
    keep(`R1-operator-${++kept}`, logs, probes, killedAt);
    const events = sentinelEvents(logs, killedAt);
    const timeline: Record<string, number | undefined> = {
      ...Object.fromEntries(Object.entries(events).map(([k, v]) => [k, ms(v - killedAt)])),
      ...world.timeline(killedAt, oldIP),
      pod_delete_answered: ms(deletedAt - killedAt),
      ...Object.fromEntries(
        probes.map((p) => [`${p.name}_found_new`, ms(discoveredAfter(p, killedAt, oldIP))]),
      ),
    };
    return {
      service,
      status,
      sentinels: inPods,
      timeline,
      operator: world.operatorRequests(killedAt, firsts[0] ?? killedAt),
      failures: Object.fromEntries(probes.map((p) => [p.name, failuresAfter(p, killedAt)])),
    };
  } finally {
    for (const p of probes) await p.stop();
    world.stop();
  }
}

async function killPlainMaster(password: string, ref: PlainSentinelSet): Promise<PlainFailover> {
  await eventually(
    "the plain sentinels settled, every replica healthy",
    async () =>
      (await sentinelsUnsettled(ref.sentinels, name, password, replicas)) === undefined
        ? true
        : undefined,
    { timeoutMs: 180_000, intervalMs: 250 },
  );
  const target = await askSentinels(ref.sentinels, name, password);
  const member = target && ref.memberAt(target.port);
  if (!target || !member) throw new Error("the plain sentinels name no member");
  const probe = startProbe({
    name: "sentinels",
    discover: () => askSentinels(ref.sentinels, name, password),
    password,
    intervalMs: failoverIntervalMs,
  });
  try {
    await firstAcks([probe], 0);
    const killedAt = ref.kill(member.id);
    const oldAddress = `127.0.0.1:${target.port}`;
    await firstAcks([probe], killedAt, oldAddress);
    const first = firstAckAfter(probe, killedAt, oldAddress) ?? Number.NaN;
    // The client may find the new master (Sentinel names it while it updates its config) before any sentinel logged +switch-master.
    await eventually(
      "+switch-master in a plain sentinel's log",
      () => (sentinelEvents(ref.sentinelLogs(), killedAt)["+switch-master"] ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch(() => undefined);
    const logs = ref.sentinelLogs();
    keep(`R1-reference-${++kept}`, logs, [probe], killedAt);
    const events = sentinelEvents(logs, killedAt);
    const next = await askSentinels(ref.sentinels, name, password);
    if (!next) throw new Error("the plain sentinels name no new master");
    ref.restart(member.id, next.port);
    return {
      sentinels: first - killedAt,
      timeline: {
        ...Object.fromEntries(Object.entries(events).map(([k, v]) => [k, ms(v - killedAt)])),
        sentinels_found_new: ms(discoveredAfter(probe, killedAt, undefined, oldAddress)),
      },
      failures: failuresAfter(probe, killedAt),
    };
  } finally {
    await probe.stop();
  }
}

// ───────────────────────────── R2 ─────────────────────────────

interface Gap {
  ms: number;
  from: number;
  to: number;
  before: string;
  after: string;
}

async function switchovers(password: string) {
  const out: {
    gap_ms: Record<string, number>;
    roll_s: number;
    timeline: Record<string, number | undefined>;
    failures_in_gap: Record<string, Record<string, number>>;
  }[] = [];
  const load: number[] = [];
  for (let run = 0; run < rolls; run++) {
    load.push(round(loadavg()[0] ?? 0, 2));
    const { master, pods } = await fairStart(password);
    const oldIP = pods.find((p) => memberOf(p) === master)?.status?.podIP ?? "";
    const uids = new Map(
      pods.filter((p) => memberOf(p) !== undefined).map((p) => [p.metadata.name, p.metadata.uid]),
    );
    const world = watchWorld();
    const probes = operatorProbes(password, rollIntervalMs);
    try {
      await firstAcks(probes, 0);
      const patchedAt = clock();
      // Redis refuses CONFIG SET databases: a change only a restart applies.
      await h.mergePatch(RedisReplication, name, {
        spec: { config: { databases: String(run % 2 === 0 ? 17 : 16) } },
      });
      await eventually(
        "every member restarted once",
        async () => {
          const now = await h.members(name);
          return now.length === uids.size &&
            now.every((p) => uids.get(p.metadata.name) !== p.metadata.uid)
            ? true
            : undefined;
        },
        { timeoutMs: 600_000, intervalMs: 250 },
      );
      await h.settled(name, 300_000);
      const rolledAt = clock();
      // A few writes after the roll, so a gap at its very end is closed by one.
      await firstAcks(probes, rolledAt);
      const gaps = Object.fromEntries(probes.map((p) => [p.name, longestGap(p.acks, patchedAt)]));
      const service = gaps.service;
      const logs = await sentinelLogs();
      keep(`R2-roll-${run + 1}`, logs, probes, service?.from ?? patchedAt);
      const timeline = service
        ? {
            ...world.switchover(service.from, patchedAt, oldIP),
            ...Object.fromEntries(
              Object.entries(sentinelEvents(logs, patchedAt)).map(([k, v]) => [
                k,
                ms(v - service.from),
              ]),
            ),
            ...Object.fromEntries(
              probes.map((p) => [
                `${p.name}_found_new`,
                ms(discoveredAfter(p, service.from, undefined, service.before) ?? Number.NaN),
              ]),
            ),
            ...Object.fromEntries(
              Object.entries(gaps).map(([k, g]) => [
                `${k}_first_write_after_gap`,
                ms(g.to - service.from),
              ]),
            ),
          }
        : {};
      const entry = {
        gap_ms: Object.fromEntries(Object.entries(gaps).map(([k, g]) => [k, ms(g.ms) ?? 0])),
        gap_hosts: Object.fromEntries(
          Object.entries(gaps).map(([k, g]) => [k, `${g.before} → ${g.after}`]),
        ),
        roll_s: round((rolledAt - patchedAt) / 1000, 1),
        old_master: oldIP,
        operator_in_gap: service ? world.operatorRequests(service.from, service.to) : undefined,
        slow_sentinel_sessions: service ? world.slowSentinels(service.from, service.to) : [],
        timeline,
        failures_in_gap: Object.fromEntries(
          probes.map((p) => {
            const g = gaps[p.name];
            return [p.name, g ? failuresAfter(p, g.from, g.to) : {}];
          }),
        ),
      };
      out.push(entry);
      log(`R2 roll ${run + 1}: ${JSON.stringify(entry)}`);
    } finally {
      for (const p of probes) await p.stop();
      world.stop();
    }
  }
  const of = (key: string) => {
    const values = out.map((r) => r.gap_ms[key] ?? Number.NaN);
    return {
      p50: round(quantile(values, 0.5), 0),
      p99: round(quantile(values, 0.99), 0),
      ...spread(values),
    };
  };
  const keys = [...new Set(out.flatMap((r) => Object.keys(r.timeline)))];
  return {
    longest_gap_ms: { service: of("service"), status: of("status"), sentinels: of("sentinels") },
    roll_s: spread(out.map((r) => r.roll_s)),
    median_timeline_ms: Object.fromEntries(
      keys.map((k) => [
        k,
        ms(
          spread(out.map((r) => r.timeline[k]).filter((v): v is number => v !== undefined)).median,
        ),
      ]),
    ),
    runs: out,
    settings: { client_interval_ms: rollIntervalMs, client_timeout_ms: 1000, change: "databases" },
    load_1min: load,
    measured,
  };
}

/** The longest time between two accepted writes, from the last one before `since` on. */
function longestGap(acks: readonly Ack[], since: number): Gap {
  const start = acks.findLastIndex((a) => a.at < since);
  let best: Gap = { ms: 0, from: since, to: since, before: "", after: "" };
  for (let i = Math.max(1, start + 1); i < acks.length; i++) {
    const a = acks[i - 1];
    const b = acks[i];
    if (a && b && b.at - a.at > best.ms)
      best = { ms: b.at - a.at, from: a.at, to: b.at, before: a.host, after: b.host };
  }
  return best;
}

// ───────────────────────────── shared ─────────────────────────────

function memberOf(p: PodView): number | undefined {
  const id = p.metadata.labels?.[labels.memberId];
  return id === undefined ? undefined : Number(id);
}

function sentinelTargets(pods: readonly PodView[]): Target[] {
  return pods
    .filter((p) => p.metadata.labels?.[labels.sentinelId] !== undefined && p.status?.podIP)
    .sort(
      (a, b) =>
        Number(a.metadata.labels?.[labels.sentinelId]) -
        Number(b.metadata.labels?.[labels.sentinelId]),
    )
    .map((p) => ({ host: p.status?.podIP ?? "", port: 26379 }));
}

/** Settled by the operator's account and by every sentinel's: the same check as the reference's, then the master. */
async function fairStart(password: string): Promise<{ master: number; pods: PodView[] }> {
  for (;;) {
    const r = await h.settled(name, 600_000);
    const pods = await h.pods(name);
    const why = await sentinelsUnsettled(sentinelTargets(pods), name, password, replicas);
    if (why === undefined && r.status?.master !== undefined)
      return { master: r.status.master, pods };
    await new Promise((res) => setTimeout(res, 250));
  }
}

/**
 * Deletes the killed master's pod so the node does not restart it in place
 * (its back-off doubles with every kill). An ordinary delete, not grace 0:
 * the process is dead already, and the pod object must stay until its
 * node finalizes it. With grace 0 the operator recreated the pod at once
 * and the old pod's last status write (no uid precondition in the local
 * node) landed on the new one: it stayed "Error" with the old IP.
 */
async function deletePod(pod: PodView): Promise<void> {
  const res = await h.cluster.api(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}`, {
    method: "DELETE",
    body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid: pod.metadata.uid } },
  });
  if (res.status !== 200 && res.status !== 202)
    throw new Error(`delete ${pod.metadata.name}: ${res.status}`);
}

/** The pid of the redis-server in pod `pod`'s network namespace (its container's PID 1). */
async function redisServerPid(pod: PodView): Promise<number> {
  const ns = netnsName(network, pod.metadata.uid ?? "");
  const { stdout } = await run$("ip", ["netns", "pids", ns]);
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
    if (comm.trim() === "redis-server") return pid;
  }
  throw new Error(`no redis-server in ${pod.metadata.name}'s namespace ${ns}`);
}

async function resolve(host: string): Promise<string | undefined> {
  const [ip] = await dns.resolve4(host);
  return ip;
}

/** The three clients of the operator's set, each finding the master its own way. */
function operatorProbes(password: string, intervalMs: number): Probe[] {
  const service = `${names.master(asSet)}.${namespace}.svc.cluster.local`;
  return [
    startProbe({
      name: "service",
      password,
      intervalMs,
      discover: async () => {
        const ip = await resolve(service);
        return ip ? { host: ip, port: 6379 } : undefined;
      },
    }),
    startProbe({
      name: "status",
      password,
      intervalMs,
      discover: async () => {
        const master = (await h.set(name)).status?.master;
        if (master === undefined) return undefined;
        const pod = (await h.members(name)).find(
          (p) => memberOf(p) === master && !p.metadata.deletionTimestamp,
        );
        return pod?.status?.podIP ? { host: pod.status.podIP, port: 6379 } : undefined;
      },
    }),
    startProbe({
      name: "sentinels",
      password,
      intervalMs,
      discover: async () => {
        const named = await askSentinels(sentinelTargets(await cachedPods()), name, password);
        const ip = named && (await resolve(named.host));
        return ip ? { host: ip, port: named.port } : undefined;
      },
    }),
  ];
}

function cachedPods(): Promise<PodView[]> {
  if (!podCache || clock() - podCache.at > 1000) podCache = { at: clock(), pods: h.pods(name) };
  return podCache.pods;
}

function firstAckAfter(p: Probe, since: number, notTo?: string): number | undefined {
  return p.acks.find((a) => a.at > since && a.host !== notTo)?.at;
}

/** When discovery first named another address than `old` after `since`, ms after it. */
function discoveredAfter(
  p: Probe,
  since: number,
  oldIP?: string,
  oldAddress?: string,
): number | undefined {
  const d = p.discoveries.find(
    (x) =>
      x.at > since &&
      (oldAddress === undefined || x.host !== oldAddress) &&
      (oldIP === undefined || !x.host.startsWith(`${oldIP}:`)),
  );
  return d === undefined ? undefined : d.at - since;
}

function failuresAfter(p: Probe, since: number, until = Number.POSITIVE_INFINITY) {
  const counts: Record<string, number> = {};
  for (const f of p.failures)
    if (f.at > since && f.at <= until) counts[f.reason] = (counts[f.reason] ?? 0) + 1;
  return counts;
}

/** Waits until every probe has a write accepted after `since` by another address than `notTo`. */
async function firstAcks(probes: readonly Probe[], since: number, notTo?: string): Promise<void> {
  try {
    await eventually(
      `a write accepted by each client after ${since === 0 ? "start" : "the event"}`,
      () => (probes.every((p) => firstAckAfter(p, since, notTo) !== undefined) ? true : undefined),
      { timeoutMs: 180_000, intervalMs: 20 },
    );
  } catch (err) {
    const last = probes.map(
      (p) =>
        `${p.name}: ${p.acks.length} acks, last failures ${JSON.stringify(p.failures.slice(-3))}`,
    );
    throw new Error(`${err instanceof Error ? err.message : String(err)}; ${last.join("; ")}`);
  }
}

/** Writes what a run leaves behind for a diagnosis: the sentinels' logs, the operator's, each client's story. */
function keep(
  run: string,
  sentinelLogs: readonly string[],
  probes: readonly Probe[],
  since: number,
) {
  const dir = join(logDir, run);
  mkdirSync(dir, { recursive: true });
  sentinelLogs.forEach((l, i) => {
    writeFileSync(join(dir, `sentinel-${i}.log`), l);
  });
  writeFileSync(join(dir, "operator.log"), `${h.operator.logs().join("\n")}\n`);
  const rel = (list: { at: number }[]) => list.map((x) => ({ ...x, at: round(x.at - since, 0) }));
  writeFileSync(
    join(dir, "clients.json"),
    JSON.stringify(
      probes.map((p) => ({
        name: p.name,
        discoveries: rel(p.discoveries),
        failures: rel(p.failures),
        acks: rel(p.acks.filter((a) => a.at > since - 1000)).length,
      })),
      null,
      1,
    ),
  );
}

async function sentinelLogs(): Promise<string[]> {
  const out: string[] = [];
  for (let id = 0; id < sentinels; id++) {
    const r = await h.cluster.kubectl("-n", namespace, "logs", `${name}-sentinel-${id}`);
    out.push(r.stdout);
  }
  return out;
}

interface Seen {
  at: number;
  what: string;
}

/**
 * What the cluster and Redis did meanwhile: the set's pods (role label,
 * readiness, IP) and the master Service's EndpointSlice, watched; each
 * member's ROLE, asked every 100 ms through its pod IP; the set's status
 * (master, switchover), watched.
 */
function watchWorld() {
  const stop = new AbortController();
  const pods = new Map<string, PodView>();
  const labelled: Seen[] = [];
  const endpoints: Seen[] = [];
  const roles: Seen[] = [];
  const statuses: { at: number; master?: number; switchover?: { startedAt: string } }[] = [];
  const auth = h.cluster.auth;
  const ns = `/namespaces/${namespace}`;
  const quiet = () => {};
  void apiWatch(
    auth,
    `/api/v1${ns}/pods?watch=true&labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${name}`)}`,
    (e: WatchEvent) => {
      const p = e.object as unknown as PodView;
      if (e.type === "DELETED") pods.delete(p.metadata.name);
      else pods.set(p.metadata.name, p);
      if (p.metadata.labels?.[labels.role] === "master" && e.type !== "DELETED")
        labelled.push({ at: clock(), what: p.status?.podIP ?? p.metadata.name });
    },
    stop.signal,
  ).catch(quiet);
  void apiWatch(
    auth,
    `/apis/discovery.k8s.io/v1${ns}/endpointslices?watch=true&labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${names.master(asSet)}`)}`,
    (e: WatchEvent) => {
      const slice = e.object as {
        endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
      };
      const ready = (slice.endpoints ?? [])
        .filter((x) => x.conditions?.ready !== false)
        .flatMap((x) => x.addresses);
      endpoints.push({ at: clock(), what: ready.join(",") });
    },
    stop.signal,
  ).catch(quiet);
  void apiWatch(
    auth,
    `/apis/${RedisReplication.apiVersion}${ns}/${RedisReplication.plural}?watch=true&fieldSelector=metadata.name%3D${name}`,
    (e: WatchEvent) => {
      const s = (e.object as unknown as RedisReplication).status;
      statuses.push({
        at: clock(),
        ...(s?.master === undefined ? {} : { master: s.master }),
        ...(s?.switchover ? { switchover: { startedAt: s.switchover.startedAt } } : {}),
      });
    },
    stop.signal,
  ).catch(quiet);
  // The operator's own API requests (its trace file, one line per request), stamped as they appear:
  // a GET of the set is a reconcile starting (it reads the set fresh), a PATCH of a pod a label moved.
  const requests: Seen[] = [];
  const slow: Seen[] = [];
  const tracing = (async () => {
    let offset = (await readFile(h.traceFile, "utf8").catch(() => "")).length;
    while (!stop.signal.aborted) {
      const text = await readFile(h.traceFile, "utf8").catch(() => "");
      const fresh = text.slice(offset);
      const end = fresh.lastIndexOf("\n");
      if (end >= 0) {
        const at = clock();
        for (const line of fresh.slice(0, end).split("\n"))
          if (line) requests.push({ at, what: line });
        offset += end + 1;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const password = h.password(name);
  const polling = (async () => {
    const last = new Map<string, string>();
    while (!stop.signal.aborted) {
      const pw = await password;
      await Promise.all([
        ...[...pods.values()]
          .filter((p) => memberOf(p) !== undefined && p.status?.podIP)
          .map(async (p) => {
            const ip = p.status?.podIP ?? "";
            let role = "down";
            try {
              role = String(
                ((await ask({ host: ip, port: 6379 }, pw, ["ROLE"], 300)) as unknown[])[0],
              );
            } catch {}
            if (last.get(ip) !== role) roles.push({ at: clock(), what: `${ip} ${role}` });
            last.set(ip, role);
          }),
        // What a one-shot session to a sentinel costs (connect, AUTH, PING: the operator's
        // way of asking), so a sentinel slow to answer shows, and when.
        ...sentinelTargets([...pods.values()]).map(async (t) => {
          const began = clock();
          let rtt = Number.POSITIVE_INFINITY;
          try {
            await ask(t, pw, ["PING"], 2000);
            rtt = clock() - began;
          } catch {}
          if (rtt > 150) slow.push({ at: began, what: `${t.host} ${ms(rtt)}` });
        }),
      ]);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const after = (list: Seen[], since: number, test: (what: string) => boolean) =>
    list.find((x) => x.at > since && test(x.what))?.at;
  const rel = (t: number | undefined, since: number) =>
    t === undefined ? undefined : ms(t - since);
  return {
    /** R1: ms after the kill of the role change, the label, the endpoint, the status. */
    timeline(since: number, oldIP: string) {
      const before = statuses.findLast((s) => s.at <= since)?.master;
      const promoted = after(
        roles,
        since,
        (w) => w.endsWith(" master") && !w.startsWith(`${oldIP} `),
      );
      return {
        new_master_role_seen: rel(promoted, since),
        label_on_new_master: rel(
          after(labelled, since, (w) => w !== oldIP),
          since,
        ),
        endpoint_is_new_master: rel(
          after(endpoints, since, (w) => w !== "" && !w.split(",").includes(oldIP)),
          since,
        ),
        endpoint_empty: rel(
          after(endpoints, since, (w) => w === ""),
          since,
        ),
        status_names_new_master: rel(
          statuses.find((s) => s.at > since && s.master !== undefined && s.master !== before)?.at,
          since,
        ),
      };
    },
    /** R2: ms relative to the last write before the longest gap (the pause, in effect). */
    switchover(gapFrom: number, since: number, oldIP: string) {
      const started = statuses.find((s) => s.at > since && s.switchover);
      const recorded = started?.switchover ? Date.parse(started.switchover.startedAt) : undefined;
      const cleared = statuses.find((s) => s.at > (started?.at ?? gapFrom) && !s.switchover)?.at;
      const demoted = after(roles, since, (w) => w === `${oldIP} slave`);
      const promoted = after(
        roles,
        since,
        (w) => w.endsWith(" master") && !w.startsWith(`${oldIP} `),
      );
      return {
        switchover_recorded: rel(recorded, gapFrom),
        new_master_role_seen: rel(promoted, gapFrom),
        old_master_demoted_seen: rel(demoted, gapFrom),
        label_moved: rel(
          after(labelled, since, (w) => w !== oldIP),
          gapFrom,
        ),
        endpoint_changed: rel(
          after(endpoints, since, (w) => w !== "" && !w.split(",").includes(oldIP)),
          gapFrom,
        ),
        switchover_cleared: rel(cleared, gapFrom),
      };
    },
    /** Sentinel sessions (connect, AUTH, PING) that took over 150 ms, from `from` to `to`: "<ms after from> <ip> <ms taken>". */
    slowSentinels(from: number, to: number) {
      return slow
        .filter((x) => x.at >= from - 1000 && x.at <= to)
        .map((x) => `${ms(x.at - from)} ${x.what}`);
    },
    /** The operator's reconciles (GETs of the set) and writes from `from` to `to`, ms after `from`. */
    operatorRequests(from: number, to: number) {
      const set = `/${RedisReplication.plural}/${name} `;
      const within = requests.filter((r) => r.at >= from - 1000 && r.at <= to + 1000);
      return {
        reconciles: within
          .filter((r) => r.what.startsWith("GET ") && r.what.includes(set))
          .map((r) => ms(r.at - from)),
        writes: within
          .filter((r) => !r.what.startsWith("GET ") && !r.what.includes("/leases/"))
          .map(
            (r) =>
              `${ms(r.at - from)} ${r.what.replace(/^(\S+) \/api[s]?\/[^ ]*?namespaces\/[^/]+\//, "$1 ")}`,
          ),
      };
    },
    stop() {
      stop.abort();
      void polling;
      void tracing;
    },
  };
}
