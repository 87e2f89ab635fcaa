/**
 * The HTTP transport: node:https over one keep-alive Agent per client.
 *
 * client-node is used only to read the kubeconfig and produce credentials;
 * its own request stack is not, because its watch can stall without notice and
 * hides the socket we need to time out and cut. node:https (rather than
 * undici, which client-node also ships) gives the watch direct control of the
 * socket and its `IncomingMessage` stream, with no WHATWG-stream layer per
 * request; the Agent keeps TLS connections alive so steady-state requests
 * skip the handshake.
 */

import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from "node:http";
import { Agent, type RequestOptions, request } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeConnectionError } from "./errors.ts";

export interface TransportRequest {
  method: string;
  /** Path and query, e.g. `/api/v1/namespaces/x/configmaps?limit=5`. */
  path: string;
  body?: string | undefined;
  contentType?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface RawResponse {
  status: number;
  headers: IncomingMessage["headers"];
  /** The body as text; JSON is parsed by the caller, once. */
  text: string;
}

export interface OpenStream {
  status: number;
  response: IncomingMessage;
  request: ClientRequest;
}

/** Credentials that change (exec plugins, projected token files) are re-read this often. */
const dynamicAuthRefreshMs = 30_000;

export class Transport {
  readonly server: URL;
  readonly #agent: Agent | HttpAgent;
  readonly #request: typeof request;
  readonly #kubeConfig: KubeConfig;
  readonly #dynamicAuth: boolean;
  #headers: OutgoingHttpHeaders = {};
  #headersAt = Number.NEGATIVE_INFINITY;
  #headersPending: Promise<void> | undefined;

  private constructor(
    kubeConfig: KubeConfig,
    server: URL,
    agent: Agent | HttpAgent,
    dynamicAuth: boolean,
  ) {
    this.#kubeConfig = kubeConfig;
    this.server = server;
    this.#agent = agent;
    // Plain HTTP only for `kubectl proxy` and in-cluster ports 80/8080/8001.
    this.#request = server.protocol === "http:" ? (httpRequest as typeof request) : request;
    this.#dynamicAuth = dynamicAuth;
  }

  static async create(kubeConfig: KubeConfig): Promise<Transport> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    const user = kubeConfig.getCurrentUser();
    const tls: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(tls);
    const server = new URL(cluster.server);
    const keepAlive = {
      keepAlive: true,
      // Watches hold a socket each for minutes; requests must not queue behind them.
      maxSockets: Number.POSITIVE_INFINITY,
      maxFreeSockets: 32,
    };
    const agent =
      server.protocol === "http:"
        ? new HttpAgent(keepAlive)
        : new Agent({
            ...keepAlive,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
            ...(tls.rejectUnauthorized !== undefined
              ? { rejectUnauthorized: tls.rejectUnauthorized }
              : {}),
            ...(tls.servername ? { servername: tls.servername } : {}),
          });
    const dynamic = Boolean(user?.exec || user?.authProvider);
    const transport = new Transport(kubeConfig, server, agent, dynamic);
    transport.#headers = pickAuthHeaders(tls.headers, tls.auth);
    transport.#headersAt = performance.now();
    return transport;
  }

  async #authHeaders(force = false): Promise<OutgoingHttpHeaders> {
    if (!this.#dynamicAuth) return this.#headers;
    if (!force && performance.now() - this.#headersAt < dynamicAuthRefreshMs) return this.#headers;
    this.#headersPending ??= (async () => {
      try {
        const opts: RequestOptions = {};
        await this.#kubeConfig.applyToHTTPSOptions(opts);
        this.#headers = pickAuthHeaders(opts.headers, opts.auth);
        this.#headersAt = performance.now();
      } finally {
        this.#headersPending = undefined;
      }
    })();
    await this.#headersPending;
    return this.#headers;
  }

  /** Opens a request and resolves with the response head; the body is the caller's to read. */
  async open(req: TransportRequest, accept = "application/json"): Promise<OpenStream> {
    const first = await this.#openOnce(req, accept, false);
    // A rotated token: refresh credentials once and retry, as client-go does.
    if (first.status === 401 && this.#dynamicAuth) {
      first.response.resume();
      return this.#openOnce(req, accept, true);
    }
    return first;
  }

  async #openOnce(req: TransportRequest, accept: string, forceAuth: boolean): Promise<OpenStream> {
    const auth = await this.#authHeaders(forceAuth);
    const headers: OutgoingHttpHeaders = { ...auth, accept };
    if (req.body !== undefined) {
      headers["content-type"] = req.contentType ?? "application/json";
      headers["content-length"] = Buffer.byteLength(req.body);
    }
    const label = `${req.method} ${req.path}`;
    return new Promise((resolve, reject) => {
      let clientRequest: ClientRequest;
      try {
        clientRequest = this.#request({
          protocol: this.server.protocol,
          hostname: this.server.hostname,
          port: this.server.port,
          path: joinPath(this.server.pathname, req.path),
          method: req.method,
          headers,
          agent: this.#agent,
          ...(req.signal ? { signal: req.signal } : {}),
        });
      } catch (error) {
        reject(new KubeConnectionError(label, error));
        return;
      }
      clientRequest.once("response", (response) =>
        resolve({ status: response.statusCode ?? 0, response, request: clientRequest }),
      );
      clientRequest.once("error", (error) => {
        reject(req.signal?.aborted ? req.signal.reason : new KubeConnectionError(label, error));
      });
      clientRequest.end(req.body);
    });
  }

  /** A whole request: the body is read to the end as UTF-8 text. */
  async send(req: TransportRequest): Promise<RawResponse> {
    const { status, response } = await this.open(req);
    const label = `${req.method} ${req.path}`;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("end", () =>
        resolve({
          status,
          headers: response.headers,
          text:
            chunks.length === 1
              ? (chunks[0] as Buffer).toString("utf8")
              : Buffer.concat(chunks).toString("utf8"),
        }),
      );
      response.once("error", (error) =>
        reject(req.signal?.aborted ? req.signal.reason : new KubeConnectionError(label, error)),
      );
      response.once("aborted", () =>
        reject(new KubeConnectionError(label, new Error("response aborted"))),
      );
    });
  }

  /** Closes idle keep-alive sockets; open watches end when their signals abort. */
  close(): void {
    this.#agent.destroy();
  }
}

function pickAuthHeaders(
  headers: RequestOptions["headers"],
  basic: string | null | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (headers && !Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) out[name.toLowerCase()] = value;
    }
  }
  if (basic) out.authorization = `Basic ${Buffer.from(basic).toString("base64")}`;
  return out;
}

function joinPath(base: string, path: string): string {
  if (base === "/" || base === "") return path;
  return `${base.replace(/\/$/, "")}${path}`;
}
