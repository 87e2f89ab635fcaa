/**
 * A stand-in for the node agent in this folder's tests: it runs exec'd
 * commands as real host processes, serves logs from real files and forwards
 * ports to real sockets on 127.0.0.1. Nothing is canned: the protocol code is
 * exercised against processes and sockets that behave like the real thing.
 *
 * Log files use the CRI layout, one line per entry: `<RFC 3339 time> <text>`.
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import {
  type ContainerRef,
  type ExecProcess,
  type LogOptions,
  NotFoundError,
  type PodRef,
  type PodRuntimeForApi,
} from "./runtime.ts";

export class HostRuntime implements PodRuntimeForApi {
  readonly #dir: string;
  readonly #containers = new Set<string>();
  /** Every exec'd process, so tests can check none is left behind. */
  readonly started: { pid: number; exited: Promise<unknown> }[] = [];
  /** Terminal sizes the exec'd processes were told about, in order. */
  readonly resizes: { cols: number; rows: number }[] = [];

  constructor(dir: string) {
    this.#dir = dir;
  }

  addContainer(ref: ContainerRef): void {
    this.#containers.add(key(ref));
    mkdirSync(this.#logDir(ref), { recursive: true });
  }

  /** Appends lines to the container's current (or previous) log. */
  writeLog(ref: ContainerRef, lines: string[], options: { previous?: boolean; at?: Date } = {}) {
    const at = (options.at ?? new Date()).toISOString();
    const file = join(this.#logDir(ref), options.previous ? "previous.log" : "current.log");
    appendFileSync(file, lines.map((l) => `${at} ${l}\n`).join(""));
  }

  async logs(ref: ContainerRef, opts: LogOptions, signal: AbortSignal) {
    this.#known(ref);
    const file = join(this.#logDir(ref), opts.previous ? "previous.log" : "current.log");
    if (!existsSync(file)) {
      throw new NotFoundError(
        `${opts.previous ? "previous terminated container" : "container"} "${ref.container}" in pod "${ref.pod}" has no logs`,
      );
    }
    const cutoff =
      opts.sinceSeconds === undefined ? undefined : Date.now() - opts.sinceSeconds * 1000;
    const render = (entry: string): string | undefined => {
      const space = entry.indexOf(" ");
      const at = entry.slice(0, space);
      if (cutoff !== undefined && Date.parse(at) < cutoff) return undefined;
      return opts.timestamps ? `${entry}\n` : `${entry.slice(space + 1)}\n`;
    };
    const out = new PassThrough();
    const text = readFileSync(file, "utf8");
    let offset = Buffer.byteLength(text);
    let entries = text.split("\n").filter((l) => l.length > 0);
    if (opts.tailLines !== undefined)
      entries = entries.slice(Math.max(0, entries.length - opts.tailLines));
    for (const entry of entries) {
      const line = render(entry);
      if (line) out.write(line);
    }
    if (!opts.follow || opts.previous) {
      out.end();
      return out;
    }
    // Follow by polling: simple, and fs.watch misses appends on some filesystems.
    let partial = "";
    const timer = setInterval(() => {
      const size = statSync(file).size;
      if (size <= offset) return;
      const fresh = readFileSync(file).subarray(offset, size).toString("utf8");
      offset = size;
      const lines = (partial + fresh).split("\n");
      partial = lines.pop() ?? "";
      for (const entry of lines) {
        const line = entry && render(entry);
        if (line) out.write(line);
      }
    }, 50);
    const stop = () => {
      clearInterval(timer);
      out.end();
    };
    signal.addEventListener("abort", stop, { once: true });
    out.on("close", () => clearInterval(timer));
    return out;
  }

  async exec(ref: ContainerRef, command: string[], io: { stdin: boolean; tty: boolean }) {
    this.#known(ref);
    const [file, ...args] = command;
    if (!file) throw new Error("empty command");
    // No pty here: a tty request gets pipes, stderr folded into stdout.
    const child = spawn(file, args, {
      cwd: this.#logDir(ref),
      stdio: [io.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    this.started.push({ pid: child.pid ?? -1, exited });
    const { stdout, stderr } = child;
    if (!stdout || !stderr) throw new Error("spawn gave no output pipes");
    const proc: ExecProcess = {
      stdout,
      stderr,
      exited,
      kill: () => child.kill("SIGKILL"),
    };
    if (io.tty) proc.resize = (cols, rows) => this.resizes.push({ cols, rows });
    if (child.stdin) {
      child.stdin.on("error", () => {}); // EPIPE when the command exits first
      proc.stdin = child.stdin;
    }
    return proc;
  }

  async portForward(ref: PodRef, port: number): Promise<Socket> {
    if (![...this.#containers].some((k) => k.startsWith(`${ref.namespace}/${ref.pod}/`))) {
      throw new NotFoundError(`pod ${ref.namespace}/${ref.pod} is not on this node`);
    }
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(socket);
      });
      socket.once("error", reject);
    });
  }

  #known(ref: ContainerRef): void {
    if (!this.#containers.has(key(ref))) {
      throw new NotFoundError(
        `container "${ref.container}" in pod ${ref.namespace}/${ref.pod} is not on this node`,
      );
    }
  }

  #logDir(ref: ContainerRef): string {
    return join(this.#dir, `${ref.namespace}_${ref.pod}_${ref.container}`);
  }
}

const key = (ref: ContainerRef) => `${ref.namespace}/${ref.pod}/${ref.container}`;
