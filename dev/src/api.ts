/**
 * A minimal HTTPS client for the local cluster's API server, for the dev
 * tooling and its tests (the operator SDK has its own, full client). It speaks
 * as the cluster admin by default, or with a bearer token to act as someone
 * less privileged.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";

export interface ApiAuth {
  server: string;
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

interface KubeconfigJson {
  clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
  users: {
    user: { "client-certificate-data"?: string; "client-key-data"?: string; token?: string };
  }[];
}

/** Reads one of the kubeconfigs the control plane writes (JSON, certificates inlined). */
export function authFromKubeconfig(path: string): ApiAuth {
  const config = JSON.parse(readFileSync(path, "utf8")) as KubeconfigJson;
  const cluster = config.clusters[0]?.cluster;
  const user = config.users[0]?.user;
  if (!cluster || !user) throw new Error(`${path} has no cluster or user`);
  const b64 = (v: string | undefined) => (v ? Buffer.from(v, "base64") : undefined);
  const auth: ApiAuth = {
    server: cluster.server,
    ca: Buffer.from(cluster["certificate-authority-data"], "base64"),
  };
  const cert = b64(user["client-certificate-data"]);
  const key = b64(user["client-key-data"]);
  if (cert) auth.cert = cert;
  if (key) auth.key = key;
  if (user.token) auth.token = user.token;
  return auth;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  contentType?: string;
  /** Acts as this bearer token's owner instead of the kubeconfig's user. */
  token?: string;
  signal?: AbortSignal;
}

function send(auth: ApiAuth, path: string, options: RequestOptions) {
  const headers: Record<string, string> = { accept: "application/json" };
  const useToken = options.token ?? auth.token;
  if (useToken) headers.authorization = `Bearer ${useToken}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] = options.contentType ?? "application/json";
    // Always framed by length: Node sends a DELETE body neither chunked nor
    // with a length, and the API server then reads it as the next request on
    // the kept-alive connection ("400 Bad Request").
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  const req = request(new URL(path, auth.server), {
    method: options.method ?? "GET",
    headers,
    ca: auth.ca,
    // A token replaces the client certificate: send one or the other.
    ...(options.token ? {} : { cert: auth.cert, key: auth.key }),
    signal: options.signal,
  });
  return { req, payload };
}

export function apiRequest<T = unknown>(
  auth: ApiAuth,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  return new Promise((resolve, reject) => {
    const { req, payload } = send(auth, path, options);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => {
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // Not JSON (e.g. /readyz): keep the text.
        }
        resolve({ status: res.statusCode ?? 0, body: body as T });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

export interface WatchEvent<T = Record<string, unknown>> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/**
 * Streams a watch (`path` must carry `watch=1`) until `signal` aborts; each
 * line the server sends is one event.
 */
export function apiWatch(
  auth: ApiAuth,
  path: string,
  onEvent: (event: WatchEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const { req } = send(auth, path, { signal });
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch ${path} answered ${res.statusCode}`));
        res.resume();
        return;
      }
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent);
        }
      });
      res.on("end", resolve);
      res.on("error", () => resolve());
    });
    req.on("error", (error) => (signal.aborted ? resolve() : reject(error)));
    req.end();
  });
}
