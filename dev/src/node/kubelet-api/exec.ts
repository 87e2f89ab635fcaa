/**
 * `kubectl exec` on the kubelet side: the remote-command protocol
 * (v4.channel.k8s.io / v5.channel.k8s.io) over SPDY.
 *
 * Steps, and why in this order:
 * 1. Validate the query and negotiate the protocol before upgrading, so that
 *    mistakes come back as plain HTTP errors the API server relays.
 * 2. Upgrade, then wait for the client's streams: one per requested channel
 *    (error always; stdin, stdout, stderr unless tty, resize if tty). The
 *    client opens them all before it copies anything.
 * 3. Start the process only now: a process started earlier could write
 *    output nobody is there to read.
 * 4. When it exits, let stdout and stderr drain, end them (the client waits
 *    for both to end before it looks at the error stream), then write the
 *    result as a v4 Status on the error stream: Success, or NonZeroExitCode
 *    with an ExitCode cause — what makes `kubectl exec` exit with the
 *    command's code.
 * 5. Close the connection. If the client goes away first, kill the process.
 *
 * v5 differs from v4 only over WebSockets (it adds a way to close stdin); over
 * SPDY a stream's FIN already does that, so both are served the same way.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { constants } from "node:os";
import { PassThrough } from "node:stream";
import type { Logger } from "./log.ts";
import {
  type ContainerRef,
  type ExecProcess,
  isNotFound,
  type PodRuntimeForApi,
} from "./runtime.ts";
import type { SpdySession, SpdyStream } from "./spdy/session.ts";
import {
  acceptSpdy,
  isSpdyUpgrade,
  negotiate,
  rejectUnsupportedProtocol,
  rejectUpgrade,
} from "./upgrade.ts";

export const execProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;

export interface ExecOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  command: string[];
}

export interface ExecTimeouts {
  /** How long the client has to open its streams. @default 30000 */
  streamCreationMs: number;
  /**
   * After the process exits, how long to wait for its output pipes to close.
   * A background child that inherited them could hold them open for ever.
   * @default 2000
   */
  outputDrainMs: number;
}

export class ExecRequestError extends Error {
  override name = "ExecRequestError";
}

const truthy = (value: string | null) => value === "1" || value === "true";

/**
 * The API server names the channels input/output/error when it calls the
 * kubelet (its own API says stdin/stdout/stderr); both spellings are read.
 */
function flag(query: URLSearchParams, kubeletName: string, apiName: string): boolean {
  return truthy(query.get(kubeletName)) || truthy(query.get(apiName));
}

/** Reads the exec query the way the kubelet does; throws ExecRequestError. */
export function parseExecOptions(query: URLSearchParams): ExecOptions {
  const command = query.getAll("command");
  const tty = truthy(query.get("tty"));
  const stderr = flag(query, "error", "stderr");
  const options: ExecOptions = {
    stdin: flag(query, "input", "stdin"),
    stdout: flag(query, "output", "stdout"),
    // A terminal has one output channel: stderr is folded into stdout.
    stderr: stderr && !tty,
    tty,
    command,
  };
  if (command.length === 0) throw new ExecRequestError("no command given (?command=...)");
  if (!options.stdin && !options.stdout && !stderr) {
    throw new ExecRequestError("you must specify at least 1 of stdin, stdout, stderr");
  }
  return options;
}

type Channel = "error" | "stdin" | "stdout" | "stderr" | "resize";

export function expectedChannels(options: ExecOptions): Channel[] {
  const channels: Channel[] = ["error"];
  if (options.stdin) channels.push("stdin");
  if (options.stdout) channels.push("stdout");
  if (options.stderr) channels.push("stderr");
  if (options.tty) channels.push("resize");
  return channels;
}

export function serveExec(
  request: IncomingMessage,
  socket: Socket,
  head: Buffer,
  ref: ContainerRef,
  runtime: PodRuntimeForApi,
  log: Logger,
  timeouts: ExecTimeouts,
): void {
  let options: ExecOptions;
  try {
    options = parseExecOptions(new URL(request.url ?? "/", "https://kubelet").searchParams);
  } catch (error) {
    rejectUpgrade(socket, 400, (error as Error).message);
    return;
  }
  if (!isSpdyUpgrade(request)) {
    rejectUpgrade(socket, 400, "Upgrade request required (SPDY/3.1)");
    return;
  }
  const protocol = negotiate(request, execProtocols);
  if (!protocol) {
    rejectUnsupportedProtocol(socket, request, execProtocols);
    return;
  }

  const wanted = new Set(expectedChannels(options));
  const streams = new Map<Channel, SpdyStream>();
  let ready: (() => void) | undefined;
  const allThere = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const session = acceptSpdy(socket, head, protocol, {
    onStream(stream) {
      const type = (stream.headers.streamtype ?? "") as Channel;
      if (!wanted.has(type) || streams.has(type)) {
        log.warn("exec: unexpected stream", { type, pod: ref.pod });
        stream.destroy();
        return;
      }
      streams.set(type, stream);
      if (streams.size === wanted.size) ready?.();
    },
    onError(error) {
      log.warn("exec: SPDY protocol error", { error: error.message, pod: ref.pod });
    },
  });

  const timer = setTimeout(() => {
    log.warn("exec: client did not open its streams in time", {
      pod: ref.pod,
      missing: [...wanted].filter((c) => !streams.has(c)),
    });
    session.destroy();
  }, timeouts.streamCreationMs);
  const closed = new Promise<void>((resolve) => session.once("close", resolve));
  void Promise.race([allThere, closed]).then(() => {
    clearTimeout(timer);
    if (session.closed) return;
    run(session, streams, ref, options, runtime, log, timeouts).catch((error: Error) => {
      log.error("exec: failed", { error: error.message, pod: ref.pod });
      session.destroy();
    });
  });
}

async function run(
  session: SpdySession,
  streams: Map<Channel, SpdyStream>,
  ref: ContainerRef,
  options: ExecOptions,
  runtime: PodRuntimeForApi,
  log: Logger,
  timeouts: ExecTimeouts,
): Promise<void> {
  const errorStream = streams.get("error") as SpdyStream;
  // The client never writes to the error stream; reading lets it end.
  errorStream.resume();
  // Stdin may arrive before the process exists; keep it until then.
  const stdinBuffer = new PassThrough();
  const stdin = streams.get("stdin");
  stdin?.pipe(stdinBuffer);

  let proc: ExecProcess;
  try {
    proc = await runtime.exec(ref, options.command, { stdin: options.stdin, tty: options.tty });
  } catch (error) {
    await finish(session, streams, failureStatus(error));
    return;
  }
  log.debug("exec: started", { pod: ref.pod, container: ref.container, command: options.command });

  const onClientGone = () => proc.kill();
  session.once("close", onClientGone);

  if (proc.stdin) {
    // EPIPE once the command exits without reading all its input: expected,
    // and no reason to crash the agent.
    proc.stdin.on("error", (error: Error) =>
      log.debug("exec: stdin closed", { error: error.message }),
    );
    stdinBuffer.pipe(proc.stdin);
  } else stdinBuffer.resume();

  const resize = streams.get("resize");
  if (resize) watchResizes(resize, proc, log);

  const outputs: Promise<void>[] = [];
  const stdout = streams.get("stdout");
  const stderr = streams.get("stderr") ?? (options.tty ? stdout : undefined);
  outputs.push(forward(proc.stdout, stdout));
  if (proc.stderr) outputs.push(forward(proc.stderr, stderr));

  const result = await proc.exited;
  await Promise.race([Promise.all(outputs), delay(timeouts.outputDrainMs)]);
  session.off("close", onClientGone);
  if (session.closed) return;
  log.debug("exec: exited", { pod: ref.pod, ...result });
  await finish(session, streams, exitStatus(result));
}

/** Copies a process pipe into a stream without ending it (ends happen in `finish`). */
function forward(from: NodeJS.ReadableStream, to: SpdyStream | undefined): Promise<void> {
  return new Promise((resolve) => {
    from.on("end", resolve);
    from.on("close", resolve);
    from.on("error", () => resolve());
    if (!to) {
      from.resume();
      return;
    }
    // Output nobody can receive any more is drained, never left to fill the
    // pipe: a command blocked on a full pipe would never exit.
    to.once("close", () => from.resume());
    from.on("data", (chunk: Buffer | string) => {
      if (to.destroyed || to.writableEnded) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
  });
}

function watchResizes(stream: SpdyStream, proc: ExecProcess, log: Logger): void {
  // The client writes one JSON object per line: {"Width":80,"Height":24}.
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (text: string) => {
    pending += text;
    for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line) continue;
      try {
        const size = JSON.parse(line) as { Width?: number; Height?: number };
        if (size.Width && size.Height) proc.resize?.(size.Width, size.Height);
      } catch {
        log.warn("exec: ignoring a malformed resize message", { line });
      }
    }
  });
}

/** Ends the data streams, reports `status` on the error stream, closes. */
async function finish(
  session: SpdySession,
  streams: Map<Channel, SpdyStream>,
  status: object,
): Promise<void> {
  const ends: Promise<void>[] = [];
  for (const channel of ["stdout", "stderr", "stdin", "resize"] as const) {
    const stream = streams.get(channel);
    if (stream && !stream.destroyed) ends.push(endStream(stream));
  }
  await Promise.all(ends);
  const errorStream = streams.get("error");
  if (errorStream && !errorStream.destroyed) {
    await endStream(errorStream, Buffer.from(JSON.stringify(status)));
  }
  session.close();
}

function endStream(stream: SpdyStream, last?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableEnded) {
      resolve();
      return;
    }
    stream.once("close", () => resolve());
    if (last) stream.end(last, () => resolve());
    else stream.end(() => resolve());
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The v4 error-stream document for a finished process. */
export function exitStatus(result: { code: number | null; signal: string | null }): object {
  let code = result.code;
  if (code === null && result.signal) {
    // What container runtimes report for a process killed by a signal.
    const number = constants.signals[result.signal as keyof typeof constants.signals];
    code = 128 + (number ?? 9);
  }
  if (code === 0) return { metadata: {}, status: "Success" };
  const exitCode = code ?? 1;
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** The v4 error-stream document for a command that never ran. */
export function failureStatus(error: unknown): object {
  const message = error instanceof Error ? error.message : String(error);
  if (isNotFound(error)) {
    return { metadata: {}, status: "Failure", message, reason: "NotFound", code: 404 };
  }
  return {
    metadata: {},
    status: "Failure",
    message: `error executing command in container: ${message}`,
    reason: "InternalError",
    code: 500,
  };
}
