/**
 * `exec()`: runs a command in a pod's container through the API server, as
 * `kubectl exec` does, and collects its exit code and output. For day-2
 * operations that only the data system's own tool can do (`nodetool`, a
 * ZooKeeper reconfig).
 *
 * Steps:
 * 1. `GET /api/v1/namespaces/NS/pods/NAME/exec?command=…&stdout=1&stderr=1`
 *    with a WebSocket upgrade offering `v5.channel.k8s.io` (then v4),
 *    through the client's own transport: same credentials, TLS, rate limit.
 *    A refusal before the upgrade (403, 404, a bad container name) is the
 *    API server's Status, thrown as `KubeApiError`.
 * 2. Check the handshake, then send stdin (if any) and close it with v5's
 *    stream-close message, so `cat`-like commands reach end-of-file.
 * 3. Collect stdout and stderr until the error channel carries the Status:
 *    Success is exit code 0, NonZeroExitCode carries the code; a non-zero
 *    exit is a result, not an error. Any other Status (the container is not
 *    running, the node cannot be reached) is thrown as `KubeApiError`.
 * 4. Close the WebSocket. On timeout or abort, close it at once. Caveat: the
 *    command goes on running in the container until it ends by itself,
 *    because the API server keeps its stream to the kubelet open until then
 *    (as for a killed `kubectl exec`, kubernetes/kubernetes#89031). A command
 *    that must not outlive the caller bounds itself: `timeout 30 nodetool …`.
 *
 * Since Kubernetes 1.30 the API server translates this WebSocket protocol to
 * SPDY towards the kubelet, and only v5 takes that path; v4 is offered for
 * older servers, which pass WebSockets through to the kubelet.
 */
import type { Duplex } from "node:stream";
import { type KubeClient, openUpgrade, type Upgraded } from "../client/client.ts";
import { KubeApiError } from "../client/errors.ts";
import { Channel, canCloseStdin, channelProtocols, outcomeOf, stdinMessages } from "./_channel.ts";
import {
  CloseCode,
  checkHandshake,
  closePayload,
  encodeFrame,
  handshakeHeaders,
  handshakeKey,
  Opcode,
  type WebSocketEvent,
  WebSocketProtocolError,
  WebSocketReader,
} from "./_websocket.ts";
import {
  describeExec,
  ExecOutputLimitError,
  ExecStreamError,
  type ExecTarget,
  ExecTimeoutError,
} from "./errors.ts";

export interface ExecOptions {
  /**
   * The container to run in. Without it the API server picks the pod's only
   * container, and refuses (400) when there are several.
   * @default the pod's only container
   */
  container?: string | undefined;
  /**
   * Written to the command's stdin, which then reaches end-of-file (v5's
   * stream close). Without it the command runs with no stdin at all.
   * @default no stdin
   */
  stdin?: string | Uint8Array | undefined;
  /**
   * How long to wait for the exit status, connection included; then the
   * connection is closed and `ExecTimeoutError` thrown, but the command is
   * not killed (see step 4 above). `Infinity` (or anything over 24.8 days)
   * waits for ever: a repair may take hours.
   * @default 60_000
   */
  timeoutMs?: number | undefined;
  /**
   * Stdout and stderr together are kept in memory up to this size; a
   * command that writes more fails with `ExecOutputLimitError`.
   * @default 16 MiB
   */
  maxOutputBytes?: number | undefined;
  /** Aborting closes the connection and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** A command that ran to the end, whatever its exit code. */
export interface ExecResult {
  exitCode: number;
  /** UTF-8. */
  stdout: string;
  /** UTF-8. */
  stderr: string;
}

/**
 * Runs `command` (argv; no shell unless you run one) in `pod` and resolves
 * when it has exited. Needs RBAC `get` and `create` on `pods/exec`: the
 * upgrade is a GET, and API servers since 1.35 also check `create` for it.
 *
 * Throws `KubeApiError` when the API server refuses (`isNotFound` for a
 * missing pod, `isForbidden`, 400 for an unknown container) or cannot run
 * the command; `ExecTimeoutError`, `ExecOutputLimitError`, `ExecStreamError`
 * for the rest; the signal's reason when aborted.
 */
export async function exec(
  client: KubeClient,
  pod: { namespace: string; name: string },
  command: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const target: ExecTarget = { namespace: pod.namespace, name: pod.name };
  if (options.container) target.container = options.container;
  if (command.length === 0) throw new TypeError(`${describeExec(target, command)}: no command`);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutputBytes = options.maxOutputBytes ?? 16 * 1024 * 1024;
  // `!(x >= 0)` also catches NaN, which would otherwise mean "no timeout".
  if (!(timeoutMs >= 0) || !(maxOutputBytes >= 0)) {
    throw new TypeError(
      `${describeExec(target, command)}: timeoutMs ${timeoutMs} and maxOutputBytes ${maxOutputBytes} must be numbers >= 0`,
    );
  }
  const deadline = new AbortController();
  // Node fires a timer of more than 2^31-1 ms (24.8 days) at once: take those as "no timeout".
  const timer =
    timeoutMs <= 2_147_483_647
      ? setTimeout(
          () => deadline.abort(new ExecTimeoutError(target, command, timeoutMs)),
          timeoutMs,
        )
      : undefined;
  const signal = options.signal
    ? AbortSignal.any([options.signal, deadline.signal])
    : deadline.signal;
  try {
    signal.throwIfAborted();
    const key = handshakeKey();
    const upgraded = await openUpgrade(client, {
      path: `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}/exec`,
      search: execQuery(command, options),
      headers: handshakeHeaders(key, channelProtocols),
      signal,
      subject: { request: describeExec(target, command) },
    });
    return await session(upgraded, key, {
      target,
      command,
      stdin: options.stdin,
      maxOutputBytes,
      signal,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** The API's own names (`stdin`, `stdout`, …); the API server renames them for the kubelet. */
function execQuery(command: readonly string[], options: ExecOptions): string {
  const query = new URLSearchParams();
  for (const arg of command) query.append("command", arg);
  query.set("stdout", "1");
  query.set("stderr", "1");
  if (options.stdin !== undefined) query.set("stdin", "1");
  if (options.container) query.set("container", options.container);
  return `?${query.toString()}`;
}

interface SessionParams {
  target: ExecTarget;
  command: readonly string[];
  stdin: string | Uint8Array | undefined;
  maxOutputBytes: number;
  signal: AbortSignal;
}

/** Steps 2 to 4 on the upgraded socket. */
function session(upgraded: Upgraded, key: string, params: SessionParams): Promise<ExecResult> {
  const { socket } = upgraded;
  const { target, command, stdin, maxOutputBytes, signal } = params;
  const streamError = (why: string, cause?: unknown) =>
    new ExecStreamError(target, command, why, cause === undefined ? undefined : { cause });
  let protocol: string;
  try {
    protocol = checkHandshake(upgraded.headers, key, channelProtocols);
  } catch (error) {
    socket.destroy();
    return Promise.reject(streamError((error as Error).message, error));
  }
  if (stdin !== undefined && !canCloseStdin(protocol)) {
    socket.destroy();
    return Promise.reject(
      streamError(`the API server speaks only ${protocol}, which cannot end stdin`),
    );
  }

  return new Promise<ExecResult>((resolve, reject) => {
    const reader = new WebSocketReader();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outputBytes = 0;
    let settled = false;

    const send = (opcode: Opcode, payload?: Uint8Array) => {
      if (socket.writable) socket.write(encodeFrame({ opcode, payload }));
    };
    const settle = (outcome: () => void, closeCode: number) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      hangUp(socket, closeCode);
      outcome();
    };
    const fail = (error: unknown, closeCode: number = CloseCode.normal) =>
      settle(() => reject(error), closeCode);

    const onEvent = (event: WebSocketEvent) => {
      if (event.type === "ping") send(Opcode.pong, event.data);
      if (event.type === "close") {
        fail(
          streamError(
            `the API server closed the stream without an exit status (close ${event.code}${event.reason ? `: ${event.reason}` : ""})`,
          ),
        );
      }
      if (event.type !== "message" || event.data.length === 0) return;
      const channel = event.data[0];
      const data = event.data.subarray(1);
      // The server's first message is an empty one on stdout: "connected".
      if (data.length === 0) return;
      if (channel === Channel.stdout || channel === Channel.stderr) {
        outputBytes += data.length;
        if (outputBytes > maxOutputBytes) {
          fail(new ExecOutputLimitError(target, command, maxOutputBytes));
          return;
        }
        (channel === Channel.stdout ? stdout : stderr).push(data);
        return;
      }
      if (channel !== Channel.error) return;
      // The Status comes last: the server writes it once both outputs have ended.
      const outcome = outcomeOf(data.toString("utf8"));
      if (outcome.type === "failed") {
        const status = outcome.status;
        fail(
          new KubeApiError(status, status.code ?? 500, { request: describeExec(target, command) }),
        );
        return;
      }
      settle(
        () =>
          resolve({
            exitCode: outcome.exitCode,
            stdout: Buffer.concat(stdout).toString("utf8"),
            stderr: Buffer.concat(stderr).toString("utf8"),
          }),
        CloseCode.normal,
      );
    };

    const onData = (chunk: Buffer) => {
      if (settled) return;
      let events: WebSocketEvent[];
      try {
        events = reader.push(chunk);
      } catch (error) {
        const code =
          error instanceof WebSocketProtocolError ? error.closeCode : CloseCode.protocolError;
        fail(streamError(`WebSocket protocol error: ${(error as Error).message}`, error), code);
        return;
      }
      for (const event of events) {
        if (settled) return;
        onEvent(event);
      }
    };
    const onAbort = () => fail(signal.reason, CloseCode.goingAway);

    signal.addEventListener("abort", onAbort, { once: true });
    socket.on("error", (error: Error) =>
      fail(streamError(`the connection failed: ${error.message}`, error)),
    );
    socket.on("close", () =>
      fail(streamError("the connection closed before the command's exit status")),
    );
    socket.on("data", onData);
    if (upgraded.head.length > 0) onData(upgraded.head);
    if (stdin !== undefined) {
      const bytes = typeof stdin === "string" ? Buffer.from(stdin, "utf8") : stdin;
      for (const message of stdinMessages(bytes, true)) send(Opcode.binary, message);
    }
    if (signal.aborted) onAbort();
  });
}

/**
 * Sends a close frame and half-closes; the server answers by closing its
 * side. A server that does not is cut off after a second.
 */
function hangUp(socket: Duplex, code: number): void {
  if (socket.destroyed) return;
  if (socket.writable)
    socket.end(encodeFrame({ opcode: Opcode.close, payload: closePayload(code) }));
  const cutOff = setTimeout(() => socket.destroy(), 1000).unref();
  socket.once("close", () => clearTimeout(cutOff));
}
