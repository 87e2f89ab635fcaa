/**
 * One container of a pod: its runs (each a real process tree), its state as
 * the kubelet reports it, its probes and its termination.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Container, ContainerState, ContainerStatus, Probe } from "./kube.ts";
import {
  containerPid,
  enterArgs,
  type Launched,
  launch,
  launchArgv0,
  type MountSpec,
} from "./launcher.ts";
import { LogWriter, logFile } from "./logs.ts";
import { type ActionTarget, runAction, runCommand } from "./probes.ts";

export interface ContainerContext {
  podUid: string;
  podDir: string;
  podIP: string;
  netns: string;
  hostname: string;
  containerId(run: number): string;
  /** Called whenever something that the pod status shows has changed. */
  changed(): void;
}

export interface Prepared {
  argv: string[];
  env: Record<string, string>;
  mounts: MountSpec[];
  workingDir: string | undefined;
  user: { uid: number; gid: number; groups?: readonly number[] } | undefined;
  imageID: string;
}

export interface Exit {
  code: number;
  signal: number | undefined;
  reason: string;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

const signalNumbers: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };

interface CurrentRun {
  launched: Launched;
  pid1: number | undefined;
  log: LogWriter;
  killReason?: string;
  /** Resolves once the run's exit is recorded in `state`. */
  recorded: Promise<void>;
}

export class ContainerRunner {
  readonly spec: Container;
  readonly #ctx: ContainerContext;
  prepared: Prepared | undefined;
  restartCount = 0;
  state: ContainerState = { waiting: { reason: "ContainerCreating" } };
  lastState: ContainerState = {};
  ready = false;
  started = false;
  #run: CurrentRun | undefined;

  constructor(spec: Container, ctx: ContainerContext) {
    this.spec = spec;
    this.#ctx = ctx;
  }

  get running(): boolean {
    return this.#run !== undefined;
  }

  /** Host pid of the container's PID 1, once it exists. */
  async pid1(): Promise<number | undefined> {
    const run = this.#run;
    if (!run) return undefined;
    for (let i = 0; i < 50 && run.pid1 === undefined; i++) {
      run.pid1 = containerPid(run.launched.pid);
      if (run.pid1 === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    return run.pid1;
  }

  /**
   * Resolves once PID 1 has finished the launch script (volumes mounted,
   * private /tmp in place) and exec'd the container's command — or has
   * exited. Until then the container is not running yet as Kubernetes means
   * it: a probe or exec would see the host's /tmp, not the container's.
   */
  async #commandStarted(run: CurrentRun): Promise<void> {
    const deadline = Date.now() + 30_000;
    let exited = false;
    void run.launched.exited.then(() => {
      exited = true;
    });
    while (!exited && Date.now() < deadline) {
      const pid = await this.pid1();
      if (pid !== undefined) {
        try {
          const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
          if (!argv.includes(launchArgv0)) return;
        } catch {
          return; // gone: the exit path takes over
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  setWaiting(reason: string, message?: string): void {
    const next = { waiting: { reason, ...(message ? { message } : {}) } };
    if (JSON.stringify(next) !== JSON.stringify(this.state)) {
      this.state = next;
      this.#ctx.changed();
    }
  }

  /** Runs the container once, to its exit. Probes run while it does. */
  async runOnce(signal: AbortSignal): Promise<Exit> {
    const prepared = this.prepared;
    if (!prepared) throw new Error(`container ${this.spec.name} was not prepared`);
    const log = new LogWriter(logFile(this.#ctx.podDir, this.spec.name, this.restartCount));
    const launched = launch({
      netns: this.#ctx.netns,
      hostname: this.#ctx.hostname,
      mounts: prepared.mounts,
      workingDir: prepared.workingDir,
      user: prepared.user,
      env: prepared.env,
      argv: prepared.argv,
    });
    log.attach(launched.stdout, "stdout");
    log.attach(launched.stderr, "stderr");
    launched.toolStderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString().trim();
      // unshare reports this when it re-raises an uncatchable SIGKILL: noise.
      if (text && !text.includes("sigprocmask unblock failed")) {
        console.error(JSON.stringify({ msg: "launcher", container: this.spec.name, output: text }));
      }
    });
    let recorded = () => {};
    this.#run = {
      launched,
      pid1: undefined,
      log,
      recorded: new Promise<void>((resolve) => {
        recorded = resolve;
      }),
    };
    const current = this.#run;
    if (current) await this.#commandStarted(current);
    const startedAt = now();
    this.state = { running: { startedAt } };
    this.ready = false;
    this.started = !this.spec.startupProbe;
    if (!this.spec.readinessProbe && this.started) this.ready = true;
    this.#ctx.changed();

    const probing = new AbortController();
    const stopProbes = () => probing.abort();
    signal.addEventListener("abort", stopProbes, { once: true });
    void this.#probeLoop(probing.signal);

    const result = await launched.exited;
    probing.abort();
    signal.removeEventListener("abort", stopProbes);
    await log.close();
    const killReason = this.#run?.killReason;
    this.#run = undefined;

    // `unshare` reports the container's exit status as its own; a container
    // killed by a signal shows as 128 + signal, as in Docker.
    const signalNumber = result.signal ? (signalNumbers[result.signal] ?? 9) : undefined;
    const code = result.code ?? (signalNumber ? 128 + signalNumber : 1);
    const exit: Exit = {
      code,
      signal: signalNumber,
      reason: killReason ?? (code === 0 ? "Completed" : code === 137 ? "OOMKilled" : "Error"),
    };
    if (exit.reason === "OOMKilled") exit.reason = "Error"; // no memory limits here: 137 is a SIGKILL
    this.state = {
      terminated: {
        exitCode: code,
        ...(signalNumber ? { signal: signalNumber } : {}),
        reason: exit.reason,
        startedAt,
        finishedAt: now(),
        containerID: this.#ctx.containerId(this.restartCount),
      },
    };
    this.ready = false;
    this.#ctx.changed();
    recorded();
    return exit;
  }

  /** Runs the container's preStop hook (if any), then SIGTERM, then SIGKILL at the deadline. */
  async stop(deadline: number, reason?: string): Promise<void> {
    const run = this.#run;
    if (!run) return;
    if (reason) run.killReason = reason;
    const exited = run.recorded;
    if (this.spec.lifecycle?.preStop) {
      const budget = Math.max(0, deadline - Date.now());
      await Promise.race([runAction(this.spec.lifecycle.preStop, this.#target(), budget), exited]);
    }
    const pid = await this.pid1();
    if (pid) signalPid(pid, "SIGTERM");
    const remaining = Math.max(0, deadline - Date.now());
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), remaining)),
    ]);
    if (timedOut) {
      this.#forceKill(run, pid);
      await exited;
    }
  }

  /**
   * SIGKILL to the container's PID 1 lets `unshare` reap it and exit with its
   * status; `unshare` itself is killed only if that did not happen, because a
   * PID 1 orphaned that way stays a zombie.
   */
  #forceKill(run: { launched: Launched }, pid: number | undefined): void {
    if (pid) signalPid(pid, "SIGKILL");
    else signalPid(run.launched.pid, "SIGKILL");
    const unshare = run.launched.pid;
    const timer = setTimeout(() => signalPid(unshare, "SIGKILL"), 2000);
    void run.launched.exited.then(() => clearTimeout(timer));
  }

  /** Kills the current run at once (liveness failure, node shutdown). */
  kill(reason: string): void {
    const run = this.#run;
    if (!run) return;
    run.killReason = reason;
    this.#forceKill(run, run.pid1);
  }

  status(): ContainerStatus {
    return {
      name: this.spec.name,
      image: this.spec.image,
      imageID: this.prepared?.imageID ?? "",
      ...(this.state.running || this.state.terminated
        ? { containerID: this.#ctx.containerId(this.restartCount) }
        : {}),
      ready: this.ready,
      started: this.started && this.state.running !== undefined,
      restartCount: this.restartCount,
      state: this.state,
      lastState: this.lastState,
    };
  }

  /** Spawns `argv` inside the running container's namespaces (exec, probes). */
  async enter(argv: string[]): Promise<string[]> {
    const pid = await this.pid1();
    if (!pid) throw new Error(`container ${this.spec.name} is not running`);
    const env = Object.entries(this.prepared?.env ?? {}).map(([k, v]) => `${k}=${v}`);
    return [
      ...enterArgs(pid, this.prepared?.workingDir, this.prepared?.user),
      "env",
      "-i",
      ...env,
      ...argv,
    ];
  }

  #target(): ActionTarget {
    return {
      podIP: this.#ctx.podIP,
      container: this.spec,
      exec: async (argv, timeoutMs) => runCommand(await this.enter(argv), timeoutMs),
    };
  }

  async #probeLoop(signal: AbortSignal): Promise<void> {
    const { startupProbe, livenessProbe, readinessProbe } = this.spec;
    // Liveness and readiness probes only start once the startup probe passed.
    if (startupProbe && !(await this.#probe(startupProbe, signal, "startup"))) return;
    await Promise.all([
      livenessProbe ? this.#probe(livenessProbe, signal, "liveness") : undefined,
      readinessProbe ? this.#probe(readinessProbe, signal, "readiness") : undefined,
    ]);
  }

  /**
   * Runs one probe on its period until `signal` aborts. A startup probe ends
   * at its first success (true); startup and liveness probes that fail
   * `failureThreshold` times in a row kill the container, which its restart
   * policy then restarts. Readiness flips `ready` at the thresholds.
   */
  async #probe(
    probe: Probe,
    signal: AbortSignal,
    kind: "startup" | "liveness" | "readiness",
  ): Promise<boolean> {
    const period = (probe.periodSeconds ?? 10) * 1000;
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    const failureThreshold = probe.failureThreshold ?? 3;
    const successThreshold = probe.successThreshold ?? 1;
    await sleep((probe.initialDelaySeconds ?? 0) * 1000, signal);
    let failures = 0;
    let successes = 0;
    while (!signal.aborted) {
      const result = await runAction(probe, this.#target(), timeout);
      if (signal.aborted) return false;
      successes = result.ok ? successes + 1 : 0;
      failures = result.ok ? 0 : failures + 1;
      if (kind === "startup" && result.ok) {
        this.started = true;
        if (!this.spec.readinessProbe) this.ready = true;
        this.#ctx.changed();
        return true;
      }
      if (kind === "readiness") {
        const ready =
          successes >= successThreshold ? true : failures >= failureThreshold ? false : this.ready;
        if (ready !== this.ready) {
          this.ready = ready;
          this.#ctx.changed();
        }
      } else if (failures >= failureThreshold) {
        this.kill("Error");
        return false;
      }
      await sleep(period, signal);
    }
    return false;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

function signalPid(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Spawns argv with pipes (exec from the kubelet API). */
export function spawnEntered(argv: string[], stdin: boolean) {
  const [command, ...args] = argv;
  return spawn(command ?? "false", args, { stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"] });
}
