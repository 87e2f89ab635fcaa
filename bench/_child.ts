/**
 * One benchmark child process (a controller or a cache holder, Ballast or
 * Go), driven through the line protocol of `_protocol.ts`, plus what only the
 * parent can see: its resident memory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { RequestCounts } from "./_protocol.ts";

export class ChildError extends Error {
  override name = "ChildError";
}

export class Child {
  readonly name: string;
  readonly process: ChildProcess;
  /**
   * Every `LAT` the child reported, in order: the update's stamp, when its
   * reconcile started and (Ballast only) when its watch event arrived.
   */
  readonly latencies: { stamp: string; started: number; arrived?: number }[] = [];
  #synced: number | undefined;
  #stderr = "";
  #exit: Promise<number | null>;
  #waiters: { prefix: string; resolve: (line: string) => void }[] = [];

  constructor(name: string, command: string, args: readonly string[]) {
    this.name = name;
    this.process = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.#exit = new Promise((resolve) => this.process.once("exit", resolve));
    this.process.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    const lines = createInterface({ input: this.process.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => this.#line(line));
  }

  #line(line: string): void {
    if (line.startsWith("LAT ")) {
      const [stamp = "", started = "", arrived] = line.slice(4).split(" ");
      this.latencies.push({
        stamp,
        started: Number(started),
        ...(arrived === undefined ? {} : { arrived: Number(arrived) }),
      });
      return;
    }
    if (line.startsWith("SYNCED ")) this.#synced = Number(line.slice(7));
    const index = this.#waiters.findIndex((w) => line.startsWith(w.prefix));
    if (index >= 0) {
      const [waiter] = this.#waiters.splice(index, 1);
      waiter?.resolve(line);
    }
  }

  /** The number of objects the child's cache held when it synced. */
  get synced(): number | undefined {
    return this.#synced;
  }

  /** Resolves with the next stdout line starting with `prefix`. */
  async waitFor(prefix: string, timeoutMs = 120_000): Promise<string> {
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    this.#waiters.push({ prefix, resolve });
    const timer = setTimeout(
      () =>
        reject(
          new ChildError(
            `${this.name} printed no ${prefix} within ${timeoutMs} ms; stderr: ${this.#stderr}`,
          ),
        ),
      timeoutMs,
    );
    const died = this.#exit.then((code) => {
      throw new ChildError(
        `${this.name} exited (code ${code}) before ${prefix}; stderr: ${this.#stderr}`,
      );
    });
    try {
      return await Promise.race([promise, died]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The child's own count of its API requests so far. */
  async stats(): Promise<RequestCounts> {
    const answer = this.waitFor("STATS ", 10_000);
    this.process.stdin?.write("stats\n");
    return JSON.parse((await answer).slice(6)) as RequestCounts;
  }

  /**
   * Resident set size in MiB, from /proc (Linux), with its two parts:
   * anonymous memory (heaps, stacks: the process's own) and file-backed
   * pages (mostly the executable's code and read-only data, which every
   * process running the same binary shares).
   */
  rssMiB(): { total: number; anon: number; file: number } {
    const status = readFileSync(`/proc/${this.process.pid}/status`, "utf8");
    const kB = (field: string): number => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
      if (!match?.[1])
        throw new ChildError(`${this.name}: no ${field} in /proc/${this.process.pid}/status`);
      return Number(match[1]) / 1024;
    };
    return { total: kB("VmRSS"), anon: kB("RssAnon"), file: kB("RssFile") };
  }

  /** CPU time (user + system) the child has used so far, in seconds, from /proc (Linux). */
  cpuSeconds(): number {
    return cpuSecondsOf(this.process.pid ?? -1);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 10_000);
    await this.#exit;
    clearTimeout(timer);
  }
}

/** CPU time (user + system) process `pid` has used so far, in seconds, from /proc (Linux). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line, in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
