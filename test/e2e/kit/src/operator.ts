/**
 * An operator as a separate process, as it runs in production — the bundle
 * its image ships (scripts/build.ts), with the image's Node flags — so an
 * end-to-end test exercises the shipped artifact, can SIGKILL it
 * mid-operation and start another, and reads what it logged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle, OPERATOR_NODE_FLAGS } from "../../../../scripts/build.ts";

/** What scripts/build.ts bundles for one operator: a name and the descriptor's entry point. */
export interface OperatorBundle {
  /** e.g. `kafka-operator`; the bundle is `<name>.mjs`. */
  name: string;
  /** The entry point: absolute, or relative to the repository root. */
  entry: string;
}

const built = new Map<string, Promise<string>>();

/** Builds a bundle once per test process, into a directory removed at exit. */
function bundleFile(operator: OperatorBundle): Promise<string> {
  let file = built.get(operator.entry);
  if (!file) {
    file = (async () => {
      const dir = mkdtempSync(join(tmpdir(), `ballast-${operator.name}-bundle-`));
      process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
      const out = join(dir, `${operator.name}.mjs`);
      await bundle(operator.entry, out);
      return out;
    })();
    built.set(operator.entry, file);
  }
  return file;
}

export interface OperatorProcess {
  readonly pid: number;
  /** SIGKILL: no shutdown hook runs, as when a node dies. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit; the exit code. */
  stop(): Promise<number | null>;
}

export interface OperatorOptions {
  operator: OperatorBundle;
  /** Who the operator is: a kubeconfig from `grantDeclaredRbac`, or the admin's. */
  kubeconfig: string;
  /** `--namespace`: watch only this namespace. */
  namespace?: string;
  /** Extra environment, e.g. LEADER_ELECTION_NAMESPACE. */
  env?: Record<string, string>;
  /** `BALLAST_TRACE_REQUESTS`: the file every API request is appended to (see rbac/trace.ts). */
  traceFile?: string;
  /** Also write each log line to stderr, prefixed with the bundle's name. @default false */
  echo?: boolean;
  /** How many log lines are kept; the oldest go first. @default 5000 */
  keepLines?: number;
}

/**
 * The operator under test across its restarts: one process at a time, and
 * the log lines of all of them, in order.
 */
export class OperatorUnderTest {
  readonly options: OperatorOptions;
  /** The running process, if any. */
  process: OperatorProcess | undefined;
  readonly #logs: string[] = [];

  constructor(options: OperatorOptions) {
    this.options = options;
  }

  /** Starts a process (`--install-crds` when asked); the previous one must be gone. */
  async start(options: { installCrds?: boolean } = {}): Promise<OperatorProcess> {
    const { operator, kubeconfig, namespace, traceFile } = this.options;
    const args = [...OPERATOR_NODE_FLAGS, await bundleFile(operator), `--kubeconfig=${kubeconfig}`];
    if (namespace) args.push(`--namespace=${namespace}`);
    if (options.installCrds) args.push("--install-crds");
    const child: ChildProcess = spawn(process.execPath, args, {
      env: {
        ...process.env,
        METRICS_PORT: "0",
        HEALTH_PORT: "0",
        ...(traceFile ? { BALLAST_TRACE_REQUESTS: traceFile } : {}),
        ...this.options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Whole lines only: a chunk may end mid-line, and a cut JSON line parses as nothing.
    const lines = (stream: NodeJS.ReadableStream | null) => {
      let partial = "";
      stream?.on("data", (chunk: Buffer) => {
        const parts = (partial + chunk.toString()).split("\n");
        partial = parts.pop() ?? "";
        for (const line of parts) if (line) this.#log(line);
      });
      stream?.on("end", () => partial && this.#log(partial));
    };
    lines(child.stdout);
    lines(child.stderr);
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    const running: OperatorProcess = {
      pid: child.pid ?? -1,
      kill: async () => {
        child.kill("SIGKILL");
        await exited;
      },
      stop: async () => {
        child.kill("SIGTERM");
        return exited;
      },
    };
    this.process = running;
    return running;
  }

  /** SIGKILLs the running process (mid-operation, as a node failure would). */
  async kill(): Promise<void> {
    await this.process?.kill();
    this.process = undefined;
  }

  /** SIGTERM, and waits for the process to exit. */
  async stop(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }

  /** The last `lines` log lines of every process so far. */
  logTail(lines = 40): string {
    return this.#logs.slice(-lines).join("\n");
  }

  /** Every log line kept. */
  logs(): readonly string[] {
    return this.#logs;
  }

  /** The port the latest process serves /metrics on, from the manager's "serving" log line. */
  metricsPort(): number {
    for (let i = this.#logs.length - 1; i >= 0; i--) {
      const line = this.#logs[i] ?? "";
      if (!line.includes('"serving"')) continue;
      const port = (JSON.parse(line) as { metricsPort?: number }).metricsPort;
      if (port) return port;
    }
    throw new Error(`${this.options.operator.name} has not said which port it serves metrics on`);
  }

  #log(line: string): void {
    this.#logs.push(line);
    const keep = this.options.keepLines ?? 5000;
    if (this.#logs.length > keep) this.#logs.splice(0, this.#logs.length - keep);
    if (this.options.echo) process.stderr.write(`[${this.options.operator.name}] ${line}\n`);
  }
}
