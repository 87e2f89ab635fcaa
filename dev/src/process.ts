/**
 * Starting and stopping the control plane's processes.
 *
 * Two lifetimes:
 * - `owned` (test kit): the process is started through `setpriv --pdeathsig
 *   KILL`, so the kernel kills it when the process that started it dies — even
 *   by SIGKILL, when no exit handler can run. A test run never leaves orphans.
 * - `detached` (`ballast dev up`): the cluster outlives the command that started
 *   it. Its processes are recorded by pid *and* start time, so that `dev down`
 *   never signals an unrelated process that happened to reuse a pid.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { isAlive } from "./toolchain.ts";

export type Lifetime = "owned" | "detached";

export interface ProcessRecord {
  name: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from ours. */
  startTime: string;
  logFile: string;
}

export interface StartSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  lifetime: Lifetime;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Started {
  record: ProcessRecord;
  /** Resolves when the process exits (only observable by the starting process). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startProcess(spec: StartSpec): Started {
  const log = openSync(spec.logFile, "a");
  const [command, args] =
    spec.lifetime === "owned"
      ? ["setpriv", ["--pdeathsig", "KILL", "--", spec.command, ...spec.args]]
      : [spec.command, spec.args];
  const child = spawn(command, args, {
    stdio: ["ignore", log, log],
    detached: spec.lifetime === "detached",
    env: spec.env ?? process.env,
    cwd: spec.cwd,
  });
  closeSync(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
    child.on("error", () => resolve({ code: 127, signal: null }));
  });
  // Neither lifetime keeps the starting process alive: owned processes die
  // with it (parent-death signal), detached ones outlive it on purpose.
  child.unref();
  const pid = child.pid ?? -1;
  return {
    record: { name: spec.name, pid, startTime: startTimeOf(pid) ?? "", logFile: spec.logFile },
    exited,
  };
}

export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; fields after it are safe.
    const afterName = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return afterName[19];
  } catch {
    return undefined;
  }
}

/** True when `record` still names the very process we started. */
export function isRunning(record: ProcessRecord): boolean {
  if (record.pid <= 0 || !isAlive(record.pid)) return false;
  const now = startTimeOf(record.pid);
  if (now === undefined) return false;
  // A zombie is dead for our purposes.
  try {
    const state = readFileSync(`/proc/${record.pid}/stat`, "utf8");
    if (state.slice(state.lastIndexOf(")") + 2).startsWith("Z")) return false;
  } catch {
    return false;
  }
  return record.startTime === "" || now === record.startTime;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(record: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isRunning(record)) return;
  signal(record.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isRunning(record)) {
    if (Date.now() > deadline) {
      signal(record.pid, "SIGKILL");
      await sleep(100);
      if (!isRunning(record)) return;
    }
    await sleep(50);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last lines of a log, to put in an error message. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
