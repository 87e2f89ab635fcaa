/**
 * What the kubelet API needs from the node agent: logs, exec and port-forward
 * for the pods it runs. The HTTP and SPDY side lives in this folder; the agent
 * implements this interface and knows nothing about either.
 */
import type { Socket } from "node:net";

export interface ContainerRef {
  namespace: string;
  pod: string;
  container: string;
}

export interface PodRef {
  namespace: string;
  pod: string;
  /** Set when the caller addressed the pod by UID too; a mismatch is NotFound. */
  uid?: string;
}

export interface LogOptions {
  /** Keep the stream open and send lines as they are written. */
  follow: boolean;
  /** The container's previous run (the one before the last restart). */
  previous: boolean;
  /** Only the last N lines (before following). */
  tailLines?: number;
  /** Stop after this many bytes. The server enforces it too. */
  limitBytes?: number;
  /** Prefix each line with its RFC 3339 timestamp. */
  timestamps: boolean;
  /** Only lines written in the last N seconds (the server turns `sinceTime` into this). */
  sinceSeconds?: number;
}

export interface PodRuntimeForApi {
  /**
   * Logs of a container: the current run, or the previous one. Rejects with
   * `NotFoundError` if the pod, container or previous run is unknown. The
   * stream ends when the logs do (never, while following, until `signal`
   * aborts: the client went away).
   */
  logs(ref: ContainerRef, opts: LogOptions, signal: AbortSignal): Promise<NodeJS.ReadableStream>;
  /**
   * Starts `command` inside the container's namespaces. Rejects with
   * `NotFoundError` for an unknown pod or container, or with any error when
   * the command cannot start (the message reaches the user).
   */
  exec(
    ref: ContainerRef,
    command: string[],
    io: { stdin: boolean; tty: boolean },
  ): Promise<ExecProcess>;
  /**
   * A TCP connection to `port` inside the pod's network. Rejects with
   * `NotFoundError` for an unknown pod, or the connect error.
   */
  portForward(ref: PodRef, port: number): Promise<Socket>;
}

export interface ExecProcess {
  /** Present when `io.stdin` was asked for; ended when the client's stdin ends. */
  stdin?: NodeJS.WritableStream;
  stdout: NodeJS.ReadableStream;
  /** Absent, or merged into stdout by the runtime, when `io.tty` is set. */
  stderr?: NodeJS.ReadableStream;
  /** Terminal size changes (tty only). */
  resize?(cols: number, rows: number): void;
  /** Resolves when the process has exited; `signal` is a name such as "SIGKILL". */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Kills the process (the client went away). */
  kill(): void;
}

/** The runtime does not know the pod, container or previous run asked for. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

export function isNotFound(error: unknown): boolean {
  return (
    error instanceof NotFoundError ||
    (error instanceof Error &&
      (error.name === "NotFoundError" || (error as NodeJS.ErrnoException).code === "ENOENT"))
  );
}
