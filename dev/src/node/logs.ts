/**
 * Container logs in the CRI file format the kubelet uses
 * (`<RFC3339Nano time> <stdout|stderr> <F|P> <text>`), one file per run of a
 * container, so `kubectl logs --previous` and `--timestamps` work.
 */
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  type WriteStream,
} from "node:fs";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";

export function logFile(podDir: string, container: string, run: number): string {
  return join(podDir, "logs", container, `${run}.log`);
}

/** Writes a container's two streams into one CRI log file, line by line. */
export class LogWriter {
  readonly #out: WriteStream;
  readonly #partial = new Map<string, string>();

  constructor(path: string) {
    mkdirSync(join(path, ".."), { recursive: true });
    this.#out = createWriteStream(path, { flags: "a" });
  }

  attach(stream: NodeJS.ReadableStream, name: "stdout" | "stderr"): void {
    stream.on("data", (chunk: Buffer) => this.#write(name, chunk.toString("utf8")));
    stream.on("end", () => {
      const rest = this.#partial.get(name);
      if (rest) this.#line(name, "F", rest);
      this.#partial.delete(name);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#out.end(resolve));
  }

  #write(name: string, text: string): void {
    const lines = ((this.#partial.get(name) ?? "") + text).split("\n");
    this.#partial.set(name, lines.pop() ?? "");
    for (const line of lines) this.#line(name, "F", line);
    // A line longer than 16 KiB is split into partial records, as CRI does.
    const rest = this.#partial.get(name) ?? "";
    if (rest.length > 16384) {
      this.#line(name, "P", rest);
      this.#partial.set(name, "");
    }
  }

  #line(name: string, tag: "F" | "P", text: string): void {
    this.#out.write(`${nanoTime()} ${name} ${tag} ${text}\n`);
  }
}

/** RFC 3339 with nanoseconds, monotonic within the process (lines keep their order). */
function nanoTime(): string {
  const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  const seconds = ns / 1_000_000_000n;
  const fraction = String(ns % 1_000_000_000n).padStart(9, "0");
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

export interface LogOptions {
  follow: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  sinceSeconds?: number;
}

interface Record_ {
  time: string;
  text: string;
  partial: boolean;
}

function parse(line: string): Record_ | undefined {
  const first = line.indexOf(" ");
  const second = line.indexOf(" ", first + 1);
  const third = line.indexOf(" ", second + 1);
  if (first < 0 || second < 0 || third < 0) return undefined;
  return {
    time: line.slice(0, first),
    partial: line.slice(second + 1, third) === "P",
    text: line.slice(third + 1),
  };
}

function render(record: Record_, timestamps: boolean): string {
  const text = record.partial ? record.text : `${record.text}\n`;
  return timestamps ? `${record.time} ${text}` : text;
}

/**
 * The log as plain text (optionally with timestamps), honouring tail, since
 * and limit; with `follow`, keeps streaming appended lines until `signal`
 * aborts or `stillRunning()` turns false.
 */
export function readLog(
  path: string,
  options: LogOptions,
  signal: AbortSignal,
  stillRunning: () => boolean,
): Readable {
  const out = new PassThrough();
  const since = options.sinceSeconds ? Date.now() - options.sinceSeconds * 1000 : 0;
  let sent = 0;
  const limit = options.limitBytes ?? Number.POSITIVE_INFINITY;
  const emit = (line: string) => {
    const record = parse(line);
    if (!record || (since && Date.parse(record.time) < since)) return true;
    const text = render(record, options.timestamps);
    const room = limit - sent;
    if (room <= 0) return false;
    out.write(text.length > room ? text.slice(0, room) : text);
    sent += Math.min(text.length, room);
    return sent < limit;
  };

  const existing = existsSync(path) ? readFileSync(path, "utf8") : "";
  let lines = existing.split("\n").filter(Boolean);
  if (options.tailLines !== undefined)
    lines = lines.slice(Math.max(0, lines.length - options.tailLines));
  let more = true;
  for (const line of lines) if (more) more = emit(line);
  if (!options.follow || !more) {
    out.end();
    return out;
  }

  // Follow: poll the file for growth; small and good enough for local logs.
  let offset = Buffer.byteLength(existing);
  let carry = "";
  const timer = setInterval(() => {
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size > offset) {
      const stream = createReadStream(path, { start: offset, end: size - 1, encoding: "utf8" });
      offset = size;
      let chunk = "";
      stream.on("data", (d) => {
        chunk += d;
      });
      stream.on("end", () => {
        const parts = (carry + chunk).split("\n");
        carry = parts.pop() ?? "";
        for (const line of parts) if (line && !emit(line)) stop();
      });
    } else if (!stillRunning()) {
      stop();
    }
  }, 200);
  const stop = () => {
    clearInterval(timer);
    out.end();
  };
  signal.addEventListener("abort", stop, { once: true });
  return out;
}
