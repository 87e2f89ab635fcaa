/**
 * The Kafka operator as a separate process, as it runs in production, so an
 * end-to-end test can SIGKILL it mid-operation and start another.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const main = join(import.meta.dirname, "..", "src", "main.ts");

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
  const args = [main, `--kubeconfig=${kubeconfig}`];
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
