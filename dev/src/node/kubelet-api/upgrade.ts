/**
 * The HTTP/1.1 upgrade that turns a kubelet request into a SPDY/3.1
 * connection, and the sub-protocol negotiation carried in
 * X-Stream-Protocol-Version: the client lists what it speaks in order of
 * preference, the server picks the first it knows, and answers 403 with the
 * list it accepts when there is none.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { SpdySession, type SpdySessionOptions } from "./spdy/session.ts";

export const protocolVersionHeader = "x-stream-protocol-version";
const acceptedVersionsHeader = "X-Accepted-Stream-Protocol-Versions";

/** Values of a header Node may have joined with ", " from several lines. */
export function headerList(request: IncomingMessage, name: string): string[] {
  const raw = request.headers[name];
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

export function isSpdyUpgrade(request: IncomingMessage): boolean {
  const connection = headerList(request, "connection").map((v) => v.toLowerCase());
  const upgrade = headerList(request, "upgrade").map((v) => v.toLowerCase());
  return connection.includes("upgrade") && upgrade.includes("spdy/3.1");
}

export function negotiate(request: IncomingMessage, serverProtocols: readonly string[]) {
  return headerList(request, protocolVersionHeader).find((p) => serverProtocols.includes(p));
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(
  socket: Socket,
  status: number,
  message: string,
  headers: Record<string, string | string[]> = {},
): void {
  const reason = statusText[status] ?? "Error";
  const body = Buffer.from(`${message}\n`);
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (const [name, value] of Object.entries({
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(body.length),
    Connection: "close",
    ...headers,
  })) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  socket.end(Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), body]));
}

export function rejectUnsupportedProtocol(
  socket: Socket,
  request: IncomingMessage,
  serverProtocols: readonly string[],
): void {
  const offered = headerList(request, protocolVersionHeader);
  rejectUpgrade(
    socket,
    403,
    `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], server accepts [${serverProtocols.join(" ")}]`,
    { [acceptedVersionsHeader]: [...serverProtocols] },
  );
}

/** Sends 101 Switching Protocols and starts speaking SPDY on the socket. */
export function acceptSpdy(
  socket: Socket,
  head: Buffer,
  protocol: string,
  options: SpdySessionOptions,
): SpdySession {
  socket.write(
    [
      "HTTP/1.1 101 Switching Protocols",
      "Connection: Upgrade",
      "Upgrade: SPDY/3.1",
      `X-Stream-Protocol-Version: ${protocol}`,
      "",
      "",
    ].join("\r\n"),
  );
  socket.setNoDelay(true);
  socket.setTimeout(0);
  return new SpdySession(socket, options, head);
}

const statusText: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  500: "Internal Server Error",
};
