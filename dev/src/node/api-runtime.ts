/**
 * The node agent's side of the kubelet API: logs from the CRI log files,
 * exec through nsenter into a running container, port-forward to the pod IP.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { NodeAgent } from "./agent.ts";
import {
  type ContainerRef,
  type ExecProcess,
  type LogOptions,
  NotFoundError,
  type PodRef,
  type PodRuntimeForApi,
} from "./kubelet-api/index.ts";
import { logFile, readLog } from "./logs.ts";

export function agentRuntime(agent: NodeAgent): PodRuntimeForApi {
  const find = (ref: PodRef) => {
    const worker = agent.worker(ref.namespace, ref.pod);
    if (!worker || (ref.uid && worker.pod.metadata.uid !== ref.uid)) {
      throw new NotFoundError(`pod ${ref.namespace}/${ref.pod} is not on this node`);
    }
    return worker;
  };
  const container = (ref: ContainerRef) => {
    const worker = find(ref);
    const runner = worker.findContainer(ref.container);
    if (!runner)
      throw new NotFoundError(
        `container "${ref.container}" is not in pod ${ref.namespace}/${ref.pod}`,
      );
    return { worker, runner };
  };

  return {
    async logs(ref: ContainerRef, opts: LogOptions, signal: AbortSignal) {
      const { worker, runner } = container(ref);
      // The run being written to (or that last ended); --previous is the one before.
      const current =
        runner.running || runner.restartCount === 0 ? runner.restartCount : runner.restartCount - 1;
      const run = opts.previous ? current - 1 : current;
      const path = logFile(worker.dir, ref.container, run);
      if (run < 0 || !existsSync(path)) {
        throw new NotFoundError(
          opts.previous
            ? `previous terminated container "${ref.container}" in pod "${ref.pod}" not found`
            : `container "${ref.container}" in pod "${ref.pod}" has not started yet`,
        );
      }
      const following = !opts.previous;
      return readLog(
        path,
        {
          follow: opts.follow && following,
          timestamps: opts.timestamps,
          ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
          ...(opts.limitBytes !== undefined ? { limitBytes: opts.limitBytes } : {}),
          ...(opts.sinceSeconds !== undefined ? { sinceSeconds: opts.sinceSeconds } : {}),
        },
        signal,
        () => runner.running && runner.restartCount === run,
      );
    },

    async exec(
      ref: ContainerRef,
      command: string[],
      io: { stdin: boolean; tty: boolean },
    ): Promise<ExecProcess> {
      const { runner } = container(ref);
      if (!runner.running) throw new Error(`container "${ref.container}" is not running`);
      const argv = await runner.enter(command);
      const [cmd, ...args] = argv;
      const child = spawn(cmd ?? "false", args, {
        stdio: [io.stdin ? "pipe" : "ignore", "pipe", "pipe"],
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>(
        (resolve, reject) => {
          child.on("exit", (code, signal) => resolve({ code, signal }));
          child.on("error", reject);
        },
      );
      const { stdout, stderr } = child;
      if (!stdout || !stderr) throw new Error("exec: the process has no output pipes");
      return {
        ...(child.stdin ? { stdin: child.stdin } : {}),
        stdout,
        stderr,
        exited,
        kill: () => child.kill("SIGKILL"),
      };
    },

    async portForward(ref: PodRef, port: number): Promise<Socket> {
      const worker = find(ref);
      if (!worker.podIP) throw new Error(`pod ${ref.namespace}/${ref.pod} has no IP yet`);
      const host = worker.podIP;
      return new Promise((resolve, reject) => {
        const socket = connect({ host, port });
        socket.once("connect", () => resolve(socket));
        socket.once("error", reject);
      });
    },
  };
}
