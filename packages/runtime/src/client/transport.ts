/**
 * The HTTP transport: node:https over one keep-alive Agent per client.
 *
 * node:https (rather than fetch/undici) gives the watch direct control of the
 * socket and its `IncomingMessage` stream, with no WHATWG-stream layer per
 * request, so a stalled watch can be timed out and cut; the Agent keeps TLS
 * connections alive so steady-state requests skip the handshake.
 */

import type {
  ClientRequest,
  Agent as HttpAgent,
  IncomingMessage,
  OutgoingHttpHeaders,
} from "node:http";
import type { Agent, request } from "node:https";
import type { Duplex } from "node:stream";
import { http, https } from "../_http.ts";
import type { ClientConfig } from "./config.ts";
import type { Credentials } from "./credentials.ts";
import { KubeConnectionError } from "./errors.ts";

export interface TransportRequest {
  method: string;
  /** Path and query, e.g. `/api/v1/namespaces/x/configmaps?limit=5`. */
  path: string;
  body?: string | undefined;
  contentType?: string | undefined;
  signal?: AbortSignal | undefined;
  /** More headers, e.g. `Upgrade`; credentials are still the transport's. */
  headers?: OutgoingHttpHeaders | undefined;
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
  /** Set when the server switched protocols (101): the socket is now the caller's. */
  upgrade?: { socket: Duplex; head: Buffer } | undefined;
}

export class Transport {
  readonly server: URL;
  readonly #agent: Agent | HttpAgent;
  readonly #request: typeof request;
  /** Fixed for the client's life: basic auth or a fixed token, impersonation. */
  readonly #headers: OutgoingHttpHeaders;
  readonly #credentials: Credentials | undefined;

  private constructor(config: ClientConfig, server: URL, agent: Agent | HttpAgent) {
    this.server = server;
    this.#agent = agent;
    // Plain HTTP only for `kubectl proxy` and in-cluster ports 80/8080/8001.
    this.#request = server.protocol === "http:" ? (http.request as typeof request) : https.request;
    this.#credentials = config.credentials;
    this.#headers = staticHeaders(config);
  }

  static create(config: ClientConfig): Transport {
    const server = new URL(config.server);
    const keepAlive = {
      keepAlive: true,
      // Watches hold a socket each for minutes; requests must not queue behind them.
      maxSockets: Number.POSITIVE_INFINITY,
      maxFreeSockets: 32,
    };
    const agent =
      server.protocol === "http:"
        ? new http.Agent(keepAlive)
        : new https.Agent({
            ...keepAlive,
            ...(config.ca ? { ca: config.ca } : {}),
            ...(config.cert ? { cert: config.cert } : {}),
            ...(config.key ? { key: config.key } : {}),
            ...(config.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
            ...(config.tlsServerName ? { servername: config.tlsServerName } : {}),
          });
    return new Transport(config, server, agent);
  }

  /** Opens a request and resolves with the response head; the body is the caller's to read. */
  async open(req: TransportRequest, accept = "application/json"): Promise<OpenStream> {
    const first = await this.#openOnce(req, accept, false);
    // A rotated token: refresh credentials once and retry, as client-go does.
    if (first.status === 401 && this.#credentials) {
      first.response.resume();
      return this.#openOnce(req, accept, true);
    }
    return first;
  }

  async #openOnce(req: TransportRequest, accept: string, forceAuth: boolean): Promise<OpenStream> {
    const headers: OutgoingHttpHeaders = { ...this.#headers, accept, ...req.headers };
    // Client certificates from a plugin go per request: the agent pools
    // connections by certificate, so a rotated one opens new connections.
    let tls: { cert?: string; key?: string } = {};
    if (this.#credentials) {
      const material = await this.#credentials.get(forceAuth);
      if (material.token) headers.authorization = `Bearer ${material.token}`;
      if (material.cert && material.key) tls = { cert: material.cert, key: material.key };
    }
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
          ...tls,
          ...(req.signal ? { signal: req.signal } : {}),
        });
      } catch (error) {
        reject(new KubeConnectionError(label, error));
        return;
      }
      clientRequest.once("response", (response) =>
        resolve({ status: response.statusCode ?? 0, response, request: clientRequest }),
      );
      // Only requests sent with `Upgrade` headers can get here; Node has taken the socket off the agent.
      clientRequest.once("upgrade", (response, socket, head) =>
        resolve({
          status: response.statusCode ?? 101,
          response,
          request: clientRequest,
          upgrade: { socket, head },
        }),
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

function staticHeaders(config: ClientConfig): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...config.headers };
  if (config.token) headers.authorization = `Bearer ${config.token}`;
  if (config.basicAuth) {
    const { username, password } = config.basicAuth;
    headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }
  return headers;
}

function joinPath(base: string, path: string): string {
  if (base === "/" || base === "") return path;
  return `${base.replace(/\/$/, "")}${path}`;
}
