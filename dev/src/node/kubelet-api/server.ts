/**
 * The kubelet's HTTPS API, the part the API server calls for `kubectl logs`,
 * `kubectl exec` and `kubectl port-forward`:
 *
 *   GET       /healthz                                       → "ok" (no client cert needed)
 *   GET       /containerLogs/{namespace}/{pod}/{container}   → plain text
 *   GET|POST  /exec/{namespace}/{pod}[/{uid}]/{container}    → SPDY upgrade
 *   GET|POST  /portForward/{namespace}/{pod}[/{uid}]         → SPDY upgrade
 *
 * Every other route needs a client certificate from the cluster CA (401
 * otherwise) whose name is on the allow-list (403 otherwise); see auth.ts.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { authenticate, authorize, defaultAllowedUsers } from "./auth.ts";
import { serveExec } from "./exec.ts";
import { type Logger, silentLogger } from "./log.ts";
import { plain, serveLogs } from "./logs.ts";
import { servePortForward } from "./portforward.ts";
import type { PodRuntimeForApi } from "./runtime.ts";
import { rejectUpgrade } from "./upgrade.ts";

export interface KubeletApiOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port; read it back from the result. @default 0 */
  port?: number;
  /** PEM contents or file paths. */
  tls: { cert: string | Buffer; key: string | Buffer; clientCa: string | Buffer };
  runtime: PodRuntimeForApi;
  log?: Logger;
  /** Certificate common names allowed to call. @default ["kube-apiserver-kubelet-client"] */
  allowedUsers?: readonly string[];
  /** How long a client has to open the streams of an exec or port-forward pair. @default 30000 */
  streamCreationTimeoutMs?: number;
  /** After an exec'd process exits, how long its output may take to drain. @default 2000 */
  outputDrainMs?: number;
}

export interface KubeletApi {
  port: number;
  /** Stops accepting, ends streaming connections, resolves when all are gone. */
  close(): Promise<void>;
}

/** A PEM given inline, or the path of a file holding one. */
function pem(value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  return value.includes("-----BEGIN") ? Buffer.from(value) : readFileSync(value);
}

type Route =
  | { kind: "healthz" }
  | { kind: "logs"; namespace: string; pod: string; container: string }
  | { kind: "exec"; namespace: string; pod: string; uid?: string; container: string }
  | { kind: "portForward"; namespace: string; pod: string; uid?: string }
  | { kind: "notFound" };

export function route(url: string): Route {
  const path = new URL(url, "https://kubelet").pathname;
  if (path === "/healthz") return { kind: "healthz" };
  let parts: string[];
  try {
    parts = path.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return { kind: "notFound" };
  }
  if (parts.some((p) => p === "")) return { kind: "notFound" };
  const [head, namespace, pod, a, b] = parts as [string, string, string, string?, string?];
  switch (`${head}/${parts.length}`) {
    case "containerLogs/4":
      return { kind: "logs", namespace, pod, container: a as string };
    case "exec/4":
      return { kind: "exec", namespace, pod, container: a as string };
    case "exec/5":
      return { kind: "exec", namespace, pod, uid: a as string, container: b as string };
    case "portForward/3":
      return { kind: "portForward", namespace, pod };
    case "portForward/4":
      return { kind: "portForward", namespace, pod, uid: a as string };
    default:
      return { kind: "notFound" };
  }
}

export async function startKubeletApi(options: KubeletApiOptions): Promise<KubeletApi> {
  const log = options.log ?? silentLogger;
  const allowed = options.allowedUsers ?? defaultAllowedUsers;
  const streamCreationMs = options.streamCreationTimeoutMs ?? 30_000;
  const outputDrainMs = options.outputDrainMs ?? 2_000;
  const runtime = options.runtime;
  const upgraded = new Set<Socket>();

  const server = createServer({
    cert: pem(options.tls.cert),
    key: pem(options.tls.key),
    ca: pem(options.tls.clientCa),
    requestCert: true,
    // Verify, but let the handshake finish, so a caller without a valid
    // certificate gets a readable 401 instead of a TLS alert.
    rejectUnauthorized: false,
  });

  /** Null when the caller may proceed; otherwise the status to answer. */
  const denial = (request: IncomingMessage): { status: number; message: string } | null => {
    const caller = authenticate(request.socket as TLSSocket);
    if (!caller) return { status: 401, message: "Unauthorized" };
    if (!authorize(caller, allowed)) {
      return {
        status: 403,
        message: `Forbidden (user=${caller.user}, verb=${request.method}, path=${new URL(request.url ?? "/", "https://kubelet").pathname})`,
      };
    }
    return null;
  };

  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const target = route(request.url ?? "/");
    if (target.kind === "healthz") {
      plain(response, 200, "ok");
      return;
    }
    const denied = denial(request);
    if (denied) {
      plain(response, denied.status, denied.message);
      return;
    }
    switch (target.kind) {
      case "logs":
        if (request.method !== "GET") {
          plain(response, 405, `method ${request.method} not allowed`);
          return;
        }
        void serveLogs(request, response, target, runtime, log).catch((error: Error) => {
          log.error("logs: unexpected failure", { error: error.message });
          response.destroy();
        });
        return;
      case "exec":
      case "portForward":
        plain(response, 400, "Upgrade request required");
        return;
      default:
        plain(response, 404, "404 page not found");
    }
  });

  server.on("upgrade", (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", (error) => log.debug("upgraded connection error", { error: error.message }));
    const target = route(request.url ?? "/");
    const denied = denial(request);
    if (denied) {
      rejectUpgrade(socket, denied.status, denied.message);
      return;
    }
    if (request.method !== "GET" && request.method !== "POST") {
      rejectUpgrade(socket, 405, `method ${request.method} not allowed`);
      return;
    }
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    switch (target.kind) {
      case "exec": {
        const { kind: _, uid: __, ...ref } = target;
        serveExec(request, socket, head, ref, runtime, log, {
          streamCreationMs,
          outputDrainMs,
        });
        return;
      }
      case "portForward": {
        const { kind: _, ...ref } = target;
        servePortForward(request, socket, head, ref, runtime, log, streamCreationMs);
        return;
      }
      default:
        rejectUpgrade(socket, 404, "404 page not found");
    }
  });

  server.on("tlsClientError", (error) =>
    log.debug("TLS handshake failed", { error: error.message }),
  );

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info("kubelet API listening", { host: options.host ?? "127.0.0.1", port });

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      }),
  };
}
