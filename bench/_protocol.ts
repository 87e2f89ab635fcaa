/**
 * The line protocol every benchmark child speaks on stdio, so bench/run.ts
 * drives the TypeScript and Go implementations the same way:
 *
 * - stdout `READY` once its caches are synced, `SYNCED <n>` (cache mode) with
 *   the number of objects held, `LAT <ms>` for each reconcile that sees a new
 *   stamp, and `STATS {...}` answering a `stats` line on stdin.
 * - Requests are counted inside the process, per client, as they leave it:
 *   here from node:http's diagnostics channel (every https request the runtime
 *   or client-node makes passes through it), in Go from a wrapping transport.
 */
import { subscribe } from "node:diagnostics_channel";
import { createInterface } from "node:readline";

export interface RequestCounts {
  total: number;
  watches: number;
  leases: number;
  /** Anything but GET/HEAD, leases excluded. */
  writes: number;
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Starts counting this process's API requests and answers `stats` on stdin. */
export function countRequests(): RequestCounts {
  const counts: RequestCounts = { total: 0, watches: 0, leases: 0, writes: 0 };
  subscribe("http.client.request.start", (message) => {
    const { request } = message as { request: { method: string; path: string } };
    counts.total++;
    const url = new URL(request.path, "https://x");
    const watch = url.searchParams.get("watch");
    if (watch === "true" || watch === "1") counts.watches++;
    else if (url.pathname.includes("/leases")) counts.leases++;
    else if (request.method !== "GET" && request.method !== "HEAD") counts.writes++;
  });
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "stats") say(`STATS ${JSON.stringify(counts)}`);
  });
  return counts;
}

/** Reads `--name=value` flags; the children take the same flags as the Go reference. */
export function flags(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (const arg of argv) {
    const match = /^-{1,2}([a-z-]+)=(.*)$/.exec(arg);
    if (match?.[1] !== undefined && match[2] !== undefined) out.set(match[1], match[2]);
  }
  return out;
}

/** Collects garbage if the process runs with --expose-gc, so RSS is measured after a full GC. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
}
