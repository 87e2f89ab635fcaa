/**
 * What both sides of the Redis benchmarks share, so that the operator's
 * set and the plain Sentinel reference are measured by the same code:
 *
 * - `startProbe`: a client that writes every `intervalMs` to whatever
 *   master its `discover` function names, keeps the connection while
 *   writes succeed and discovers afresh after any failure. Only the
 *   discovery differs between sides (the master Service's DNS name, the
 *   address the status names, or the sentinels).
 * - `askSentinels`: what a Sentinel-aware client does: the first sentinel
 *   that answers `SENTINEL get-master-addr-by-name` names the master.
 * - `sentinelsUnsettled`: the check made before every kill, the same for
 *   both: each sentinel sees the master up, the other sentinels, and every
 *   replica healthy with its link up (a sentinel that lists no good
 *   replica aborts the failover, which would measure something else).
 * - `sentinelEvents`: the first time any sentinel logged each step of a
 *   failover, read from Redis's own millisecond timestamps.
 *
 * Every time is `clock()`: wall-clock milliseconds with sub-millisecond
 * resolution, on the same clock as the Redis logs (same machine).
 */
import { Redis } from "ioredis";

export const clock = (): number => performance.timeOrigin + performance.now();

export interface Target {
  host: string;
  port: number;
}

export interface Ack {
  at: number;
  host: string;
}

export interface Failure {
  at: number;
  /** A short class of error: "no master", "READONLY", "NOREPLICAS", "refused", "timeout", … */
  reason: string;
}

export interface Probe {
  readonly name: string;
  readonly acks: Ack[];
  readonly failures: Failure[];
  /** Every time discovery named another address than the time before. */
  readonly discoveries: Ack[];
  stop(): Promise<void>;
}

export interface ProbeOptions {
  name: string;
  discover: () => Promise<Target | undefined>;
  password: string;
  /** Pause between two attempts. */
  intervalMs: number;
  /** Bound on a connect and on a command: a write that hangs (paused, dead peer) counts as failed. @default 1000 */
  timeoutMs?: number;
}

function connection(target: Target, password: string, timeoutMs: number): Redis {
  const c = new Redis({
    host: target.host,
    port: target.port,
    password,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  c.on("error", () => {});
  return c;
}

function classify(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/^(READONLY|NOREPLICAS|LOADING|MASTERDOWN|NOAUTH|WRONGPASS)/.test(message))
    return message.split(" ")[0] ?? message;
  if (/ECONNREFUSED/.test(message)) return "refused";
  if (/timed? ?out/i.test(message)) return "timeout";
  if (/no master/.test(message)) return "no master";
  if (/ENODATA|ENOTFOUND|ESERVFAIL/.test(message)) return "no address";
  if (/closed|ECONNRESET|EPIPE/i.test(message)) return "connection lost";
  return message.slice(0, 60);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Races `p` against a timer, so one discovery cannot stall the probe longer than a write could. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function startProbe(options: ProbeOptions): Probe {
  const timeoutMs = options.timeoutMs ?? 1000;
  const acks: Ack[] = [];
  const failures: Failure[] = [];
  const discoveries: Ack[] = [];
  let client: Redis | undefined;
  let host = "";
  let running = true;
  let seq = 0;
  const key = `bench:probe:${options.name}`;

  const loop = (async () => {
    while (running) {
      try {
        if (!client) {
          const target = await within(options.discover(), timeoutMs, "discovery");
          if (!target) throw new Error("no master");
          const named = `${target.host}:${target.port}`;
          if (named !== discoveries.at(-1)?.host) discoveries.push({ at: clock(), host: named });
          const c = connection(target, options.password, timeoutMs);
          client = c;
          host = named;
          await c.connect();
        }
        await client.set(key, String(seq++));
        acks.push({ at: clock(), host });
      } catch (err) {
        failures.push({ at: clock(), reason: classify(err) });
        client?.disconnect();
        client = undefined;
      }
      await sleep(options.intervalMs);
    }
  })();

  return {
    name: options.name,
    acks,
    failures,
    discoveries,
    async stop() {
      running = false;
      await loop;
      client?.disconnect();
    },
  };
}

/** A one-shot question to one Redis or sentinel: connect, AUTH, the command, close. */
export async function ask(
  target: Target,
  password: string,
  args: [string, ...string[]],
  timeoutMs = 1000,
): Promise<unknown> {
  const c = connection(target, password, timeoutMs);
  try {
    await c.connect();
    return await c.call(...args);
  } finally {
    c.disconnect();
  }
}

/** The master the first answering sentinel names (as `host:port` from its reply), in the order given. */
export async function askSentinels(
  sentinels: readonly Target[],
  masterName: string,
  password: string,
  timeoutMs = 500,
): Promise<Target | undefined> {
  for (const s of sentinels) {
    try {
      const reply = (await ask(
        s,
        password,
        ["SENTINEL", "get-master-addr-by-name", masterName],
        timeoutMs,
      )) as [string, string] | null;
      if (reply) return { host: reply[0], port: Number(reply[1]) };
    } catch {
      // The next sentinel, as a Sentinel-aware client does.
    }
  }
  return undefined;
}

function fields(flat: unknown): Map<string, string> {
  const list = (flat as string[]) ?? [];
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) out.set(String(list[i]), String(list[i + 1]));
  return out;
}

/**
 * Why the sentinels are not yet ready for a fair kill, or undefined when
 * they are: every sentinel answers, names the same master and sees it up
 * with nothing in progress, knows the other sentinels, and lists exactly
 * `replicas` replicas, each flagged plain `slave` with its link `ok`.
 */
export async function sentinelsUnsettled(
  sentinels: readonly Target[],
  masterName: string,
  password: string,
  replicas: number,
): Promise<string | undefined> {
  const named = new Set<string>();
  for (const s of sentinels) {
    try {
      const master = fields(await ask(s, password, ["SENTINEL", "MASTER", masterName]));
      if (master.get("flags") !== "master")
        return `sentinel ${s.host}:${s.port}: master flags ${master.get("flags")}`;
      if (Number(master.get("num-other-sentinels")) !== sentinels.length - 1)
        return `sentinel ${s.host}:${s.port} knows ${master.get("num-other-sentinels")} other sentinels`;
      named.add(`${master.get("ip")}:${master.get("port")}`);
      const listed = (
        (await ask(s, password, ["SENTINEL", "REPLICAS", masterName])) as unknown[]
      ).map(fields);
      const healthy = listed.filter(
        (r) => r.get("flags") === "slave" && r.get("master-link-status") === "ok",
      );
      if (listed.length !== replicas || healthy.length !== replicas)
        return `sentinel ${s.host}:${s.port} lists ${healthy.length} healthy of ${listed.length} replicas (${listed.map((r) => `${r.get("ip")} ${r.get("flags")} ${r.get("master-link-status")}`).join(", ")})`;
    } catch (err) {
      return `sentinel ${s.host}:${s.port}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (named.size !== 1) return `the sentinels name ${[...named].join(", ")}`;
  return undefined;
}

/** The failover's steps as Sentinel logs them, in order. */
export const failoverSteps = [
  "+sdown",
  "+odown",
  "+try-failover",
  "+elected-leader",
  "+selected-slave",
  "+failover-state-send-slaveof-noone",
  "+promoted-slave",
  "+switch-master",
  "+slave-reconf-done",
  "+failover-end",
] as const;

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A Redis log line's time (`<pid>:<role> 02 Dec 2026 07:36:22.123 …`), as UTC (the machine's zone). */
export function logTime(line: string): number | undefined {
  const m = /^\d+:[A-Z] (\d{2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2})\.(\d{3}) /.exec(line);
  if (!m) return undefined;
  const [, d, mon, y, hh, mm, ss, ms] = m;
  return Date.UTC(
    Number(y),
    months.indexOf(mon ?? ""),
    Number(d),
    Number(hh),
    Number(mm),
    Number(ss),
    Number(ms),
  );
}

/**
 * For each failover step, the earliest time any of the given sentinel logs
 * shows it after `since` (an `+sdown` only of the master, not of a replica
 * or sentinel). Missing steps are left out.
 */
export function sentinelEvents(logs: readonly string[], since: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const log of logs) {
    for (const line of log.split("\n")) {
      const at = logTime(line);
      if (at === undefined || at < Math.floor(since)) continue;
      for (const step of failoverSteps) {
        const at0 = line.indexOf(` ${step} `);
        if (at0 < 0) continue;
        if ((step === "+sdown" || step === "+odown") && !line.includes(`${step} master `)) continue;
        if (out[step] === undefined || at < out[step]) out[step] = at;
      }
    }
  }
  return out;
}
