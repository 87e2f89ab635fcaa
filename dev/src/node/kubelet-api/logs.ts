/**
 * `GET /containerLogs/{namespace}/{pod}/{container}`: what `kubectl logs`
 * reaches through the API server. Query parameters are the v1 PodLogOptions
 * the API server forwards; the body is plain text, chunked, flushed as it
 * comes so `--follow` is live.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "./log.ts";
import {
  type ContainerRef,
  isNotFound,
  type LogOptions,
  type PodRuntimeForApi,
} from "./runtime.ts";

export class LogQueryError extends Error {
  override name = "LogQueryError";
}

function parseBool(name: string, value: string | null): boolean {
  if (value === null || value === "") return false;
  // Go's strconv.ParseBool, which the kubelet's query decoding uses.
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  throw new LogQueryError(`${name}=${JSON.stringify(value)} is not a boolean`);
}

function parseInteger(name: string, value: string | null, min: number): number | undefined {
  if (value === null || value === "") return undefined;
  if (!/^-?\d+$/.test(value))
    throw new LogQueryError(`${name}=${JSON.stringify(value)} is not an integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new LogQueryError(`${name}=${value} must be at least ${min}`);
  }
  return n;
}

/** The kubelet's reading of the query; throws LogQueryError (→ 400). */
export function parseLogOptions(query: URLSearchParams, now: Date = new Date()): LogOptions {
  // `tail` is the old name of tailLines; "all" means no limit.
  const tail = query.get("tail");
  const tailRaw = tail !== null ? (tail === "all" ? null : tail) : query.get("tailLines");
  const options: LogOptions = {
    follow: parseBool("follow", query.get("follow")),
    previous: parseBool("previous", query.get("previous")),
    timestamps: parseBool("timestamps", query.get("timestamps")),
  };
  const tailLines = parseInteger("tailLines", tailRaw, 0);
  const limitBytes = parseInteger("limitBytes", query.get("limitBytes"), 1);
  let sinceSeconds = parseInteger("sinceSeconds", query.get("sinceSeconds"), 1);
  const sinceTime = query.get("sinceTime");
  if (sinceTime) {
    if (sinceSeconds !== undefined) {
      throw new LogQueryError("at most one of sinceTime or sinceSeconds may be given");
    }
    const at = Date.parse(sinceTime);
    if (Number.isNaN(at))
      throw new LogQueryError(`sinceTime=${JSON.stringify(sinceTime)} is not RFC 3339`);
    // The runtime deals in "the last N seconds"; round up so no line is lost.
    sinceSeconds = Math.max(1, Math.ceil((now.getTime() - at) / 1000));
  }
  const stream = query.get("stream");
  if (stream && stream !== "All") {
    throw new LogQueryError(`stream=${JSON.stringify(stream)}: only "All" is supported`);
  }
  if (tailLines !== undefined) options.tailLines = tailLines;
  if (limitBytes !== undefined) options.limitBytes = limitBytes;
  if (sinceSeconds !== undefined) options.sinceSeconds = sinceSeconds;
  return options;
}

export async function serveLogs(
  request: IncomingMessage,
  response: ServerResponse,
  ref: ContainerRef,
  runtime: PodRuntimeForApi,
  log: Logger,
): Promise<void> {
  let options: LogOptions;
  try {
    options = parseLogOptions(new URL(request.url ?? "/", "https://kubelet").searchParams);
  } catch (error) {
    plain(response, 400, (error as Error).message);
    return;
  }
  const abort = new AbortController();
  // "close" on the response fires when it finished or the client vanished:
  // either way the runtime can stop producing.
  response.on("close", () => abort.abort());

  let source: NodeJS.ReadableStream;
  try {
    source = await runtime.logs(ref, options, abort.signal);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // 400, as the kubelet answers when the runtime has no such log: the API
    // server passes a 400's text on to the user but swaps a 404's for "the
    // server could not find the requested resource".
    if (isNotFound(error)) plain(response, 400, message);
    else {
      log.warn("logs: runtime failed", { error: message, ...ref });
      plain(response, 500, `failed to get logs: ${message}`);
    }
    return;
  }
  if (abort.signal.aborted) {
    destroy(source);
    return;
  }
  response.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
  response.flushHeaders();
  let left = options.limitBytes ?? Number.POSITIVE_INFINITY;
  const stop = () => {
    destroy(source);
    if (!response.writableEnded) response.end();
  };
  abort.signal.addEventListener("abort", () => destroy(source), { once: true });
  source.on("data", (chunk: Buffer | string) => {
    let bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (bytes.length >= left) {
      bytes = bytes.subarray(0, left);
      left = 0;
    } else left -= bytes.length;
    if (bytes.length > 0 && !response.write(bytes)) {
      source.pause();
      response.once("drain", () => source.resume());
    }
    if (left === 0) stop();
  });
  source.on("end", stop);
  source.on("error", (error: Error) => {
    log.warn("logs: stream failed", { error: error.message, ...ref });
    // Headers are gone; ending early is the only signal left.
    response.destroy(error);
  });
}

function destroy(stream: NodeJS.ReadableStream): void {
  const s = stream as NodeJS.ReadableStream & { destroy?: () => void };
  s.destroy?.();
}

export function plain(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(`${message}\n`);
}
