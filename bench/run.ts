/**
 * `npm run bench`: Ballast's runtime against controller-runtime, side by
 * side, in one run, on one private local control plane. See bench/README.md
 * for what each figure means and how it is measured; this file only drives
 * the children, collects their numbers and writes bench/results.json and the
 * README's table.
 *
 * Sizes come from the environment (defaults are the issue's):
 * BENCH_RUNS=5 BENCH_WIDGETS=1000 BENCH_CONFIGMAPS=10000 BENCH_CONFIGMAP_BYTES=1024
 * BENCH_QPS=200 BENCH_BURST=300 BENCH_WORKERS=4 BENCH_UPDATE_RATE=500 BENCH_UNSATURATED_RATE=100
 * BENCH_UPDATE_SECONDS=10 BENCH_UPDATE_WIDGETS=500 BENCH_IDLE_SECONDS=30
 * BENCH_SETTLE_MS=5000 BENCH_UPDATE_WRITERS=16.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestCluster } from "@ballast/dev/testkit";
import { Informer, installCrds, isNotFound, KubeClient } from "@ballast/runtime";
import { bundle, OPERATOR_NODE_FLAGS } from "../scripts/build.ts";
import { Child, cpuSecondsOf } from "./_child.ts";
import { ensureReference } from "./_reference.ts";
import { quantile, round, type Spread, spread } from "./_stats.ts";
import { ConfigMap, stampAnnotation, Widget, wallMs } from "./widget.ts";

const benchDir = dirname(fileURLToPath(import.meta.url));

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw} is not a number ≥ 0`);
  return value;
}

const config = {
  runs: envNumber("BENCH_RUNS", 5),
  widgets: envNumber("BENCH_WIDGETS", 1000),
  configMaps: envNumber("BENCH_CONFIGMAPS", 10_000),
  configMapBytes: envNumber("BENCH_CONFIGMAP_BYTES", 1024),
  qps: envNumber("BENCH_QPS", 200),
  burst: envNumber("BENCH_BURST", 300),
  workers: envNumber("BENCH_WORKERS", 4),
  updateRate: envNumber("BENCH_UPDATE_RATE", 500),
  // F3 again at a rate the API server keeps up with on this machine, 0 to skip.
  unsaturatedRate: envNumber("BENCH_UNSATURATED_RATE", 100),
  updateSeconds: envNumber("BENCH_UPDATE_SECONDS", 10),
  updateWidgets: envNumber("BENCH_UPDATE_WIDGETS", 500),
  idleSeconds: envNumber("BENCH_IDLE_SECONDS", 30),
  settleMs: envNumber("BENCH_SETTLE_MS", 5000),
  updateWriters: envNumber("BENCH_UPDATE_WRITERS", 16),
};

/**
 * BENCH_SHARED_LIMITER=1 gives the Go reference one token bucket for the
 * process, as Ballast has; by default client-go makes one per kind, so with
 * the same QPS setting it may send that many per second for each kind it writes.
 */
const sharedLimiter = process.env.BENCH_SHARED_LIMITER === "1";

/** BENCH_ONLY=F3 (comma-separated) runs some figures, to check them; then no file is written. */
const only = new Set((process.env.BENCH_ONLY ?? "F1,F2,F3,F4").split(",").map((f) => f.trim()));
const everything = ["F1", "F2", "F3", "F4"].every((f) => only.has(f));

type Impl = "ballast" | "controller_runtime";
const impls: readonly Impl[] = ["ballast", "controller_runtime"];

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Alternates which implementation goes first, so drift over the run is shared. */
function order<T>(list: readonly T[], run: number): T[] {
  const shift = run % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

function machine(): string {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
  const gib = round(totalmem() / 1024 ** 3, 1);
  return `${model}, ${availableParallelism()} CPUs, ${gib} GiB RAM, Linux, Node ${process.versions.node}`;
}

log("building the controller-runtime reference (cached after the first time)…");
const referenceBinary = await ensureReference(() =>
  log("compiling controller-runtime: a few minutes on two cores, once per machine"),
);
// Ballast's processes run as they ship: bundled (scripts/build.ts), with the
// operators' Node flags. client-node's cache runs twice: bundled with the same
// flags (like for like) and as most projects run it (from node_modules,
// Node's defaults). See README "F2".
/** BENCH_NODE_FLAGS="…" replaces OPERATOR_NODE_FLAGS for every bundled Node process, to compare flags. */
const nodeFlags: readonly string[] =
  process.env.BENCH_NODE_FLAGS === undefined
    ? OPERATOR_NODE_FLAGS
    : process.env.BENCH_NODE_FLAGS.split(" ").filter(Boolean);
log("bundling the Node processes (scripts/build.ts)…");
const buildDir = join(benchDir, ".build");
const bundles = {
  controller: join(buildDir, "ballast-controller.mjs"),
  cacheBallast: join(buildDir, "cache-ballast.mjs"),
  cacheClientNode: join(buildDir, "cache-client-node.mjs"),
  cacheClientNodeUnbundled: join(buildDir, "cache-client-node-unbundled.mjs"),
};
await bundle("bench/ballast-controller.ts", bundles.controller);
await bundle("bench/cache-ballast.ts", bundles.cacheBallast);
await bundle("bench/cache-client-node.ts", bundles.cacheClientNode);
await bundle("bench/cache-client-node.ts", bundles.cacheClientNodeUnbundled, {
  externalPackages: true,
});

log("starting a private control plane…");
const cluster = await startTestCluster({ name: "ballast-bench" });
const client = await KubeClient.fromKubeconfig(cluster.kubeconfig, {
  fieldManager: "bench-driver",
  rateLimit: false,
});

function startController(impl: Impl, namespace: string): Child {
  const flags = [
    `--kubeconfig=${cluster.kubeconfig}`,
    `--namespace=${namespace}`,
    `--qps=${config.qps}`,
    `--burst=${config.burst}`,
    `--workers=${config.workers}`,
  ];
  if (sharedLimiter) flags.push("--shared-rate-limiter=true");
  return impl === "ballast"
    ? new Child(impl, process.execPath, [...nodeFlags, bundles.controller, ...flags])
    : new Child(impl, referenceBinary, ["-mode=controller", ...flags.map((f) => f.slice(1))]);
}

/**
 * CPU seconds used so far by every process that shares the machine during
 * a figure: the controller, this driver, and each control-plane process.
 * On two cores they compete, so where the CPU went explains the latency.
 */
function cpuByProcess(controller: Child): Record<string, number> {
  const { user, system } = process.cpuUsage();
  const out: Record<string, number> = {
    controller: controller.cpuSeconds(),
    driver: (user + system) / 1e6,
  };
  for (const p of cluster.controlPlane.processes) out[p.name] = cpuSecondsOf(p.pid);
  return out;
}

function cpuSince(before: Record<string, number>, after: Record<string, number>) {
  return Object.fromEntries(
    Object.entries(after).map(([name, s]) => [name, round(s - (before[name] ?? 0), 2)]),
  );
}

async function createNamespace(name: string): Promise<void> {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

/**
 * Deletes a namespace and waits until it is gone, so that the next
 * measurement starts on a quiet control plane: left to itself, the namespace
 * controller deletes a thousand Widgets and ConfigMaps one by one, and the
 * API server's CPU that takes would be charged to whatever runs next.
 */
async function dropNamespace(name: string): Promise<void> {
  // Emptied by two collection deletes, not object by object.
  for (const type of [Widget, ConfigMap]) {
    await client.request({ method: "DELETE", path: await client.path(type, { namespace: name }) });
  }
  const namespace = { apiVersion: "v1", kind: "Namespace" };
  await client.delete(namespace, { name });
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(250)) {
    try {
      await client.get(namespace, { name });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
  }
  throw new Error(`namespace ${name} still exists 5 minutes after its deletion`);
}

function widget(namespace: string, name: string): Widget {
  return {
    apiVersion: Widget.apiVersion,
    kind: Widget.kind,
    metadata: { name, namespace },
    spec: { data: name.padEnd(64, ".") },
  } as Widget;
}

/**
 * Creates `count` Widgets and resolves with the seconds from the first
 * create until the last one is Ready, watched through an informer.
 */
async function createUntilReady(namespace: string, count: number): Promise<number> {
  const informer = new Informer<Widget>(client, Widget, { namespace });
  const ready = new Set<string>();
  const all = Promise.withResolvers<void>();
  const see = (w: Widget) => {
    if (w.status?.ready === true) ready.add(w.metadata.name ?? "");
    if (ready.size >= count) all.resolve();
  };
  informer.addEventHandler({ onAdd: see, onUpdate: (_, w) => see(w) });
  const stop = new AbortController();
  const running = informer.run(stop.signal).catch(() => {});
  await informer.waitForSync();
  const names = Array.from({ length: count }, (_, i) => `w-${String(i).padStart(5, "0")}`);
  const start = performance.now();
  await pool(names, 32, async (name) => {
    await client.create(widget(namespace, name));
  });
  const timeout = setTimeout(
    () => all.reject(new Error(`only ${ready.size}/${count} Widgets Ready after 10 minutes`)),
    600_000,
  );
  try {
    await all.promise;
  } finally {
    clearTimeout(timeout);
  }
  const seconds = (performance.now() - start) / 1000;
  stop.abort();
  await running;
  return seconds;
}

/** One Widget made Ready before the clock starts: the controller is proven live. */
async function warmUp(namespace: string): Promise<void> {
  const probe = `${namespace}-probe`;
  await client.create(widget(namespace, probe));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const w = await client.get<Widget>(Widget, { namespace, name: probe });
    if (w.status?.ready === true) return;
    if (Date.now() > deadline) throw new Error(`warm-up Widget ${probe} never became Ready`);
    await sleep(50);
  }
}

function stampPatch(stamp: string) {
  return { metadata: { annotations: { [stampAnnotation]: stamp } } };
}

interface F1F4Run {
  seconds: number;
  /** CPU seconds the controller process used while the Widgets became Ready. */
  cpuSeconds: number;
  /** The same for every process sharing the machine (control plane, driver). */
  cpu: Record<string, number>;
  /** API requests (all, and writes) the controller sent meanwhile. */
  requests: number;
  writes: number;
  noopWrites: number;
  noopReconciles: number;
  idlePerMin: number;
  idleWatches: number;
  idleLeases: number;
}

async function f1f4(impl: Impl, run: number): Promise<F1F4Run> {
  const namespace = `f1-${impl.replace("_", "-")}-${run}`;
  await createNamespace(namespace);
  const child = startController(impl, namespace);
  try {
    await child.waitFor("READY");
    await warmUp(namespace);
    const cpuBefore = cpuByProcess(child);
    const sentBefore = await child.stats();
    const seconds = await createUntilReady(namespace, config.widgets);
    const cpu = cpuSince(cpuBefore, cpuByProcess(child));
    const sentAfter = await child.stats();

    // F4: a no-op reconcile per Widget (an annotation change bumps no generation).
    await sleep(2000);
    const before = await child.stats();
    const seen = child.latencies.length;
    const names = Array.from(
      { length: config.widgets },
      (_, i) => `w-${String(i).padStart(5, "0")}`,
    );
    await pool(names, 32, async (name) => {
      await client.patch(Widget, { namespace, name }, stampPatch(wallMs().toFixed(3)));
    });
    const deadline = Date.now() + 120_000;
    while (child.latencies.length - seen < config.widgets && Date.now() < deadline) await sleep(50);
    await sleep(2000);
    const after = await child.stats();

    await sleep(config.idleSeconds * 1000);
    const idle = await child.stats();
    const minutes = config.idleSeconds / 60;
    const idleOther =
      idle.total - after.total - (idle.watches - after.watches) - (idle.leases - after.leases);
    return {
      seconds,
      cpuSeconds: cpu.controller ?? Number.NaN,
      cpu,
      requests: sentAfter.total - sentBefore.total,
      writes: sentAfter.writes - sentBefore.writes,
      noopWrites: after.writes - before.writes,
      noopReconciles: child.latencies.length - seen,
      idlePerMin: minutes > 0 ? idleOther / minutes : 0,
      idleWatches: idle.watches - after.watches,
      idleLeases: idle.leases - after.leases,
    };
  } finally {
    await child.stop();
    await dropNamespace(namespace);
  }
}

interface F3Run {
  /** From the moment the write was sent. */
  p50: number;
  p99: number;
  /** From the moment the API server answered the write (negative: the reconcile started first). */
  ackP50: number;
  ackP99: number;
  /** From the watch event's arrival in the controller to its reconcile: the runtime's own share. */
  ownP50?: number;
  ownP99?: number;
  sent: number;
  seen: number;
  rate: number;
  /** CPU seconds each process used while the updates were sent, and that window's length. */
  cpu: Record<string, number>;
  windowSeconds: number;
}

async function f3(impl: Impl, run: number, rate: number): Promise<F3Run> {
  const namespace = `f3-${impl.replace("_", "-")}-${rate}-${run}`;
  await createNamespace(namespace);
  const child = startController(impl, namespace);
  try {
    await child.waitFor("READY");
    await warmUp(namespace);
    await createUntilReady(namespace, config.updateWidgets);
    await sleep(2000);
    const first = child.latencies.length;
    const total = Math.round(rate * config.updateSeconds);
    // Update k is due at k / rate seconds: a steady rate, not bursts. A fixed
    // set of writers sends them, each stamping its update just before sending,
    // so a driver that falls behind shows as a lower achieved rate, never as
    // latency the controller did not cause.
    let next = 0;
    // When the API server answered each write: splits the latency into the
    // write itself and what happens after it is stored (watch, cache, queue).
    const acked = new Map<string, number>();
    const cpuBefore = cpuByProcess(child);
    const start = performance.now();
    const writer = async () => {
      for (let k = next++; k < total; k = next++) {
        const wait = start + (k / rate) * 1000 - performance.now();
        if (wait > 1) await sleep(wait);
        const name = `w-${String(k % config.updateWidgets).padStart(5, "0")}`;
        const stamp = wallMs().toFixed(3);
        try {
          await client.patch(Widget, { namespace, name }, stampPatch(stamp));
          acked.set(stamp, wallMs());
        } catch (error) {
          log(`update failed: ${String(error)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: config.updateWriters }, writer));
    const windowSeconds = (performance.now() - start) / 1000;
    const cpu = cpuSince(cpuBefore, cpuByProcess(child));
    const achieved = total / windowSeconds;
    const deadline = Date.now() + 30_000;
    while (child.latencies.length - first < total && Date.now() < deadline) await sleep(50);
    await sleep(1000);
    const seen = child.latencies.slice(first);
    const latencies = seen.map((l) => l.started - Number(l.stamp));
    const afterAck = seen.flatMap((l) => {
      const at = acked.get(l.stamp);
      return at === undefined ? [] : [l.started - at];
    });
    const own = seen.flatMap((l) => (l.arrived === undefined ? [] : [l.started - l.arrived]));
    return {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      ackP50: quantile(afterAck, 0.5),
      ackP99: quantile(afterAck, 0.99),
      ...(own.length > 0 ? { ownP50: quantile(own, 0.5), ownP99: quantile(own, 0.99) } : {}),
      sent: total,
      seen: latencies.length,
      rate: achieved,
      cpu,
      windowSeconds,
    };
  } finally {
    await child.stop();
    await dropNamespace(namespace);
  }
}

type Holder = "ballast" | "controller_runtime" | "client_node" | "client_node_unbundled";
const holders: readonly Holder[] = [
  "ballast",
  "controller_runtime",
  "client_node",
  "client_node_unbundled",
];
type Rss = { total: number; anon: number; file: number };

function cacheHolder(holder: Holder, namespace: string): Child {
  const flags = [`--kubeconfig=${cluster.kubeconfig}`, `--namespace=${namespace}`];
  switch (holder) {
    case "controller_runtime":
      return new Child(holder, referenceBinary, ["-mode=cache", ...flags.map((f) => f.slice(1))]);
    case "ballast":
      return new Child(holder, process.execPath, [
        ...nodeFlags,
        "--expose-gc",
        bundles.cacheBallast,
        ...flags,
      ]);
    case "client_node":
      return new Child(holder, process.execPath, [
        ...nodeFlags,
        "--expose-gc",
        bundles.cacheClientNode,
        ...flags,
      ]);
    case "client_node_unbundled":
      return new Child(holder, process.execPath, [
        "--expose-gc",
        bundles.cacheClientNodeUnbundled,
        ...flags,
      ]);
  }
}

/** Steady RSS of a cache holder once it holds `expected` ConfigMaps of `namespace`. */
async function f2(holder: Holder, namespace: string, expected: number): Promise<Rss> {
  const child = cacheHolder(holder, namespace);
  try {
    await child.waitFor("READY", 300_000);
    if (child.synced !== expected) {
      throw new Error(`${holder} cached ${child.synced} ConfigMaps, expected ${expected}`);
    }
    // Steady state: the highest of the last samples once start-up garbage is gone.
    await sleep(config.settleMs);
    const samples: Rss[] = [];
    for (let i = 0; i < 3; i++) {
      samples.push(child.rssMiB());
      await sleep(500);
    }
    return samples.reduce((a, b) => (b.total > a.total ? b : a));
  } finally {
    await child.stop();
  }
}

try {
  log(`installing the Widget CRD; config ${JSON.stringify(config)}`);
  await installCrds(client, [Widget]);

  const f1Runs: Record<Impl, F1F4Run[]> = { ballast: [], controller_runtime: [] };
  const f3Runs: Record<Impl, F3Run[]> = { ballast: [], controller_runtime: [] };
  const f3Unsaturated: Record<Impl, F3Run[]> = { ballast: [], controller_runtime: [] };
  const f2Runs: Record<Holder, { full: Rss; empty: Rss }[]> = {
    ballast: [],
    controller_runtime: [],
    client_node: [],
    client_node_unbundled: [],
  };

  for (let run = 0; run < config.runs && (only.has("F1") || only.has("F4")); run++) {
    for (const impl of order(impls, run)) {
      log(`F1+F4 run ${run + 1}/${config.runs}: ${impl}`);
      const result = await f1f4(impl, run);
      log(`  ${JSON.stringify(result)}`);
      f1Runs[impl].push(result);
    }
  }
  for (let run = 0; run < config.runs && only.has("F3"); run++) {
    for (const impl of order(impls, run)) {
      log(`F3 run ${run + 1}/${config.runs}: ${impl} at ${config.updateRate}/s`);
      const result = await f3(impl, run, config.updateRate);
      log(`  ${JSON.stringify(result)}`);
      f3Runs[impl].push(result);
      if (config.unsaturatedRate > 0) {
        log(`F3 run ${run + 1}/${config.runs}: ${impl} at ${config.unsaturatedRate}/s`);
        const unsaturated = await f3(impl, run, config.unsaturatedRate);
        log(`  ${JSON.stringify(unsaturated)}`);
        f3Unsaturated[impl].push(unsaturated);
      }
    }
  }

  if (only.has("F2")) {
    log(`F2: creating ${config.configMaps} ConfigMaps of ~${config.configMapBytes} bytes…`);
    const f2Namespace = "f2";
    await createNamespace(f2Namespace);
    const names = Array.from(
      { length: config.configMaps },
      (_, i) => `cm-${String(i).padStart(6, "0")}`,
    );
    await pool(names, 64, async (name) => {
      // Distinct content per object, so no implementation can share strings between them.
      const data = `${name}:`.padEnd(
        config.configMapBytes,
        String.fromCharCode(97 + (name.length % 26)),
      );
      await client.create({
        ...ConfigMap,
        metadata: { name, namespace: f2Namespace },
        data: { data },
      });
    });
    // The same process on a namespace holding only kube-root-ca.crt: what
    // it costs before it caches anything, so the cache's own cost shows.
    const emptyNamespace = "f2-empty";
    await createNamespace(emptyNamespace);
    const show = (m: Rss) =>
      `${round(m.total, 1)} MiB (anon ${round(m.anon, 1)}, file ${round(m.file, 1)})`;
    for (let run = 0; run < config.runs; run++) {
      for (const holder of order(holders, run)) {
        log(`F2 run ${run + 1}/${config.runs}: ${holder}`);
        // Every namespace also holds kube-root-ca.crt.
        const full = await f2(holder, f2Namespace, config.configMaps + 1);
        const empty = await f2(holder, emptyNamespace, 1);
        log(`  ${show(full)}; empty ${show(empty)}`);
        f2Runs[holder].push({ full, empty });
      }
    }
  }

  type F1F4Figure = Exclude<keyof F1F4Run, "cpu">;
  const pick = (runs: F1F4Run[], field: F1F4Figure) => spread(runs.map((r) => r[field]));
  const f1 = {
    ballast: pick(f1Runs.ballast, "seconds"),
    cr: pick(f1Runs.controller_runtime, "seconds"),
    ballastCpu: pick(f1Runs.ballast, "cpuSeconds"),
    crCpu: pick(f1Runs.controller_runtime, "cpuSeconds"),
  };
  const f1Ratios = spread(
    f1Runs.ballast.map((r, i) => r.seconds / (f1Runs.controller_runtime[i]?.seconds ?? Number.NaN)),
  );
  const f2Of = (holder: Holder) => {
    const runs = f2Runs[holder];
    return {
      total: spread(runs.map((m) => m.full.total)),
      anon: spread(runs.map((m) => m.full.anon)),
      file: spread(runs.map((m) => m.full.file)),
      empty: spread(runs.map((m) => m.empty.total)),
      cache: spread(runs.map((m) => m.full.total - m.empty.total)),
    };
  };
  const f2all = {
    ballast: f2Of("ballast"),
    cr: f2Of("controller_runtime"),
    clientNode: f2Of("client_node"),
    clientNodeUnbundled: f2Of("client_node_unbundled"),
  };
  const f2s = {
    ballast: f2all.ballast.total,
    cr: f2all.cr.total,
    clientNode: f2all.clientNode.total,
  };
  const f3s = {
    p50: spread(f3Runs.ballast.map((r) => r.p50)),
    p99: spread(f3Runs.ballast.map((r) => r.p99)),
    crP50: spread(f3Runs.controller_runtime.map((r) => r.p50)),
    crP99: spread(f3Runs.controller_runtime.map((r) => r.p99)),
    ackP50: spread(f3Runs.ballast.map((r) => r.ackP50)),
    ackP99: spread(f3Runs.ballast.map((r) => r.ackP99)),
    crAckP50: spread(f3Runs.controller_runtime.map((r) => r.ackP50)),
    crAckP99: spread(f3Runs.controller_runtime.map((r) => r.ackP99)),
    ownP50: spread(f3Runs.ballast.map((r) => r.ownP50 ?? Number.NaN)),
    ownP99: spread(f3Runs.ballast.map((r) => r.ownP99 ?? Number.NaN)),
    rate: spread([...f3Runs.ballast, ...f3Runs.controller_runtime].map((r) => r.rate)),
  };
  // Per process, the median over runs of its CPU seconds, divided by `per`
  // (the window's length, for cores kept busy).
  const medianByProcess = <R extends { cpu: Record<string, number> }>(
    runs: R[],
    per: (run: R) => number = () => 1,
  ): Record<string, number> => {
    const names = [...new Set(runs.flatMap((r) => Object.keys(r.cpu)))];
    const of = (r: R, name: string) => (r.cpu[name] ?? 0) / per(r);
    const total = spread(runs.map((r) => names.reduce((sum, name) => sum + of(r, name), 0)));
    return {
      ...Object.fromEntries(
        names.map((name) => [name, round(spread(runs.map((r) => of(r, name))).median, 2)]),
      ),
      total: round(total.median, 2),
    };
  };
  const coresOf = (runs: F3Run[]) => medianByProcess(runs, (r) => r.windowSeconds);
  const cpuOf = (runs: F1F4Run[]) => medianByProcess(runs);
  const f3Cores = { ballast: coresOf(f3Runs.ballast), cr: coresOf(f3Runs.controller_runtime) };
  const f1Cpu = { ballast: cpuOf(f1Runs.ballast), cr: cpuOf(f1Runs.controller_runtime) };
  const f3u = {
    p50: spread(f3Unsaturated.ballast.map((r) => r.p50)),
    p99: spread(f3Unsaturated.ballast.map((r) => r.p99)),
    crP50: spread(f3Unsaturated.controller_runtime.map((r) => r.p50)),
    crP99: spread(f3Unsaturated.controller_runtime.map((r) => r.p99)),
    rate: spread(
      [...f3Unsaturated.ballast, ...f3Unsaturated.controller_runtime].map((r) => r.rate),
    ),
    cores: {
      ballast: coresOf(f3Unsaturated.ballast),
      cr: coresOf(f3Unsaturated.controller_runtime),
    },
  };
  const showByProcess = (cores: Record<string, number>) =>
    ["kube-apiserver", "etcd", "kube-controller-manager", "controller", "driver", "total"]
      .filter((name) => cores[name] !== undefined)
      .map((name) => `${name} ${cores[name]?.toFixed(2)}`)
      .join(", ");
  const f4 = {
    noop: pick(f1Runs.ballast, "noopWrites"),
    idle: pick(f1Runs.ballast, "idlePerMin"),
    crNoop: pick(f1Runs.controller_runtime, "noopWrites"),
    crIdle: pick(f1Runs.controller_runtime, "idlePerMin"),
  };
  const r = (s: Spread, digits = 3) => ({
    min: round(s.min, digits),
    median: round(s.median, digits),
    max: round(s.max, digits),
  });

  const results = {
    machine: machine(),
    date: new Date().toISOString(),
    config: { ...config, sharedLimiter },
    F1: {
      ballast_s: round(f1.ballast.median),
      controller_runtime_s: round(f1.cr.median),
      ratio: round(f1.ballast.median / f1.cr.median),
      // CPU the controller itself used meanwhile: on two cores it competes
      // with the API server and etcd, so it shows in the seconds above.
      ballast_cpu_s: round(f1.ballastCpu.median),
      controller_runtime_cpu_s: round(f1.crCpu.median),
      // Every process's CPU seconds over the same window.
      cpu_s_by_process: { ballast: f1Cpu.ballast, controller_runtime: f1Cpu.cr },
      spread: {
        ballast_s: r(f1.ballast),
        controller_runtime_s: r(f1.cr),
        paired_ratio: r(f1Ratios),
      },
    },
    F2: {
      ballast_mb: round(f2s.ballast.median, 1),
      controller_runtime_mb: round(f2s.cr.median, 1),
      client_node_mb: round(f2s.clientNode.median, 1),
      ratio_to_controller_runtime: round(f2s.ballast.median / f2s.cr.median),
      ratio_to_client_node: round(f2s.ballast.median / f2s.clientNode.median),
      client_node_unbundled_mb: round(f2all.clientNodeUnbundled.total.median, 1),
      ratio_to_client_node_unbundled: round(
        f2s.ballast.median / f2all.clientNodeUnbundled.total.median,
      ),
      node_flags: nodeFlags,
      // Per holder, medians: anonymous and file-backed parts of the RSS, the
      // same process with an empty cache, and the difference (the cache's own cost).
      breakdown: Object.fromEntries(
        holders
          .map((holder) => [holder, f2Of(holder)] as const)
          .map(([holder, f]) => [
            holder,
            {
              anon_mb: round(f.anon.median, 1),
              file_mb: round(f.file.median, 1),
              empty_cache_mb: round(f.empty.median, 1),
              cache_cost_mb: round(f.cache.median, 1),
            },
          ]),
      ),
      spread: {
        ballast_mb: r(f2s.ballast, 1),
        controller_runtime_mb: r(f2s.cr, 1),
        client_node_mb: r(f2s.clientNode, 1),
        client_node_unbundled_mb: r(f2all.clientNodeUnbundled.total, 1),
      },
    },
    F3: {
      p50_ms: round(f3s.p50.median, 2),
      p99_ms: round(f3s.p99.median, 2),
      achieved_updates_per_s: round(f3s.rate.median, 1),
      from_write_acknowledged: {
        ballast_p50_ms: round(f3s.ackP50.median, 2),
        ballast_p99_ms: round(f3s.ackP99.median, 2),
        controller_runtime_p50_ms: round(f3s.crAckP50.median, 2),
        controller_runtime_p99_ms: round(f3s.crAckP99.median, 2),
      },
      from_event_arrival: {
        ballast_p50_ms: round(f3s.ownP50.median, 2),
        ballast_p99_ms: round(f3s.ownP99.median, 2),
      },
      controller_runtime_p50_ms: round(f3s.crP50.median, 2),
      controller_runtime_p99_ms: round(f3s.crP99.median, 2),
      // CPU cores each process kept busy while the updates were sent.
      cores_busy: { ballast: f3Cores.ballast, controller_runtime: f3Cores.cr },
      // The same measurement at a rate the API server keeps up with here.
      unsaturated: {
        asked_updates_per_s: config.unsaturatedRate,
        achieved_updates_per_s: round(f3u.rate.median, 1),
        ballast_p50_ms: round(f3u.p50.median, 2),
        ballast_p99_ms: round(f3u.p99.median, 2),
        controller_runtime_p50_ms: round(f3u.crP50.median, 2),
        controller_runtime_p99_ms: round(f3u.crP99.median, 2),
        cores_busy: { ballast: f3u.cores.ballast, controller_runtime: f3u.cores.cr },
        runs: f3Unsaturated,
      },
      spread: {
        p50_ms: r(f3s.p50, 2),
        p99_ms: r(f3s.p99, 2),
        controller_runtime_p50_ms: r(f3s.crP50, 2),
        controller_runtime_p99_ms: r(f3s.crP99, 2),
      },
      runs: f3Runs,
    },
    F4: {
      noop_writes: f4.noop.median,
      idle_requests_per_min: round(f4.idle.median, 2),
      controller_runtime_noop_writes: f4.crNoop.median,
      controller_runtime_idle_requests_per_min: round(f4.crIdle.median, 2),
      spread: { noop_writes: r(f4.noop), idle_requests_per_min: r(f4.idle, 2) },
      runs: f1Runs,
    },
  };
  if (!everything) {
    log(`BENCH_ONLY=${[...only].join(",")}: results not written`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    writeFileSync(join(benchDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  }

  const goal = (ok: boolean) => (ok ? "met" : "**missed**");
  const fmt = (s: Spread, digits: number) =>
    `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  const table = [
    `Machine: ${results.machine}. Measured ${results.date.slice(0, 16).replace("T", " ")} UTC, ${config.runs} runs each; median (min–max).`,
    "",
    "| Figure | Ballast | controller-runtime | client-node | Ratio | Goal |",
    "| --- | --- | --- | --- | --- | --- |",
    `| F1: ${config.widgets} Widgets to Ready (s) | ${fmt(f1.ballast, 2)} | ${fmt(f1.cr, 2)} | | ${results.F1.ratio.toFixed(2)}× (paired runs: ${f1Ratios.median.toFixed(2)}×) | ≤ 1.0×: ${goal(results.F1.ratio <= 1)} |`,
    `| F1: CPU the controller used meanwhile (s) | ${fmt(f1.ballastCpu, 2)} | ${fmt(f1.crCpu, 2)} | | ${(f1.ballastCpu.median / f1.crCpu.median).toFixed(2)}× | |`,
    `| F1: CPU seconds by process meanwhile | ${showByProcess(f1Cpu.ballast)} | ${showByProcess(f1Cpu.cr)} | | | |`,
    `| F2: RSS holding ${config.configMaps} ConfigMaps (MiB) | ${fmt(f2s.ballast, 1)} | ${fmt(f2s.cr, 1)} | ${fmt(f2s.clientNode, 1)} | ${results.F2.ratio_to_controller_runtime.toFixed(2)}× / ${results.F2.ratio_to_client_node.toFixed(2)}× | ≤ 1.2× CR: ${goal(results.F2.ratio_to_controller_runtime <= 1.2)}; ≤ 0.5× client-node: ${goal(results.F2.ratio_to_client_node <= 0.5)} |`,
    `| F2: … of which anonymous / file-backed (MiB) | ${f2all.ballast.anon.median.toFixed(1)} / ${f2all.ballast.file.median.toFixed(1)} | ${f2all.cr.anon.median.toFixed(1)} / ${f2all.cr.file.median.toFixed(1)} | ${f2all.clientNode.anon.median.toFixed(1)} / ${f2all.clientNode.file.median.toFixed(1)} | | |`,
    `| F2: the same process with an empty cache (MiB) | ${fmt(f2all.ballast.empty, 1)} | ${fmt(f2all.cr.empty, 1)} | ${fmt(f2all.clientNode.empty, 1)} | | |`,
    `| F2: the cache's own cost, full − empty (MiB) | ${fmt(f2all.ballast.cache, 1)} | ${fmt(f2all.cr.cache, 1)} | ${fmt(f2all.clientNode.cache, 1)} | ${(f2all.ballast.cache.median / f2all.cr.cache.median).toFixed(2)}× / ${(f2all.ballast.cache.median / f2all.clientNode.cache.median).toFixed(2)}× | |`,
    `| F2: client-node as most projects run it (unbundled, Node's defaults): full / empty (MiB) | | | ${fmt(f2all.clientNodeUnbundled.total, 1)} / ${f2all.clientNodeUnbundled.empty.median.toFixed(1)} | ${results.F2.ratio_to_client_node_unbundled.toFixed(2)}× | |`,
    `| F3: update → reconcile p50 at ${config.updateRate}/s asked, ${f3s.rate.median.toFixed(0)}/s achieved (ms) | ${fmt(f3s.p50, 2)} | ${fmt(f3s.crP50, 2)} | | | |`,
    `| F3: update → reconcile p99, same load (ms) | ${fmt(f3s.p99, 2)} | ${fmt(f3s.crP99, 2)} | | | ≤ 50 ms: ${goal(results.F3.p99_ms <= 50)} |`,
    `| F3: p50 / p99 counted from the write's answer instead (ms) | ${f3s.ackP50.median.toFixed(2)} / ${f3s.ackP99.median.toFixed(2)} | ${f3s.crAckP50.median.toFixed(2)} / ${f3s.crAckP99.median.toFixed(2)} | | | |`,
    `| F3: p50 / p99 from the watch event's arrival in the process: the runtime's own share (ms) | ${f3s.ownP50.median.toFixed(2)} / ${f3s.ownP99.median.toFixed(2)} | | | | |`,
    `| F3: CPU cores busy while updating, of ${availableParallelism()} | ${showByProcess(f3Cores.ballast)} | ${showByProcess(f3Cores.cr)} | | | |`,
    ...(config.unsaturatedRate > 0
      ? [
          `| F3 below saturation: p50 / p99 at ${config.unsaturatedRate}/s (ms) | ${fmt(f3u.p50, 2)} / ${fmt(f3u.p99, 2)} | ${fmt(f3u.crP50, 2)} / ${fmt(f3u.crP99, 2)} | | | |`,
          `| F3 below saturation: CPU cores busy | ${showByProcess(f3u.cores.ballast)} | ${showByProcess(f3u.cores.cr)} | | | |`,
        ]
      : []),
    `| F4: writes by ${config.widgets} no-op reconciles | ${fmt(f4.noop, 0)} | ${fmt(f4.crNoop, 0)} | | | 0: ${goal(f4.noop.max === 0)} |`,
    `| F4: idle requests/min (besides watches, leases) | ${fmt(f4.idle, 1)} | ${fmt(f4.crIdle, 1)} | | | 0: ${goal(f4.idle.max === 0)} |`,
  ].join("\n");
  process.stdout.write(`${table}\n`);

  const readmePath = join(benchDir, "README.md");
  const readme = readFileSync(readmePath, "utf8");
  const start = "<!-- results:start -->";
  const end = "<!-- results:end -->";
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (everything && from >= 0 && to > from) {
    writeFileSync(
      readmePath,
      `${readme.slice(0, from + start.length)}\n${table}\n${readme.slice(to)}`,
    );
  }
} finally {
  client.close();
  await cluster.stop();
}
