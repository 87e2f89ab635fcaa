/**
 * Broker configuration as data: which keys the user may set, what changed
 * between what the brokers run with and what is desired (and whether that
 * change can be applied live or needs a rolling restart), and the exact
 * `server.properties` text with a short hash of it.
 *
 * The hash goes on the pod template, so a change to the rendered file is what
 * rolls pods — not a change to the custom resource that renders the same file.
 * That only holds if rendering is canonical (keys sorted) and lossless, which
 * is why `parseProperties` exists and is tested against `renderProperties`.
 */

import { createHash } from "node:crypto";

/**
 * Keys the operator writes per node. A user value for one of them would fight
 * the operator (node ids, listeners, quorum) or point the broker at storage it
 * does not mount (log dirs).
 */
export const operatorOwnedKeys: ReadonlySet<string> = new Set([
  "node.id",
  "broker.id",
  "process.roles",
  "listeners",
  "advertised.listeners",
  "listener.security.protocol.map",
  "inter.broker.listener.name",
  "controller.listener.names",
  "controller.quorum.voters",
  "controller.quorum.bootstrap.servers",
  "log.dirs",
  "log.dir",
  "metadata.log.dir",
  "broker.rack",
  "zookeeper.connect",
]);

/** Kafka keys are dot-separated lowercase words; listener names and SASL mechanisms add `_` and `-`. */
const keyPattern = /^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;

/** One message per problem in `spec.config`, each saying what to fix; empty when it is acceptable. */
export function validateUserConfig(config: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(config).sort()) {
    if (operatorOwnedKeys.has(key)) {
      problems.push(`spec.config sets ${key}, which the operator assigns; remove it`);
    } else if (!keyPattern.test(key)) {
      problems.push(
        `spec.config key ${JSON.stringify(key)} is not a Kafka setting name ` +
          "(dot-separated lowercase words such as log.retention.ms); fix or remove it",
      );
    }
  }
  return problems;
}

export interface ConfigDiff {
  /** Changes the brokers accept live (incremental AlterConfigs). */
  dynamic: { set: Record<string, string>; delete: string[] };
  /** Keys, sorted, that are read-only in the running version: changing them needs a rolling restart. */
  restart: string[];
}

/**
 * What differs between `applied` (what the brokers run with) and `desired`.
 * A key whose value is unchanged lands nowhere; every other key lands in
 * exactly one bucket, chosen by whether the running version can change it live.
 */
export function diffConfig(
  desired: Readonly<Record<string, string>>,
  applied: Readonly<Record<string, string>>,
  dynamicKeys: ReadonlySet<string>,
): ConfigDiff {
  const set: [string, string][] = [];
  const deleted: string[] = [];
  const restart: string[] = [];
  const keys = [...new Set([...Object.keys(desired), ...Object.keys(applied)])].sort();
  for (const key of keys) {
    const wanted = Object.hasOwn(desired, key) ? desired[key] : undefined;
    const running = Object.hasOwn(applied, key) ? applied[key] : undefined;
    if (wanted === running) continue;
    if (!dynamicKeys.has(key)) restart.push(key);
    else if (wanted === undefined) deleted.push(key);
    else set.push([key, wanted]);
  }
  // fromEntries defines own properties, so a key such as "__proto__" survives.
  return { dynamic: { set: Object.fromEntries(set), delete: deleted }, restart };
}

/** `server.properties` text: one `key=value` line per entry, keys sorted, escaped as java.util.Properties reads it. */
export function renderProperties(entries: Readonly<Record<string, string>>): string {
  const keys = Object.keys(entries).sort();
  return keys
    .map((key) => `${escapeProperty(key, true)}=${escapeProperty(entries[key] ?? "", false)}\n`)
    .join("");
}

const named: Readonly<Record<string, string>> = {
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
  "\f": "\\f",
};

function escapeProperty(text: string, isKey: boolean): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    const code = text.charCodeAt(i);
    if (ch === " ") {
      // A value's inner spaces are kept verbatim; a leading one would be skipped as separator whitespace.
      out += isKey || i === 0 ? "\\ " : " ";
    } else if (named[ch] !== undefined) {
      out += named[ch];
    } else if (ch === "\\" || ch === "=" || ch === ":" || ch === "#" || ch === "!") {
      out += `\\${ch}`;
    } else if (code < 0x20 || code > 0x7e) {
      // Per UTF-16 code unit, as Java does, so a lone surrogate round-trips too.
      out += `\\u${code.toString(16).padStart(4, "0")}`;
    } else {
      out += ch;
    }
  }
  return out;
}

export class PropertiesSyntaxError extends Error {
  override name = "PropertiesSyntaxError";
}

const whitespace = new Set([" ", "\t", "\f"]);

/** Reads java.util.Properties text (comments, continuations, `=`/`:`/space separators, escapes). Later keys win. */
export function parseProperties(text: string): Record<string, string> {
  const entries = new Map<string, string>();
  for (const line of logicalLines(text)) {
    let i = 0;
    while (i < line.length && whitespace.has(line.charAt(i))) i++;
    if (i === line.length) continue;
    if (line.charAt(i) === "#" || line.charAt(i) === "!") continue;
    const keyStart = i;
    while (i < line.length) {
      const ch = line.charAt(i);
      if (ch === "\\") i += 2;
      else if (ch === "=" || ch === ":" || whitespace.has(ch)) break;
      else i++;
    }
    const rawKey = line.slice(keyStart, Math.min(i, line.length));
    while (i < line.length && whitespace.has(line.charAt(i))) i++;
    if (line.charAt(i) === "=" || line.charAt(i) === ":") i++;
    while (i < line.length && whitespace.has(line.charAt(i))) i++;
    entries.set(unescapeProperty(rawKey), unescapeProperty(line.slice(i)));
  }
  return Object.fromEntries(entries);
}

/** Joins continued lines (odd number of trailing backslashes), dropping the continuation's leading whitespace. */
function* logicalLines(text: string): Generator<string> {
  const physical = text.split(/\r\n|\r|\n/);
  let pending: string | undefined;
  for (const raw of physical) {
    let line = raw;
    if (pending !== undefined) {
      let i = 0;
      while (i < line.length && whitespace.has(line.charAt(i))) i++;
      line = pending + line.slice(i);
    } else {
      // A comment line never continues, even if it ends in a backslash.
      const trimmed = line.replace(/^[ \t\f]*/, "");
      if (trimmed.startsWith("#") || trimmed.startsWith("!")) {
        yield line;
        continue;
      }
    }
    let slashes = 0;
    while (slashes < line.length && line.charAt(line.length - 1 - slashes) === "\\") slashes++;
    if (slashes % 2 === 1) {
      pending = line.slice(0, -1);
    } else {
      pending = undefined;
      yield line;
    }
  }
  if (pending !== undefined) yield pending;
}

const unescapes: Readonly<Record<string, string>> = { t: "\t", n: "\n", r: "\r", f: "\f" };

function unescapeProperty(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const next = text.charAt(i + 1);
    i++;
    if (next === "u") {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new PropertiesSyntaxError(`malformed \\u escape: \\u${hex}`);
      }
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 4;
    } else {
      out += unescapes[next] ?? next;
    }
  }
  return out;
}

/** First 16 hex digits of the SHA-256 of the rendered properties: stamped on pods so a changed file rolls them. */
export function configHash(entries: Readonly<Record<string, string>>): string {
  return createHash("sha256").update(renderProperties(entries)).digest("hex").slice(0, 16);
}
