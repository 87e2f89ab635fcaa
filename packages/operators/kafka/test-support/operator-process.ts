/**
 * The Kafka operator as a separate process, as it runs in production — the
 * bundle the image ships (scripts/build.ts), with the image's Node flags — so
 * an end-to-end test exercises the shipped artifact and can SIGKILL it
 * mid-operation and start another.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle, OPERATOR_NODE_FLAGS, operators } from "../../../../scripts/build.ts";

let built: Promise<string> | undefined;

/** Builds the operator bundle once per test process, into a directory removed at exit. */
function operatorBundle(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "ballast-operator-bundle-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "kafka-operator.mjs");
    await bundle(operators["kafka-operator"], file);
    return file;
  })();
  return built;
}

export interface OperatorProcess {
  readonly pid: number;
  /** Everything it logged so far (JSON lines). */
  output(): string;
  /** SIGKILL: no shutdown hook runs, as when a node dies. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
}

export async function startOperator(
  kubeconfig: string,
  options: {
    namespace?: string;
    installCrds?: boolean;
    logTo?: (line: string) => void;
    /** Extra environment, e.g. LEADER_ELECTION_NAMESPACE or BALLAST_TRACE_REQUESTS. */
    env?: Record<string, string>;
  } = {},
): Promise<OperatorProcess> {
  const args = [...OPERATOR_NODE_FLAGS, await operatorBundle(), `--kubeconfig=${kubeconfig}`];
  if (options.namespace) args.push(`--namespace=${options.namespace}`);
  if (options.installCrds) args.push("--install-crds");
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      ...process.env,
      METRICS_PORT: "0",
      HEALTH_PORT: "0",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const take = (chunk: Buffer) => {
    const text = chunk.toString();
    out += text;
    if (options.logTo) for (const line of text.split("\n")) if (line) options.logTo(line);
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return {
    pid: child.pid ?? -1,
    output: () => out,
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
