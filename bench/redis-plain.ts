/**
 * The reference of F1: plain Redis Sentinel with no operator — a master,
 * replicas and sentinels as processes on 127.0.0.1, started by the bench
 * from the binaries the pods run (Debian's redis-server 7.0.15; sentinels
 * as `redis-server <file> --sentinel`, as the pods start them). The
 * members take the operator's own redis.conf for the same spec
 * (`redisConfig`: appendonly, min-replicas-*, replica-read-only), with a
 * port and directory of their own; the sentinels the same monitor settings
 * the operator writes (quorum, down-after-milliseconds, failover-timeout,
 * parallel-syncs 1) and the same password on everything.
 *
 * What differs, by necessity: addresses are 127.0.0.1 and ports, not pod
 * DNS names (no `resolve-hostnames`/`announce-hostnames`, no DNS lookup on
 * Sentinel's path), and nothing restarts a killed member: the bench does,
 * as a replica of the new master, once the measurement is over.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { clock, type Target } from "./redis-probe.ts";

export interface PlainOptions {
  dir: string;
  password: string;
  masterName: string;
  /** The operator's redis.conf for the same spec (its `port` and `dir` lines are replaced). */
  redisConf: string;
  replicas: number;
  sentinels: number;
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
}

interface Proc {
  id: number;
  port: number;
  dir: string;
  log: string;
  child: ChildProcess | undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const children = new Set<ChildProcess>();
// Whatever ends the bench, no redis-server it started outlives it.
process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

export class PlainSentinelSet {
  readonly options: PlainOptions;
  readonly members: Proc[] = [];
  readonly sentinelProcs: Proc[] = [];

  constructor(options: PlainOptions) {
    this.options = options;
  }

  static async start(options: PlainOptions): Promise<PlainSentinelSet> {
    const set = new PlainSentinelSet(options);
    for (let id = 0; id <= options.replicas; id++) set.members.push(await set.#proc("member", id));
    for (let id = 0; id < options.sentinels; id++)
      set.sentinelProcs.push(await set.#proc("sentinel", id));
    const master = set.members[0];
    if (!master) throw new Error("no member");
    for (const m of set.members) set.#startMember(m, m === master ? undefined : master.port);
    for (const s of set.sentinelProcs) set.#startSentinel(s, master.port);
    return set;
  }

  get sentinels(): Target[] {
    return this.sentinelProcs.map((s) => ({ host: "127.0.0.1", port: s.port }));
  }

  memberAt(port: number): Proc | undefined {
    return this.members.find((m) => m.port === port);
  }

  sentinelLogs(): string[] {
    return this.sentinelProcs.map((s) => readFileSync(s.log, "utf8"));
  }

  /** SIGKILLs member `id`'s redis-server; the moment just before the signal. */
  kill(id: number): number {
    const m = this.members.find((x) => x.id === id);
    if (!m?.child?.pid) throw new Error(`member ${id} is not running`);
    const at = clock();
    m.child.kill("SIGKILL");
    m.child = undefined;
    return at;
  }

  /** Starts a killed member again, as a replica of the master on `masterPort`. */
  restart(id: number, masterPort: number): void {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new Error(`no member ${id}`);
    if (m.child) return;
    this.#startMember(m, masterPort);
  }

  async stop(): Promise<void> {
    for (const p of [...this.sentinelProcs, ...this.members]) {
      const c = p.child;
      if (!c) continue;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGKILL");
      await exited;
      children.delete(c);
      p.child = undefined;
    }
  }

  async #proc(kind: string, id: number): Promise<Proc> {
    const dir = join(this.options.dir, `${kind}-${id}`);
    mkdirSync(dir, { recursive: true });
    return { id, port: await freePort(), dir, log: join(dir, "log"), child: undefined };
  }

  #spawn(p: Proc, args: string[]): void {
    const out = createWriteStream(p.log, { flags: "a" });
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    children.add(child);
    child.once("exit", () => children.delete(child));
    p.child = child;
  }

  #startMember(m: Proc, masterPort: number | undefined): void {
    const pw = this.options.password;
    const conf = this.options.redisConf
      .split("\n")
      .filter((l) => l.trim() && !/^(port|dir) /.test(l))
      .concat([
        `port ${m.port}`,
        "bind 127.0.0.1",
        `dir ${m.dir}`,
        "daemonize no",
        `requirepass ${pw}`,
        `masterauth ${pw}`,
        ...(masterPort === undefined ? [] : [`replicaof 127.0.0.1 ${masterPort}`]),
      ]);
    const file = join(m.dir, "redis.conf");
    writeFileSync(file, `${conf.join("\n")}\n`, { mode: 0o600 });
    this.#spawn(m, [file]);
  }

  #startSentinel(s: Proc, masterPort: number): void {
    const { password: pw, masterName: name, quorum } = this.options;
    const conf = [
      `port ${s.port}`,
      "bind 127.0.0.1",
      `dir ${s.dir}`,
      "daemonize no",
      `requirepass ${pw}`,
      `sentinel sentinel-pass ${pw}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${quorum}`,
      `sentinel auth-pass ${name} ${pw}`,
      `sentinel down-after-milliseconds ${name} ${this.options.downAfterMs}`,
      `sentinel failover-timeout ${name} ${this.options.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`,
    ];
    const file = join(s.dir, "sentinel.conf");
    writeFileSync(file, `${conf.join("\n")}\n`, { mode: 0o600 });
    this.#spawn(s, [file, "--sentinel"]);
  }
}
