/**
 * `npm run bench`: Ballast's runtime against controller-runtime, side by
 * side, in one run, on one private local control plane. See bench/README.md
 * for what each figure means and how it is measured; this file only drives
 * the children, collects their numbers and writes bench/results.json and the
 * README's table.
 *
 * Sizes come from the environment (defaults are the issue's):
 * BENCH_RUNS=3 BENCH_WIDGETS=1000 BENCH_CONFIGMAPS=10000 BENCH_CONFIGMAP_BYTES=1024
 * BENCH_QPS=200 BENCH_BURST=300 BENCH_WORKERS=4 BENCH_UPDATE_RATE=500
 * BENCH_UPDATE_SECONDS=10 BENCH_UPDATE_WIDGETS=500 BENCH_IDLE_SECONDS=30
 * BENCH_SETTLE_MS=5000 BENCH_UPDATE_WRITERS=16.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestCluster } from "@ballast/dev/testkit";
import { Informer, installCrds, KubeClient } from "@ballast/runtime";
import { Child } from "./_child.ts";
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
  runs: envNumber("BENCH_RUNS", 3),
  widgets: envNumber("BENCH_WIDGETS", 1000),
  configMaps: envNumber("BENCH_CONFIGMAPS", 10_000),
  configMapBytes: envNumber("BENCH_CONFIGMAP_BYTES", 1024),
  qps: envNumber("BENCH_QPS", 200),
  burst: envNumber("BENCH_BURST", 300),
  workers: envNumber("BENCH_WORKERS", 4),
  updateRate: envNumber("BENCH_UPDATE_RATE", 500),
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
  return impl === "ballast"
    ? new Child(impl, process.execPath, [join(benchDir, "ballast-controller.ts"), ...flags])
    : new Child(impl, referenceBinary, [
        "-mode=controller",
        ...(sharedLimiter ? ["-shared-rate-limiter=true"] : []),
        ...flags.map((f) => f.slice(1)),
      ]);
}

async function createNamespace(name: string): Promise<void> {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

/** Deletion is left to the namespace controller; nothing waits for it. */
function dropNamespace(name: string): void {
  client.delete({ apiVersion: "v1", kind: "Namespace" }, { name }).catch(() => {});
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
    const seconds = await createUntilReady(namespace, config.widgets);

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
      noopWrites: after.writes - before.writes,
      noopReconciles: child.latencies.length - seen,
      idlePerMin: minutes > 0 ? idleOther / minutes : 0,
      idleWatches: idle.watches - after.watches,
      idleLeases: idle.leases - after.leases,
    };
  } finally {
    await child.stop();
    dropNamespace(namespace);
  }
}

interface F3Run {
  /** From the moment the write was sent. */
  p50: number;
  p99: number;
  /** From the moment the API server answered the write (negative: the reconcile started first). */
  ackP50: number;
  ackP99: number;
  sent: number;
  seen: number;
  rate: number;
}

async function f3(impl: Impl, run: number): Promise<F3Run> {
  const namespace = `f3-${impl.replace("_", "-")}-${run}`;
  await createNamespace(namespace);
  const child = startController(impl, namespace);
  try {
    await child.waitFor("READY");
    await warmUp(namespace);
    await createUntilReady(namespace, config.updateWidgets);
    await sleep(2000);
    const first = child.latencies.length;
    const total = Math.round(config.updateRate * config.updateSeconds);
    // Update k is due at k / rate seconds: a steady rate, not bursts. A fixed
    // set of writers sends them, each stamping its update just before sending,
    // so a driver that falls behind shows as a lower achieved rate, never as
    // latency the controller did not cause.
    let next = 0;
    // When the API server answered each write: splits the latency into the
    // write itself and what happens after it is stored (watch, cache, queue).
    const acked = new Map<string, number>();
    const start = performance.now();
    const writer = async () => {
      for (let k = next++; k < total; k = next++) {
        const wait = start + (k / config.updateRate) * 1000 - performance.now();
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
    const rate = total / ((performance.now() - start) / 1000);
    const deadline = Date.now() + 30_000;
    while (child.latencies.length - first < total && Date.now() < deadline) await sleep(50);
    await sleep(1000);
    const seen = child.latencies.slice(first);
    const latencies = seen.map((l) => l.started - Number(l.stamp));
    const afterAck = seen.flatMap((l) => {
      const at = acked.get(l.stamp);
      return at === undefined ? [] : [l.started - at];
    });
    return {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      ackP50: quantile(afterAck, 0.5),
      ackP99: quantile(afterAck, 0.99),
      sent: total,
      seen: latencies.length,
      rate,
    };
  } finally {
    await child.stop();
    dropNamespace(namespace);
  }
}

type Holder = "ballast" | "controller_runtime" | "client_node";
const holders: readonly Holder[] = ["ballast", "controller_runtime", "client_node"];

async function f2(holder: Holder, namespace: string): Promise<number> {
  const flags = [`--kubeconfig=${cluster.kubeconfig}`, `--namespace=${namespace}`];
  const child =
    holder === "controller_runtime"
      ? new Child(holder, referenceBinary, ["-mode=cache", ...flags.map((f) => f.slice(1))])
      : new Child(holder, process.execPath, [
          "--expose-gc",
          join(benchDir, holder === "ballast" ? "cache-ballast.ts" : "cache-client-node.ts"),
          ...flags,
        ]);
  try {
    await child.waitFor("READY", 300_000);
    // Every namespace also holds kube-root-ca.crt.
    if (child.synced !== config.configMaps + 1) {
      throw new Error(
        `${holder} cached ${child.synced} ConfigMaps, expected ${config.configMaps + 1}`,
      );
    }
    // Steady state: the highest of the last samples once start-up garbage is gone.
    await sleep(config.settleMs);
    const samples: number[] = [];
    for (let i = 0; i < 3; i++) {
      samples.push(child.rssMiB());
      await sleep(500);
    }
    return Math.max(...samples);
  } finally {
    await child.stop();
  }
}

try {
  log(`installing the Widget CRD; config ${JSON.stringify(config)}`);
  await installCrds(client, [Widget]);

  const f1Runs: Record<Impl, F1F4Run[]> = { ballast: [], controller_runtime: [] };
  const f3Runs: Record<Impl, F3Run[]> = { ballast: [], controller_runtime: [] };
  const f2Runs: Record<Holder, number[]> = { ballast: [], controller_runtime: [], client_node: [] };

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
      log(`F3 run ${run + 1}/${config.runs}: ${impl}`);
      const result = await f3(impl, run);
      log(`  ${JSON.stringify(result)}`);
      f3Runs[impl].push(result);
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
    for (let run = 0; run < config.runs; run++) {
      for (const holder of order(holders, run)) {
        log(`F2 run ${run + 1}/${config.runs}: ${holder}`);
        const mib = await f2(holder, f2Namespace);
        log(`  ${round(mib, 1)} MiB`);
        f2Runs[holder].push(mib);
      }
    }
  }

  const pick = (runs: F1F4Run[], field: keyof F1F4Run) => spread(runs.map((r) => r[field]));
  const f1 = {
    ballast: pick(f1Runs.ballast, "seconds"),
    cr: pick(f1Runs.controller_runtime, "seconds"),
  };
  const f1Ratios = spread(
    f1Runs.ballast.map((r, i) => r.seconds / (f1Runs.controller_runtime[i]?.seconds ?? Number.NaN)),
  );
  const f2s = {
    ballast: spread(f2Runs.ballast),
    cr: spread(f2Runs.controller_runtime),
    clientNode: spread(f2Runs.client_node),
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
    rate: spread([...f3Runs.ballast, ...f3Runs.controller_runtime].map((r) => r.rate)),
  };
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
      spread: {
        ballast_mb: r(f2s.ballast, 1),
        controller_runtime_mb: r(f2s.cr, 1),
        client_node_mb: r(f2s.clientNode, 1),
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
      controller_runtime_p50_ms: round(f3s.crP50.median, 2),
      controller_runtime_p99_ms: round(f3s.crP99.median, 2),
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
    `| F1: ${config.widgets} Widgets to Ready (s) | ${fmt(f1.ballast, 2)} | ${fmt(f1.cr, 2)} | | ${results.F1.ratio.toFixed(2)}× | ≤ 1.0×: ${goal(results.F1.ratio <= 1)} |`,
    `| F2: RSS holding ${config.configMaps} ConfigMaps (MiB) | ${fmt(f2s.ballast, 1)} | ${fmt(f2s.cr, 1)} | ${fmt(f2s.clientNode, 1)} | ${results.F2.ratio_to_controller_runtime.toFixed(2)}× / ${results.F2.ratio_to_client_node.toFixed(2)}× | ≤ 1.2× CR: ${goal(results.F2.ratio_to_controller_runtime <= 1.2)}; ≤ 0.5× client-node: ${goal(results.F2.ratio_to_client_node <= 0.5)} |`,
    `| F3: update → reconcile p50 at ${config.updateRate}/s asked, ${f3s.rate.median.toFixed(0)}/s achieved (ms) | ${fmt(f3s.p50, 2)} | ${fmt(f3s.crP50, 2)} | | | |`,
    `| F3: update → reconcile p99, same load (ms) | ${fmt(f3s.p99, 2)} | ${fmt(f3s.crP99, 2)} | | | ≤ 50 ms: ${goal(results.F3.p99_ms <= 50)} |`,
    `| F3: p50 / p99 counted from the write's answer instead (ms) | ${f3s.ackP50.median.toFixed(2)} / ${f3s.ackP99.median.toFixed(2)} | ${f3s.crAckP50.median.toFixed(2)} / ${f3s.crAckP99.median.toFixed(2)} | | | |`,
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
