/**
 * `kubectl port-forward` on the kubelet side: protocol portforward.k8s.io
 * over SPDY. One SPDY connection carries every local connection kubectl
 * accepts; each becomes a pair of streams sharing a `requestID` header:
 * an error stream (opened first) and a data stream, both naming the `port`.
 *
 * For each complete pair: dial the pod's port through the runtime, copy bytes
 * both ways, and half-close each direction as its source ends. An error (no
 * such pod, connection refused) is written as text on the error stream, which
 * kubectl prints. Both streams end once the pod side is done; kubectl then
 * resets the data stream, which we treat as "the local side is gone".
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "./log.ts";
import { isNotFound, type PodRef, type PodRuntimeForApi } from "./runtime.ts";
import type { SpdyStream } from "./spdy/session.ts";
import {
  acceptSpdy,
  isSpdyUpgrade,
  negotiate,
  rejectUnsupportedProtocol,
  rejectUpgrade,
} from "./upgrade.ts";

export const portForwardProtocols = ["portforward.k8s.io"] as const;

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * Streams of one request without a requestID header (clients before
 * Kubernetes 1.6) are paired the way they were opened: error, then data two
 * ids later.
 */
function requestIdOf(stream: SpdyStream, type: string): string {
  const id = stream.headers.requestid;
  if (id !== undefined && id !== "") return id;
  return String(type === "data" ? stream.id - 2 : stream.id);
}

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

export function servePortForward(
  request: IncomingMessage,
  socket: Socket,
  head: Buffer,
  ref: PodRef,
  runtime: PodRuntimeForApi,
  log: Logger,
  streamCreationMs: number,
): void {
  if (!isSpdyUpgrade(request)) {
    rejectUpgrade(socket, 400, "Upgrade request required (SPDY/3.1)");
    return;
  }
  const protocol = negotiate(request, portForwardProtocols);
  if (!protocol) {
    rejectUnsupportedProtocol(socket, request, portForwardProtocols);
    return;
  }
  const pairs = new Map<string, Pair>();
  const session = acceptSpdy(socket, head, protocol, {
    onStream(stream) {
      const type = stream.headers.streamtype;
      if (type !== "data" && type !== "error") {
        log.warn("port-forward: unexpected stream type", { type, pod: ref.pod });
        stream.destroy();
        return;
      }
      const requestId = requestIdOf(stream, type);
      let pair = pairs.get(requestId);
      if (!pair) {
        const timer = setTimeout(() => {
          // Half a pair is useless; free the stream rather than wait forever.
          pairs.delete(requestId);
          pair?.data?.destroy();
          pair?.error?.end(`timed out waiting for the other stream of request ${requestId}`);
        }, streamCreationMs);
        timer.unref();
        pair = { timer };
        pairs.set(requestId, pair);
      }
      if (pair[type]) {
        log.warn("port-forward: duplicate stream", { type, requestId, pod: ref.pod });
        stream.destroy();
        return;
      }
      pair[type] = stream;
      if (type === "error") stream.resume(); // the client only ever closes it
      const { data, error } = pair;
      if (data && error) {
        clearTimeout(pair.timer);
        pairs.delete(requestId);
        void forward(data, error, ref, runtime, log);
      }
    },
    onError(error) {
      log.warn("port-forward: SPDY protocol error", { error: error.message, pod: ref.pod });
    },
  });
  session.once("close", () => {
    for (const pair of pairs.values()) clearTimeout(pair.timer);
    pairs.clear();
  });
}

async function forward(
  data: SpdyStream,
  errorStream: SpdyStream,
  ref: PodRef,
  runtime: PodRuntimeForApi,
  log: Logger,
): Promise<void> {
  const port = parsePort(data.headers.port);
  const fail = (message: string) => {
    data.end();
    if (!errorStream.writableEnded) errorStream.end(message);
  };
  if (port === undefined) {
    fail(`invalid port ${JSON.stringify(data.headers.port ?? "")}: expected 1-65535`);
    return;
  }
  let target: Socket;
  try {
    target = await runtime.portForward(ref, port);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const prefix = isNotFound(error) ? "pod not found" : "error forwarding port";
    fail(`${prefix} ${port} to pod ${ref.namespace}/${ref.pod}: ${reason}`);
    return;
  }
  if (data.destroyed) {
    target.destroy();
    return;
  }
  log.debug("port-forward: connected", { pod: ref.pod, port });

  let failed = false;
  target.on("error", (error) => {
    failed = true;
    if (!errorStream.writableEnded) {
      errorStream.end(
        `error forwarding port ${port} to pod ${ref.namespace}/${ref.pod}: ${error.message}`,
      );
    }
    data.destroy();
  });
  // Client → pod: the client's FIN becomes ours towards the pod.
  data.pipe(target);
  // Pod → client: when the pod side ends, end both our streams; kubectl waits
  // for the error stream to end before it forgets the connection.
  target.pipe(data, { end: false });
  target.on("end", () => {
    data.end();
    if (!failed && !errorStream.writableEnded) errorStream.end();
  });
  data.on("close", () => {
    // Reset by kubectl, or the whole connection went away.
    if (!target.destroyed) target.destroy();
    if (!errorStream.destroyed && !errorStream.writableEnded) errorStream.end();
  });
}
