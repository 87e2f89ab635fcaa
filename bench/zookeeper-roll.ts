/**
 * Z1, Z2 — what the ZooKeeper operator's rolling restart costs, and what a
 * client sees of it: a 3-member ZooKeeperEnsemble (ZooKeeper 3.9.5) on a
 * private 3-node local cluster, the operator running as in its e2e harness
 * (its own process, holding exactly its declared RBAC). Alternating, in
 * the same run:
 *
 *   reference: delete one member pod by hand, no operation running, and
 *              time until its replacement serves (Ready, which includes the
 *              serving readiness gate) and the leader counts every voting
 *              follower synced; followers first, the leader last, as the
 *              roll orders them; summed over the three members (the
 *              operator only recreates the pod).
 *   roll:      request a roll (the restart annotation) and time until
 *              status.operation is gone and every member serves.
 *
 * Z1 is roll ÷ sum: the overhead of the roll's checks and waits over the
 * work it cannot avoid. Each reference restart is also timed to when
 * ZooKeeper itself says the member serves (in broadcast, the leader
 * counting it synced), gate or not: the difference is how late the
 * operator set the gate. All the while a client makes one create after
 * another, ~20 ms apart; Z2 is, for each restart of the leader (one per
 * roll, one per reference pass), the longest time between two successful
 * creates. Run by `npm run bench` after kafka-roll.ts, or alone:
 *
 *   node bench/zookeeper-roll.ts        BENCH_RUNS=5 (default), BENCH_ONLY=Z1,Z2
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { eventually } from "@ballast/dev/testkit";
import { isServing, type PodView } from "@ballast/e2e-kit";
import zookeeper from "node-zookeeper-client";
import {
  ensembleManifest,
  Harness,
  namespace,
} from "../packages/operators/zookeeper/e2e/harness.ts";
import {
  type MemberReport,
  ZooKeeperAdmin,
} from "../packages/operators/zookeeper/src/admin/index.ts";
import { observe, serving } from "../packages/operators/zookeeper/src/plan/state.ts";
import { annotations, labels, servingGate } from "../packages/operators/zookeeper/src/resources.ts";
import { quantile, round, spread } from "./_stats.ts";

const only = process.env.BENCH_ONLY;
if (only && !only.split(",").some((f) => f === "Z1" || f === "Z2")) process.exit(0);

const runs = Number(process.env.BENCH_RUNS ?? 5);
/** Z2 wants at least this many leader restarts; by-hand ones are added when the runs gave fewer. */
const leaderRestartsWanted = Number(process.env.BENCH_ZK_LEADER_RESTARTS ?? 5);
/** No new repetition starts that would, at the last one's pace, end after this. */
const budgetMs = Number(process.env.BENCH_ZK_BUDGET_MINUTES ?? 14) * 60_000;
const createIntervalMs = Number(process.env.BENCH_ZK_CREATE_INTERVAL_MS ?? 20);
const benchDir = import.meta.dirname;
const name = "bench";
const members = 3;
const began = performance.now();
const log = (msg: string) => process.stderr.write(`[Z] ${msg}\n`);

/** One member's restart: from just before its pod went to when its replacement served again. */
interface Restart {
  member: number;
  leader: boolean;
  during: "roll" | "by hand";
  from: number;
  /** Its replacement Ready (the serving gate True) and the leader counting every voting follower synced. */
  to: number;
  /** When ZooKeeper itself said so (every member in broadcast, every voting follower synced), gate or not. */
  inZooKeeper?: number;
}

// Reads only: the bench never reconfigures, so no command runner is needed.
const admin = new ZooKeeperAdmin({
  run: () => Promise.reject(new Error("the bench runs no command in a pod")),
});
const h = await Harness.start();
const load = sampleLoad();
let creates: Creates | undefined;
try {
  const measured = new Date().toISOString();
  await h.apply(ensembleManifest(name));
  await h.settled(name, 600_000);
  await quiet();
  creates = startCreates(liveServers, createIntervalMs);
  await eventually("the first create", () => (creates?.acks.length ? true : undefined), {
    timeoutMs: 60_000,
  });

  const restarts: Restart[] = [];
  const reference: number[] = [];
  const referenceInZooKeeper: number[] = [];
  const roll: number[] = [];
  const rollBetween: number[] = [];
  let repetitionMs = 0;
  for (let run = 0; run < runs; run++) {
    if (run > 0 && performance.now() - began + repetitionMs > budgetMs) {
      log(`time budget of ${budgetMs / 60_000} min: stopping after ${run} runs`);
      break;
    }
    const start = performance.now();
    // Alternate which goes first: the machine is noisy.
    const order = run % 2 === 0 ? ["reference", "roll"] : ["roll", "reference"];
    for (const what of order) {
      if (what === "reference") {
        const pass = await restartEachByHand();
        restarts.push(...pass.restarts);
        reference.push(pass.seconds);
        referenceInZooKeeper.push(pass.inZooKeeper);
        log(
          `run ${run + 1}: reference ${pass.seconds.toFixed(1)} s (in ZooKeeper ${pass.inZooKeeper.toFixed(1)} s)`,
        );
      } else {
        const pass = await rollOnce(run);
        restarts.push(...pass.restarts);
        roll.push(pass.seconds);
        rollBetween.push(pass.between);
        log(`run ${run + 1}: roll ${pass.seconds.toFixed(1)} s`);
      }
    }
    repetitionMs = performance.now() - start;
  }
  while (
    restarts.filter((r) => r.leader).length < leaderRestartsWanted &&
    performance.now() - began < budgetMs
  ) {
    await quiet();
    const leader = (await observeNow(await h.pods(name))).leader;
    if (leader === undefined) throw new Error("no leader to restart");
    restarts.push(await restartByHand(leader, true));
    log(`extra leader restart by hand: member ${leader}`);
  }
  // A last quiet stretch, so the gap after the last restart is closed by a create.
  await quiet();
  const done = creates;
  creates = undefined;
  await done.stop();

  const tenths = (values: number[]) => values.map((v) => round(v, 1));
  const rolls = spread(tenths(roll));
  const sums = spread(tenths(reference));
  const sumsInZooKeeper = spread(tenths(referenceInZooKeeper));
  const paired = spread(roll.map((r, i) => round(r / (reference[i] ?? Number.NaN), 2)));
  const gateLag = (during: Restart["during"]) =>
    spread(
      restarts
        .filter((r) => r.during === during)
        .map((r) => round((r.to - (r.inZooKeeper ?? r.to)) / 1000, 1)),
    );
  const spans = gapWindows(restarts);
  const windowOf = (r: Restart) => spans.get(r) ?? { from: r.from, until: r.to };
  const gapOf = (r: Restart) => longestGap(done.acks, windowOf(r));
  const leaderRestarts = restarts.filter((r) => r.leader);
  const leaderGaps = leaderRestarts.map((r) => round(gapOf(r), 0));
  const followerGaps = restarts.filter((r) => !r.leader).map((r) => round(gapOf(r), 0));
  const steady = gapsOutside(done.acks, [...spans.values()]);
  const restartSeconds = (leader: boolean) =>
    spread(
      restarts.filter((r) => r.leader === leader).map((r) => round((r.to - r.from) / 1000, 1)),
    );
  const loadSeen = load.stop();
  const z1 = {
    roll_s: round(rolls.median, 1),
    sum_of_restarts_s: round(sums.median, 1),
    ratio: round(rolls.median / sums.median, 2),
    paired_ratio: paired,
    roll: rolls,
    sum_of_restarts: sums,
    // The roll's time with no member down by ZooKeeper's account: the operator's share.
    roll_no_member_down_s: spread(tenths(rollBetween)),
    // The same restarts, each counted until ZooKeeper (not the pod's gate) said it serves again.
    sum_in_zookeeper_s: round(sumsInZooKeeper.median, 1),
    ratio_to_sum_in_zookeeper: round(rolls.median / sumsInZooKeeper.median, 2),
    sum_in_zookeeper: sumsInZooKeeper,
    // From ZooKeeper counting a restarted member synced to its pod Ready (the gate set).
    gate_lag_s: { by_hand: gateLag("by hand"), roll: gateLag("roll") },
    one_restart_s: { follower: restartSeconds(false), leader: restartSeconds(true) },
    members,
    version: ensembleManifest(name).spec.version,
    measured,
    load: loadSeen,
  };
  const z2 = {
    p50_ms: quantile(leaderGaps, 0.5),
    p99_ms: quantile(leaderGaps, 0.99),
    leader_restarts: leaderRestarts.length,
    leader_gap_ms: spread(leaderGaps),
    restarts: leaderRestarts.map((r) => ({
      during: r.during,
      member: r.member,
      gap_ms: round(gapOf(r), 0),
      failed_creates: done.failures.filter((t) => t > windowOf(r).from && t <= windowOf(r).until)
        .length,
      restart_s: round((r.to - r.from) / 1000, 1),
    })),
    follower_gap_ms: spread(followerGaps),
    steady_gap_ms: { p50: round(quantile(steady, 0.5), 1), p99: round(quantile(steady, 0.99), 1) },
    create_interval_ms: createIntervalMs,
    creates_acknowledged: done.acks.length,
    creates_failed: done.failures.length,
    measured,
  };
  log(JSON.stringify({ Z1: z1, Z2: z2 }));
  if (!only) {
    const file = join(benchDir, "results.json");
    const results = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    results.Z1 = z1;
    results.Z2 = z2;
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  }
} finally {
  await creates?.stop();
  load.stop();
  await h.close();
}

/** One pass of the reference: each member deleted by hand in the roll's order; the sum, in seconds. */
async function restartEachByHand(): Promise<{
  seconds: number;
  inZooKeeper: number;
  restarts: Restart[];
}> {
  await quiet();
  const leader = (await observeNow(await h.pods(name))).leader;
  const order = [1, 2, 3].sort((a, b) => Number(a === leader) - Number(b === leader) || a - b);
  const restarts: Restart[] = [];
  for (const id of order) {
    await quiet();
    restarts.push(await restartByHand(id, id === leader));
  }
  return {
    seconds: restarts.reduce((s, r) => s + (r.to - r.from) / 1000, 0),
    inZooKeeper: restarts.reduce((s, r) => s + ((r.inZooKeeper ?? r.to) - r.from) / 1000, 0),
    restarts,
  };
}

/** Deletes member `id`'s pod; done once its replacement serves and the leader counts every voting follower synced. */
async function restartByHand(id: number, leader: boolean): Promise<Restart> {
  const pod = (await h.pods(name)).find((p) => memberOf(p) === id);
  if (!pod) throw new Error(`no pod for member ${id}`);
  const from = performance.now();
  const res = await h.cluster.api(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}`, {
    method: "DELETE",
  });
  if (res.status !== 200 && res.status !== 202)
    throw new Error(`deleting ${pod.metadata.name}: ${res.status}`);
  let inZooKeeper: number | undefined;
  await eventually(
    `member ${id} serving again, every voting follower synced`,
    async () => {
      const pods = await h.pods(name);
      const fresh = pods.find((p) => memberOf(p) === id && p.metadata.uid !== pod.metadata.uid);
      if (!fresh?.status?.podIP || !(await synced(pods))) return undefined;
      inZooKeeper ??= performance.now();
      return serves(fresh) ? true : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 250 },
  );
  const to = performance.now();
  return { member: id, leader, during: "by hand", from, to, inZooKeeper: inZooKeeper ?? to };
}

/**
 * Requests a roll and waits until status.operation is gone and every member
 * serves. Meanwhile each member's pod is watched (by polling): the last
 * poll that saw the old pod alive and the first that saw its replacement
 * serving bound that member's restart, for Z2.
 */
async function rollOnce(
  run: number,
): Promise<{ seconds: number; between: number; restarts: Restart[] }> {
  await quiet();
  const before = await h.pods(name);
  const leader = (await observeNow(before)).leader;
  const old = new Map(before.map((p) => [memberOf(p), p.metadata.uid]));
  const lastAlive = new Map<number, number>();
  const back = new Map<number, number>();
  const inZooKeeper = new Map<number, number>();
  let started = false;
  const from = performance.now();
  await h.patch(name, {
    metadata: { annotations: { [annotations.restartRequested]: `bench-${run}-${Date.now()}` } },
  });
  await eventually(
    "the roll over, every member serving",
    async () => {
      const polled = performance.now();
      const [pods, e] = await Promise.all([h.pods(name), h.ensemble(name)]);
      const inSync = await synced(pods);
      for (const p of pods) {
        const id = memberOf(p);
        if (p.metadata.uid === old.get(id)) {
          if (!p.metadata.deletionTimestamp) lastAlive.set(id, polled);
          continue;
        }
        if (inSync && !inZooKeeper.has(id)) inZooKeeper.set(id, performance.now());
        if (serves(p) && !back.has(id)) back.set(id, performance.now());
      }
      if (e.status?.operation?.type === "Roll") started = true;
      return started &&
        !e.status?.operation &&
        pods.length === members &&
        pods.every((p) => serves(p))
        ? true
        : undefined;
    },
    { timeoutMs: 600_000, intervalMs: 250 },
  );
  const seconds = (performance.now() - from) / 1000;
  const restarts: Restart[] = [...old.keys()].map((id) => {
    const to = back.get(id);
    if (to === undefined) throw new Error(`the roll did not restart member ${id}`);
    return {
      member: id,
      leader: id === leader,
      during: "roll",
      from: lastAlive.get(id) ?? from,
      to,
      inZooKeeper: inZooKeeper.get(id) ?? to,
    };
  });
  const last = restarts.reduce((a, b) => (b.from > a.from ? b : a));
  if (last.member !== leader)
    log(`odd: the roll restarted member ${last.member} last, not the leader ${leader}`);
  // The roll's time with no member down by ZooKeeper's account (from just
  // before a pod went to ZooKeeper counting it synced): its start, the
  // hand-overs and its end, the operator's share.
  const down = [...restarts].sort((a, b) => a.from - b.from);
  let covered = 0;
  let reach = from;
  for (const r of down) {
    const end = r.inZooKeeper ?? r.to;
    covered += Math.max(0, end - Math.max(r.from, reach));
    reach = Math.max(reach, end);
  }
  return { seconds, between: seconds - covered / 1000, restarts };
}

/** No operation, every member serving, the leader counting every voting follower synced: a fair start for either side. */
async function quiet(): Promise<void> {
  await h.settled(name, 600_000);
  await eventually(
    "every member serving, every voting follower synced",
    async () => {
      const pods = await h.pods(name);
      return pods.length === members && pods.every((p) => serves(p)) && (await synced(pods))
        ? true
        : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 250 },
  );
}

/** Ready (which includes the readiness gate), and the gate itself True. */
function serves(pod: PodView): boolean {
  return (
    isServing(pod) &&
    pod.status?.conditions?.some((c) => c.type === servingGate && c.status === "True") === true
  );
}

function memberOf(pod: PodView): number {
  return Number(pod.metadata.labels?.[labels.memberId]);
}

/** What every member with a pod IP says of itself, asked through its AdminServer. */
async function observeNow(pods: readonly PodView[]) {
  const reports: MemberReport[] = await Promise.all(
    pods
      .filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp)
      .map((p) =>
        admin.report({
          id: memberOf(p),
          host: p.status?.podIP ?? "",
          pod: { namespace, name: p.metadata.name },
        }),
      ),
  );
  return observe(reports);
}

/** Every member serving in ZooKeeper, and the leader counting every voting follower synced. */
async function synced(pods: readonly PodView[]): Promise<boolean> {
  const obs = await observeNow(pods);
  const leader = obs.leader === undefined ? undefined : obs.reports.get(obs.leader);
  return (
    leader !== undefined &&
    obs.voters !== undefined &&
    obs.reports.size === members &&
    [...obs.reports.values()].every((r) => serving(r)) &&
    (leader.syncedVotingFollowers ?? 0) >= obs.voters.length - 1
  );
}

/**
 * Where the client connects: every member pod that has an IP and is not
 * being deleted, serving or not — as a client given every member's address
 * would, not only those the readiness gates call serving.
 */
async function liveServers(): Promise<string[]> {
  return (await h.pods(name))
    .filter((p) => p.status?.podIP && !p.metadata.deletionTimestamp)
    .map((p) => `${p.status?.podIP}:2181`)
    .sort();
}

type Client = ReturnType<typeof zookeeper.createClient>;

interface Creates {
  /** performance.now() at each acknowledged create. */
  acks: number[];
  /** performance.now() at each failed create or connect. */
  failures: number[];
  stop(): Promise<void>;
}

/**
 * One PERSISTENT_SEQUENTIAL create after another, `intervalMs` apart, each
 * acknowledged only once ZooKeeper committed it on a quorum. The client
 * keeps its session while it holds; a failed create or a lost connection
 * makes the next attempt connect afresh to the members alive then. (The
 * e2e driver instead lists the serving pods before every write and
 * reconnects whenever that list changes: 50 API lists a second, and a gap
 * that measures the readiness gates as much as ZooKeeper.)
 */
function startCreates(servers: () => Promise<string[]>, intervalMs: number): Creates {
  const acks: number[] = [];
  const failures: number[] = [];
  let client: Client | undefined;
  let stopping = false;
  let seq = 0;
  let madeParent = false;

  async function connect(): Promise<Client> {
    client?.close();
    client = undefined;
    const list = await servers();
    if (list.length === 0) throw new Error("no member to connect to");
    const c = zookeeper.createClient(list.join(","), {
      sessionTimeout: 10_000,
      spinDelay: 200,
      retries: 0,
    });
    try {
      await within(
        new Promise<void>((resolve) => {
          c.once("connected", () => resolve());
          c.connect();
        }),
        4000,
        "connect",
      );
      if (!madeParent) {
        await within(
          new Promise<void>((resolve, reject) =>
            c.mkdirp("/bench", (err) => (err ? reject(err) : resolve())),
          ),
          4000,
          "mkdirp /bench",
        );
        madeParent = true;
      }
    } catch (err) {
      c.close();
      throw err;
    }
    client = c;
    return c;
  }

  const loop = (async () => {
    while (!stopping) {
      try {
        const c =
          client && client.getState() === zookeeper.State.SYNC_CONNECTED ? client : await connect();
        const n = seq++;
        await within(
          new Promise<void>((resolve, reject) =>
            c.create(
              "/bench/c-",
              Buffer.from(String(n)),
              zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
              (err) => (err ? reject(err) : resolve()),
            ),
          ),
          4000,
          `create ${n}`,
        );
        acks.push(performance.now());
      } catch {
        failures.push(performance.now());
        client?.close();
        client = undefined;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();

  return {
    acks,
    failures,
    async stop() {
      stopping = true;
      await loop;
      client?.close();
    },
  };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface GapWindow {
  from: number;
  until: number;
}

/**
 * Which gaps a restart is charged with: those that END after it began and
 * before it was over or the next restart began, whichever came first. (In
 * a roll the operator sets a member's gate and deletes the next pod in one
 * reconcile, so a member is seen Ready only after the next went down: its
 * window must not take the next one's gap.)
 */
function gapWindows(restarts: readonly Restart[]): Map<Restart, GapWindow> {
  const byTime = [...restarts].sort((a, b) => a.from - b.from);
  return new Map(
    byTime.map((r, i) => [
      r,
      { from: r.from, until: Math.min(r.to, byTime[i + 1]?.from ?? Number.POSITIVE_INFINITY) },
    ]),
  );
}

/**
 * The longest time between two consecutive acknowledged creates whose end
 * falls in the window, counting always the one that ends at the first
 * create acknowledged after the window opened (even if that came later).
 */
function longestGap(acks: readonly number[], w: GapWindow): number {
  let longest = 0;
  let first = true;
  for (let i = 1; i < acks.length; i++) {
    const b = acks[i] ?? 0;
    if (b <= w.from) continue;
    if (!first && b > w.until) break;
    first = false;
    longest = Math.max(longest, b - (acks[i - 1] ?? 0));
  }
  return longest;
}

/** Every time between two consecutive acknowledged creates charged to no restart: the client's pace when nothing happens. */
function gapsOutside(acks: readonly number[], windows: readonly GapWindow[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < acks.length; i++) {
    const b = acks[i] ?? 0;
    if (!windows.some((w) => b > w.from && b <= w.until)) gaps.push(b - (acks[i - 1] ?? 0));
  }
  return gaps;
}

/**
 * What else ran on the machine meanwhile, every 10 s: the 1-minute load
 * average, and the local clusters (kube-apiserver processes) and data-system
 * JVMs (ZooKeeper, Kafka) besides this bench's own.
 */
function sampleLoad(everyMs = 10_000) {
  const load1: number[] = [];
  let otherClusters = 0;
  let otherJvms = 0;
  const sample = () => {
    load1.push(round(loadavg()[0] ?? 0, 2));
    let apiServers = 0;
    let jvms = 0;
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      const argv0 = cmdline.split("\0")[0] ?? "";
      if (argv0.endsWith("/kube-apiserver")) apiServers++;
      if (/QuorumPeerMain|kafka\.Kafka/.test(cmdline)) jvms++;
    }
    otherClusters = Math.max(otherClusters, apiServers - 1);
    otherJvms = Math.max(otherJvms, jvms - members);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  let result:
    | {
        cpus: number;
        loadavg_1m: ReturnType<typeof spread>;
        other_clusters: number;
        other_jvms: number;
      }
    | undefined;
  return {
    stop() {
      clearInterval(timer);
      result ??= {
        cpus: availableParallelism(),
        loadavg_1m: spread(load1),
        other_clusters: otherClusters,
        other_jvms: otherJvms,
      };
      return result;
    },
  };
}
