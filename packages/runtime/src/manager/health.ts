/**
 * The HTTP endpoints a Kubernetes Deployment probes and Prometheus scrapes:
 * `/metrics`, `/healthz` (liveness: the process answers) and `/readyz`
 * (readiness: named checks, all passing).
 *
 * Why checks answer with a reason: `kubectl describe pod` shows the probe
 * body, so "controller greeting: caches not synced" beats a bare 503.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { http } from "../_http.ts";

/** Passes by returning (anything); fails by throwing or returning a string reason. */
export type Check = () => undefined | string | Promise<undefined | string>;

export interface Endpoints {
  metrics?: { render(): Promise<string>; contentType: string };
  healthz?: Map<string, Check>;
  readyz?: Map<string, Check>;
}

/** Starts one HTTP server answering `endpoints`; resolves once it listens. */
export async function serve(port: number, host: string, endpoints: Endpoints): Promise<Server> {
  const server = http.createServer((req, res) => {
    handle(req, res, endpoints).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`internal error: ${String(error)}\n`);
    });
  });
  // Probes and scrapes are short; a kept-alive socket must not hold up shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export async function close(server: Server): Promise<void> {
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function handle(req: IncomingMessage, res: ServerResponse, endpoints: Endpoints) {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  if (path === "/metrics" && endpoints.metrics) {
    const body = await endpoints.metrics.render();
    res.writeHead(200, { "content-type": endpoints.metrics.contentType }).end(body);
    return;
  }
  const checks =
    path === "/healthz" ? endpoints.healthz : path === "/readyz" ? endpoints.readyz : undefined;
  if (!checks) {
    res.writeHead(404, { "content-type": "text/plain" }).end(`no endpoint ${path}\n`);
    return;
  }
  const failures: string[] = [];
  for (const [name, check] of checks) {
    try {
      const reason = await check();
      if (typeof reason === "string") failures.push(`${name}: ${reason}`);
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  res.writeHead(failures.length === 0 ? 200 : 503, { "content-type": "text/plain" });
  res.end(failures.length === 0 ? "ok\n" : `${failures.join("\n")}\n`);
}
