/**
 * R3 — RedisCluster reshard throughput: keys (and slots) moved per second
 * by the operator's slot mover, `RedisClusterAdmin.moveSlots`, against
 * `redis-cli --cluster reshard`, on the same data, in the same run.
 *
 * Each measurement gets a cluster of its own, started fresh: four
 * redis-server processes (Debian's 7.0.15, `cluster-enabled yes`, no
 * replicas, a password, no persistence) each on its own loopback address
 * (127.78.n.x), three masters holding 0–5461, 5462–10922, 10923–16383 and
 * a fourth master with no slots, as a scale-out has just added it.
 * `BENCH_RESHARD_KEYS` keys of `BENCH_RESHARD_VALUE_BYTES` are loaded,
 * spread over every slot by their names (the same names and values for
 * every measurement of a run, new ones the next run); once
 * `redis-cli --cluster check` passes, the first `BENCH_RESHARD_SLOTS` slots
 * of master 0 (the ones redis-cli itself picks: a source's lowest) move to
 * the new master, and the clock runs for the move alone:
 *
 * - **Ballast**: one `moveSlots` call (its connections opened inside it),
 *   batch `BENCH_RESHARD_BATCH` (its default, 1000);
 * - **redis-cli**: the process, from spawn to exit, with
 *   `--cluster-pipeline P` for each P of `BENCH_RESHARD_PIPELINES` (10 is
 *   redis-cli's default); its start (connect to every node, `CLUSTER
 *   NODES`, the cluster check) is inside the clock: a separate
 *   `--cluster check` is timed too, to show that share.
 *
 * Who goes first rotates from one run to the next. After every move the
 * bench checks, on every node, that the moved slots belong to the new
 * master and no slot is left marked, and reads every key back from the
 * node that now owns its slot: it throws if one is missing, has another
 * value, or is held twice.
 *
 *   node bench/redis-reshard.ts   BENCH_RUNS=5 BENCH_RESHARD_KEYS=200000 BENCH_RESHARD_VALUE_BYTES=100
 *                                 BENCH_RESHARD_SLOTS=1820 BENCH_RESHARD_BATCH=1000
 *                                 BENCH_RESHARD_PIPELINES=10,1000 BENCH_ONLY=R3 (leaves results.json alone)
 *                                 BENCH_RESHARD_SLOTS_PER_ROUND (unset: the port's default, 64)
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eventually } from "@ballast/dev/testkit";
import { Redis } from "ioredis";
import { RedisClusterAdmin } from "../packages/operators/redis/src/admin/cluster-admin.ts";
import type {
  ClusterMemberAddress,
  ClusterNodeReport,
  SlotMove,
  SlotOwner,
} from "../packages/operators/redis/src/admin/cluster-port.ts";
import { round, type Spread, spread } from "./_stats.ts";

const only = process.env.BENCH_ONLY;
if (only && !only.split(",").includes("R3")) process.exit(0);

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name}=${raw} is not an integer ≥ 1`);
  return value;
}

const runs = envNumber("BENCH_RUNS", 5);
const keyCount = envNumber("BENCH_RESHARD_KEYS", 200_000);
const valueBytes = envNumber("BENCH_RESHARD_VALUE_BYTES", 100);
/** A third of master 0's 5462 slots. */
const slotCount = envNumber("BENCH_RESHARD_SLOTS", 1820);
const batch = envNumber("BENCH_RESHARD_BATCH", 1000);
const pipelines = (process.env.BENCH_RESHARD_PIPELINES ?? "10,1000")
  .split(",")
  .filter((p) => p !== "")
  .map((p) => Number(p));
if (pipelines.some((p) => !Number.isInteger(p) || p < 1))
  throw new Error(`BENCH_RESHARD_PIPELINES=${process.env.BENCH_RESHARD_PIPELINES}: integers ≥ 1`);
if (slotCount > 5462) throw new Error(`BENCH_RESHARD_SLOTS=${slotCount}: master 0 has 5462`);

const SLOTS = 16384;
const ranges: [number, number][] = [
  [0, 5461],
  [5462, 10922],
  [10923, 16383],
];
const password = `bench-${process.pid}-${Date.now()}`;
// One port for every node (each has its own address); the bus is port + 10000.
const port = 20_000 + (process.pid % 9000);
const run$ = promisify(execFile);
const log = (msg: string) => process.stderr.write(`[R3] ${msg}\n`);
/** Unset: the port's own default. */
const slotsPerRound = process.env.BENCH_RESHARD_SLOTS_PER_ROUND
  ? envNumber("BENCH_RESHARD_SLOTS_PER_ROUND", 64)
  : undefined;
// The operator's settings (operator.ts): the password, the rest defaults.
const admin = new RedisClusterAdmin({ password, ...(slotsPerRound ? { slotsPerRound } : {}) });
const scratch = mkdtempSync(join(tmpdir(), "ballast-bench-reshard-"));
let instances = 0;
const live = new Set<ChildProcess>();

// ───────────────────────────── data ─────────────────────────────

// CRC16-XMODEM, Redis Cluster's key hash (the keys have no `{tag}`).
const crcTable = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  crcTable[i] = c;
}
function keySlot(key: string): number {
  let crc = 0;
  for (let i = 0; i < key.length; i++)
    crc = ((crc << 8) & 0xffff) ^ (crcTable[((crc >> 8) ^ key.charCodeAt(i)) & 0xff] ?? 0);
  return crc & (SLOTS - 1);
}

interface DataSet {
  keys: string[];
  values: string[];
  slots: Uint16Array;
  /** Keys in the slots that move. */
  moving: number;
}

function dataSet(run: number, count = keyCount): DataSet {
  const keys: string[] = [];
  const values: string[] = [];
  const slots = new Uint16Array(count);
  let moving = 0;
  const filler = `run${run}-abcdefghijklmnopqrstuvwxyz0123456789`;
  for (let i = 0; i < count; i++) {
    const key = `r3:${run}:${i}`;
    keys.push(key);
    values.push(`${i}:`.padEnd(valueBytes, filler));
    const slot = keySlot(key);
    slots[i] = slot;
    if (slot < slotCount) moving++;
  }
  return { keys, values, slots, moving };
}

/** The master (0–3) that owns `slot` before the move, or after it. */
function ownerOf(slot: number, moved: boolean): number {
  if (moved && slot < slotCount) return 3;
  return ranges.findIndex(([a, b]) => a <= slot && slot <= b);
}

// ───────────────────────────── cluster ─────────────────────────────

class BenchCluster {
  readonly subnet: number;
  readonly dir: string;
  readonly children: ChildProcess[] = [];
  readonly nodeIds: string[] = [];

  private constructor(instance: number) {
    this.subnet = 100 + (instance % 150);
    this.dir = join(scratch, `c${instance}`);
  }

  address(id: number): ClusterMemberAddress {
    return { id, host: `127.78.${this.subnet}.${id + 10}`, port };
  }

  endpoint(id: number): string {
    return `${this.address(id).host}:${port}`;
  }

  owner(id: number): SlotOwner {
    const a = this.address(id);
    return { address: a, nodeId: this.nodeIds[id] ?? "", ip: a.host, port };
  }

  async report(id: number): Promise<ClusterNodeReport> {
    const r = await admin.node(this.address(id));
    if (!r.reachable) throw new Error(r.error.message);
    return r;
  }

  static async start(data: DataSet): Promise<BenchCluster> {
    const c = new BenchCluster(instances++);
    for (const id of [0, 1, 2, 3]) c.spawn(id);
    await eventually("four nodes answer", async () => {
      for (const id of [0, 1, 2, 3]) c.nodeIds[id] = (await c.report(id)).nodeId;
      return true;
    });
    for (const id of [1, 2, 3]) await admin.meet(c.address(0), c.address(id).host, port);
    for (const [i, r] of ranges.entries()) await admin.addSlots(c.address(i), [r]);
    await c.settled("formed");
    await c.load(data);
    await c.settled("loaded");
    return c;
  }

  private spawn(id: number): void {
    const d = join(this.dir, `n${id}`);
    mkdirSync(d, { recursive: true });
    const ip = this.address(id).host;
    const child = spawn(
      "redis-server",
      [
        ...["--port", String(port), "--bind", ip, "--dir", d, "--logfile", join(d, "redis.log")],
        ...["--cluster-enabled", "yes", "--cluster-config-file", join(d, "nodes.conf")],
        ...["--cluster-node-timeout", "5000", "--cluster-announce-ip", ip],
        ...["--save", "", "--appendonly", "no"],
        ...["--requirepass", password, "--masterauth", password],
      ],
      { stdio: "ignore" },
    );
    live.add(child);
    child.once("exit", () => live.delete(child));
    this.children.push(child);
  }

  /** Every node knows the four, agrees on every slot's owner, and redis-cli's own check passes. */
  async settled(what: string, moved = false): Promise<void> {
    await eventually(
      `the cluster ${what}, settled`,
      async () => {
        // Thrown, so a time-out says what was still missing.
        for (const id of [0, 1, 2, 3]) {
          const r = await this.report(id);
          if (!r.stateOk || r.nodes.length !== 4)
            throw new Error(`node ${id}: state ok ${r.stateOk}, knows ${r.nodes.length}`);
          for (const l of r.nodes) {
            const owner = this.nodeIds.indexOf(l.nodeId);
            if (!l.connected || l.unusable || !l.master)
              throw new Error(`node ${id} sees node ${owner} as ${l.flags.join(",")}`);
            const want = expectedRanges(owner, moved);
            if (JSON.stringify(l.slots) !== JSON.stringify(want))
              throw new Error(`node ${id} sees node ${owner} own ${JSON.stringify(l.slots)}`);
            if (l.myself && (l.migrating.length > 0 || l.importing.length > 0))
              throw new Error(`node ${id} has slots marked`);
          }
        }
        await this.cli(["--cluster", "check", this.endpoint(0)]);
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  async load(data: DataSet): Promise<void> {
    await Promise.all(
      [0, 1, 2].map(async (id) => {
        const c = this.client(id);
        try {
          let p = c.pipeline();
          let queued = 0;
          for (let i = 0; i < data.keys.length; i++) {
            if (ownerOf(data.slots[i] ?? 0, false) !== id) continue;
            p.set(data.keys[i] ?? "", data.values[i] ?? "");
            if (++queued === 1000) {
              failed(await p.exec(), `loading node ${id}`);
              p = c.pipeline();
              queued = 0;
            }
          }
          if (queued > 0) failed(await p.exec(), `loading node ${id}`);
        } finally {
          c.disconnect();
        }
      }),
    );
  }

  /**
   * After a move: every node says the first `slotCount` slots are the new
   * master's and the rest where they were (once: SETSLOT NODE was sent to
   * every master, none should need gossip); then every key is read back
   * from its slot's owner, and the keys are counted: none lost, none twice.
   */
  async verify(data: DataSet, who: string): Promise<void> {
    for (const id of [0, 1, 2, 3]) {
      const r = await this.report(id);
      for (const l of r.nodes) {
        const owner = this.nodeIds.indexOf(l.nodeId);
        const want = expectedRanges(owner, true);
        if (JSON.stringify(l.slots) !== JSON.stringify(want))
          throw new Error(
            `${who}: node ${id} says node ${owner} owns ${JSON.stringify(l.slots)}, not ${JSON.stringify(want)}`,
          );
        if (l.myself && (l.migrating.length > 0 || l.importing.length > 0))
          throw new Error(
            `${who}: node ${id} still marks slots ${JSON.stringify([...l.migrating, ...l.importing])}`,
          );
      }
    }
    let total = 0;
    const problems: string[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (id) => {
        const c = this.client(id);
        try {
          const held = Number(await c.dbsize());
          total += held;
          const mine: number[] = [];
          for (let i = 0; i < data.keys.length; i++)
            if (ownerOf(data.slots[i] ?? 0, true) === id) mine.push(i);
          for (let at = 0; at < mine.length; at += 1000) {
            const p = c.pipeline();
            const part = mine.slice(at, at + 1000);
            for (const i of part) p.get(data.keys[i] ?? "");
            const answers = (await p.exec()) ?? [];
            part.forEach((i, j) => {
              const [err, value] = answers[j] ?? [new Error("no answer"), null];
              if (err || value !== data.values[i])
                problems.push(
                  `${data.keys[i]} (slot ${data.slots[i]}) on node ${id}: ${err?.message ?? (value === null ? "missing" : "another value")}`,
                );
            });
          }
        } finally {
          c.disconnect();
        }
      }),
    );
    if (problems.length > 0)
      throw new Error(
        `${who} lost keys: ${problems.length}, e.g. ${problems.slice(0, 5).join("; ")}`,
      );
    if (total !== data.keys.length)
      throw new Error(`${who}: the nodes hold ${total} keys, ${data.keys.length} were loaded`);
  }

  client(id: number): Redis {
    const a = this.address(id);
    return new Redis({ host: a.host, port, password, maxRetriesPerRequest: 0 });
  }

  async cli(args: string[]): Promise<string> {
    const { stdout } = await run$("redis-cli", ["-a", password, "--no-auth-warning", ...args], {
      maxBuffer: 64 << 20,
    });
    return stdout;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function expectedRanges(owner: number, moved: boolean): [number, number][] {
  if (owner === 3) return moved ? [[0, slotCount - 1]] : [];
  const r = ranges[owner];
  if (!r) throw new Error(`node ${owner} is not one of the four`);
  if (owner === 0 && moved) return slotCount > r[1] ? [] : [[slotCount, r[1]]];
  return [r];
}

function failed(answers: [Error | null, unknown][] | null, what: string): void {
  const bad = (answers ?? []).find(([err]) => err);
  if (!answers || bad) throw new Error(`${what}: ${bad?.[0]?.message ?? "no answers"}`);
}

// ───────────────────────────── the moves ─────────────────────────────

interface Measurement {
  seconds: number;
  keys: number;
  slots: number;
  keys_per_s: number;
  slots_per_s: number;
  /** redis-cli only: `--cluster check` alone, s: its start-up share. */
  check_s?: number;
  load_1min: number;
}

function measurement(seconds: number, keys: number, load: number): Measurement {
  return {
    seconds: round(seconds, 3),
    keys,
    slots: slotCount,
    keys_per_s: round(keys / seconds, 0),
    slots_per_s: round(slotCount / seconds, 1),
    load_1min: load,
  };
}

async function ballast(data: DataSet): Promise<Measurement> {
  const c = await BenchCluster.start(data);
  try {
    const load = round(loadavg()[0] ?? 0, 2);
    const moves: SlotMove[] = Array.from({ length: slotCount }, (_, slot) => ({
      slot,
      from: c.owner(0),
      to: c.owner(3),
      others: [c.address(1), c.address(2)],
    }));
    const started = performance.now();
    const outcome = await admin.moveSlots(moves, { batch });
    const seconds = (performance.now() - started) / 1000;
    if (outcome.failure)
      throw new Error(
        `Ballast's moveSlots failed after ${outcome.moved.length} slots: ${outcome.failure.message}`,
      );
    const keys = outcome.moved.reduce((n, m) => n + m.keys, 0);
    if (keys !== data.moving)
      throw new Error(`Ballast's moveSlots says ${keys} keys moved, ${data.moving} were there`);
    await c.verify(data, "Ballast");
    return measurement(seconds, keys, load);
  } finally {
    await c.stop();
  }
}

async function redisCli(data: DataSet, pipeline: number): Promise<Measurement> {
  const c = await BenchCluster.start(data);
  try {
    const load = round(loadavg()[0] ?? 0, 2);
    const args = [
      ...["--cluster", "reshard", c.endpoint(0)],
      ...["--cluster-from", c.nodeIds[0] ?? "", "--cluster-to", c.nodeIds[3] ?? ""],
      ...["--cluster-slots", String(slotCount), "--cluster-yes"],
      ...["--cluster-pipeline", String(pipeline)],
    ];
    const started = performance.now();
    const out = await c.cli(args).catch((err: { stdout?: string; message: string }) => {
      throw new Error(
        `redis-cli --cluster reshard failed: ${err.message}\n${(err.stdout ?? "").slice(-2000)}`,
      );
    });
    const seconds = (performance.now() - started) / 1000;
    if (/\[ERR\]/.test(out)) throw new Error(`redis-cli reported an error:\n${out.slice(-2000)}`);
    await c.verify(data, `redis-cli (pipeline ${pipeline})`);
    const checkStarted = performance.now();
    await c.cli(["--cluster", "check", c.endpoint(0)]);
    const check = (performance.now() - checkStarted) / 1000;
    return { ...measurement(seconds, data.moving, load), check_s: round(check, 3) };
  } finally {
    await c.stop();
  }
}

// ───────────────────────────── main ─────────────────────────────

const kinds = ["ballast", ...pipelines.map((p) => `redis-cli-${p}`)];
const samples = new Map<string, Measurement[]>(kinds.map((k) => [k, []]));
const measured = new Date().toISOString();
const version = (await run$("redis-server", ["--version"])).stdout.trim();
log(
  `${runs} runs; ${keyCount} keys of ${valueBytes} B; ${slotCount} slots from master 0 to a new 4th; Ballast batch ${batch}; redis-cli pipelines ${pipelines.join(", ")}`,
);
try {
  // The bench's own key hash, checked against the server's.
  {
    const c = await BenchCluster.start(dataSet(-1, 100));
    const r = c.client(0);
    for (const k of ["a", "r3:0:0", "r3:4:199999", "hello world", "x".repeat(200)])
      if (Number(await r.call("CLUSTER", "KEYSLOT", k)) !== keySlot(k))
        throw new Error(`the bench's hash of ${k} differs from Redis's`);
    r.disconnect();
    // A warm-up move, not measured: an operator's process is long-lived, its code compiled.
    const warm = await admin.moveSlots(
      Array.from({ length: 200 }, (_, slot) => ({
        slot,
        from: c.owner(0),
        to: c.owner(3),
        others: [c.address(1), c.address(2)],
      })),
      { batch },
    );
    if (warm.failure) throw new Error(`the warm-up move failed: ${warm.failure.message}`);
    await c.stop();
  }
  for (let run = 0; run < runs; run++) {
    const data = dataSet(run);
    // Rotate who goes first: the machine is shared and noisy.
    const order = kinds.map((_, i) => kinds[(i + run) % kinds.length] ?? "");
    for (const kind of order) {
      const m =
        kind === "ballast" ? await ballast(data) : await redisCli(data, Number(kind.slice(10)));
      samples.get(kind)?.push(m);
      log(
        `run ${run + 1} ${kind}: ${m.keys} keys, ${m.slots} slots in ${m.seconds.toFixed(3)} s: ${m.keys_per_s} keys/s, ${m.slots_per_s} slots/s${m.check_s !== undefined ? ` (check alone ${m.check_s} s)` : ""}, load ${m.load_1min}`,
      );
    }
  }
} finally {
  for (const c of live) c.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
}

const of = (kind: string, pick: (m: Measurement) => number): Spread =>
  spread((samples.get(kind) ?? []).map(pick));
const summary = (kind: string) => ({
  keys_per_s: of(kind, (m) => m.keys_per_s),
  slots_per_s: of(kind, (m) => m.slots_per_s),
  seconds: of(kind, (m) => m.seconds),
});
const mine = summary("ballast");
const reference = Object.fromEntries(
  pipelines.map((p) => [
    `pipeline_${p}`,
    { ...summary(`redis-cli-${p}`), check_s: of(`redis-cli-${p}`, (m) => m.check_s ?? 0) },
  ]),
);
const ratio = Object.fromEntries(
  pipelines.map((p) => [
    `ballast_to_pipeline_${p}`,
    round(mine.keys_per_s.median / of(`redis-cli-${p}`, (m) => m.keys_per_s).median, 2),
  ]),
);
const paired = Object.fromEntries(
  pipelines.map((p) => {
    const ref = samples.get(`redis-cli-${p}`) ?? [];
    const values = (samples.get("ballast") ?? []).map((m, i) =>
      round(m.keys_per_s / (ref[i]?.keys_per_s ?? Number.NaN), 2),
    );
    return [`ballast_to_pipeline_${p}`, spread(values)];
  }),
);
const R3 = {
  higher_is_better: "keys/s and slots/s; ratio = Ballast ÷ redis-cli (goal ≥ 1.0)",
  ballast: { ...mine, batch },
  reference,
  ratio,
  paired_ratio: paired,
  runs: Object.fromEntries(samples),
  settings: {
    runs,
    keys: keyCount,
    value_bytes: valueBytes,
    slots_moved: slotCount,
    keys_moved: samples.get("ballast")?.map((m) => m.keys) ?? [],
    masters: 3,
    new_masters: 1,
    replicas: 0,
    persistence: 'none (save "", appendonly no)',
    password: true,
    ballast_batch: batch,
    redis_cli_pipelines: pipelines,
    redis_cli_default_pipeline: 10,
    version,
  },
  measured,
};
log(JSON.stringify({ ballast: mine, reference, ratio, paired_ratio: paired }));
if (!only) {
  const file = join(import.meta.dirname, "results.json");
  const all = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  all.R3 = R3;
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}
process.exit(0);
