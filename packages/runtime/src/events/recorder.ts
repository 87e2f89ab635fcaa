/**
 * `EventRecorder`: tells humans what a controller did, as events.k8s.io/v1
 * Events on the object concerned (`kubectl describe`, `kubectl events`).
 *
 * Events are advice, never control flow: `event()` returns at once, never
 * throws and never waits for the API server. Writes go through one serial
 * queue so a storm of events cannot flood the API server, and a repeat of an
 * event already written is only counted in memory; the counts reach the
 * Event's `series` on the next flush, so N repeats cost one create and one
 * patch per flush interval instead of N writes.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { KubeClient } from "../client/client.ts";
import { isNotFound } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import type { Logger } from "../reconcile/reconciler.ts";
import { noopLogger } from "../reconcile/reconciler.ts";

const EventType = { apiVersion: "events.k8s.io/v1", kind: "Event" } as const;

/** The API server rejects longer notes. */
export const maxNoteBytes = 1024;
/** The API server rejects longer reasons, actions and reporting instances. */
const maxShortField = 128;

/** Points at an object by its identity; `uid` makes `kubectl describe` find the event. */
export interface EventObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

export interface EventInfo {
  type: "Normal" | "Warning";
  /** Why: a short CamelCase cause, e.g. `BrokerRestarted`. */
  reason: string;
  /** What the controller did or failed to do, e.g. `RollingRestart`. */
  action: string;
  /** For humans; truncated to 1 KiB. */
  note?: string | undefined;
  /** A second object involved, e.g. the Pod restarted for a KafkaCluster. */
  related?: KubeObject | EventObjectReference | undefined;
}

export interface EventRecorderOptions {
  /** The controller's name, e.g. `ballast.dev/kafka-operator`. */
  reportingController: string;
  /** This replica, e.g. the pod name. @default `${reportingController}-${hostname()}` */
  reportingInstance?: string;
  /** How often counted repeats are written to their Event's `series`. @default 30_000 */
  flushIntervalMs?: number;
  /**
   * A repeat this long after the previous one starts a new Event instead of
   * extending the series (as the Kubernetes events library does). @default 360_000
   */
  seriesWindowMs?: number;
  /** Writes waiting beyond this are dropped (and logged). @default 1000 */
  maxQueuedWrites?: number;
  /** Aggregation keys remembered; the least recently seen are forgotten. @default 4096 */
  maxSeries?: number;
  log?: Logger;
  /** Milliseconds; injectable for tests. @default Date.now */
  now?: () => number;
}

/** Options the API server would reject on every event, found at construction instead. */
export class EventRecorderConfigError extends Error {
  override name = "EventRecorderConfigError";
}

/** The calls the recorder makes; a `KubeClient` has them. */
export type EventClient = Pick<KubeClient, "create" | "patch">;

interface EventSeriesEntry {
  key: string;
  /** The stored Event's namespace and name, once created. */
  stored: { namespace: string; name: string } | undefined;
  /** A create is queued or running. */
  creating: boolean;
  count: number;
  /** The count the API server has. */
  writtenCount: number;
  lastObservedAt: number;
  body: EventBody;
}

interface EventBody extends KubeObject {
  eventTime: string;
  type: string;
  reason: string;
  action: string;
  note?: string;
  regarding: EventObjectReference;
  related?: EventObjectReference;
  reportingController: string;
  reportingInstance: string;
  series?: { count: number; lastObservedTime: string };
}

export class EventRecorder {
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly #client: EventClient;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #maxQueued: number;
  readonly #maxSeries: number;
  /** Insertion order is recency order: a repeat re-inserts its entry. */
  readonly #series = new Map<string, EventSeriesEntry>();
  #queued = 0;
  #tail: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sequence = 0;

  constructor(client: EventClient, options: EventRecorderOptions) {
    validateReportingController(options.reportingController);
    this.#client = client;
    this.reportingController = options.reportingController;
    this.reportingInstance = truncateChars(
      options.reportingInstance ?? `${options.reportingController}-${hostname()}`,
      maxShortField,
    );
    this.#log = options.log ?? noopLogger;
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.seriesWindowMs ?? 360_000;
    this.#maxQueued = options.maxQueuedWrites ?? 1000;
    this.#maxSeries = options.maxSeries ?? 4096;
    const flushIntervalMs = options.flushIntervalMs ?? 30_000;
    if (flushIntervalMs > 0) {
      this.#timer = setInterval(() => void this.flush(), flushIntervalMs);
      // Events must never keep a process alive that has nothing else to do.
      this.#timer.unref();
    }
  }

  /**
   * Records that something happened to `regarding`. Returns at once; the
   * write happens in the background and a failure is logged and dropped.
   */
  event(regarding: KubeObject | EventObjectReference, info: EventInfo): void {
    try {
      this.#record(toReference(regarding), info);
    } catch (error) {
      this.#log.warn("event dropped", { reason: info.reason, error: String(error) });
    }
  }

  /** Writes everything counted so far; resolves when the API server has it (or the write failed). */
  flush(): Promise<void> {
    return this.#enqueue(() => this.#flushSeries(), true);
  }

  /** Stops the periodic flush and writes what is pending. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  #record(regarding: EventObjectReference, info: EventInfo): void {
    if (!regarding.name) throw new TypeError(`${regarding.kind} has no name`);
    const note = info.note === undefined ? undefined : truncateBytes(info.note, maxNoteBytes);
    const reason = truncateChars(info.reason, maxShortField);
    const action = truncateChars(info.action, maxShortField);
    const key = JSON.stringify([
      regarding.apiVersion,
      regarding.kind,
      regarding.namespace ?? "",
      regarding.name,
      regarding.uid ?? "",
      info.type,
      reason,
      action,
      note ?? "",
    ]);
    const now = this.#now();
    const known = this.#series.get(key);
    if (known && now - known.lastObservedAt < this.#windowMs) {
      known.count += 1;
      known.lastObservedAt = now;
      this.#series.delete(key);
      this.#series.set(key, known);
      return;
    }
    // A series past its window ends; write what it counted since the last flush.
    if (known) void this.#enqueue(() => this.#flushEntry(known), false);
    const related = info.related === undefined ? undefined : toReference(info.related);
    const entry: EventSeriesEntry = {
      key,
      stored: undefined,
      creating: true,
      count: 1,
      writtenCount: 0,
      lastObservedAt: now,
      body: {
        ...EventType,
        metadata: {
          name: this.#eventName(regarding.name, now),
          // An event lives in its object's namespace; cluster-scoped objects' in "default".
          namespace: regarding.namespace || "default",
        },
        eventTime: microTime(now),
        type: info.type,
        reason,
        action,
        ...(note === undefined ? {} : { note }),
        regarding,
        ...(related ? { related } : {}),
        reportingController: this.reportingController,
        reportingInstance: this.reportingInstance,
      },
    };
    this.#series.delete(key);
    this.#series.set(key, entry);
    this.#forgetOldest();
    void this.#enqueue(() => this.#create(entry), false);
  }

  async #create(entry: EventSeriesEntry): Promise<void> {
    const body = structuredClone(entry.body);
    const count = entry.count;
    if (count > 1) body.series = { count, lastObservedTime: microTime(entry.lastObservedAt) };
    try {
      const created = await this.#client.create(body);
      entry.stored = {
        namespace: created.metadata.namespace ?? "default",
        name: created.metadata.name ?? "",
      };
      entry.writtenCount = count;
    } catch (error) {
      this.#log.warn("event dropped: create failed", {
        reason: entry.body.reason,
        error: String(error),
      });
      // Forget it, so the next occurrence tries a fresh create.
      if (this.#series.get(entry.key) === entry) this.#series.delete(entry.key);
    } finally {
      entry.creating = false;
    }
  }

  async #flushSeries(): Promise<void> {
    for (const entry of [...this.#series.values()]) await this.#flushEntry(entry);
  }

  async #flushEntry(entry: EventSeriesEntry): Promise<void> {
    if (entry.creating || !entry.stored || entry.count === entry.writtenCount) return;
    const count = entry.count;
    const series = { count, lastObservedTime: microTime(entry.lastObservedAt) };
    try {
      await this.#client.patch(EventType, entry.stored, { series }, { type: "merge" });
      entry.writtenCount = count;
    } catch (error) {
      if (isNotFound(error)) {
        // The Event expired (the API server keeps them about an hour): start a new one.
        entry.body.metadata.name = this.#eventName(entry.body.regarding.name, this.#now());
        entry.creating = true;
        await this.#create(entry);
        return;
      }
      this.#log.warn("event series update dropped", {
        reason: entry.body.reason,
        error: String(error),
      });
    }
  }

  /** Appends to the serial write queue; `always` jobs (flushes) are never dropped. */
  #enqueue(job: () => Promise<void>, always: boolean): Promise<void> {
    if (!always && this.#queued >= this.#maxQueued) {
      this.#log.warn("event dropped: too many events waiting to be written", {
        queued: this.#queued,
      });
      return Promise.resolve();
    }
    this.#queued += 1;
    const run = this.#tail.then(job).catch((error: unknown) => {
      this.#log.warn("event write failed", { error: String(error) });
    });
    this.#tail = run.finally(() => {
      this.#queued -= 1;
    });
    return this.#tail;
  }

  #forgetOldest(): void {
    while (this.#series.size > this.#maxSeries) {
      const oldest = this.#series.keys().next();
      if (oldest.done) return;
      this.#series.delete(oldest.value);
    }
  }

  #eventName(objectName: string, now: number): string {
    // The object name keeps `kubectl get events` readable.
    this.#sequence = (this.#sequence + 1) % 0x10000;
    // The random part keeps two recorders (replicas, restarts) from colliding in one millisecond.
    const random = randomBytes(3).toString("hex");
    const suffix = `${now.toString(16)}${this.#sequence.toString(16).padStart(4, "0")}${random}`;
    return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
  }
}

const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The API server wants a qualified name, like a label key: `[prefix/]name`. */
function validateReportingController(value: string): void {
  const slash = value.indexOf("/");
  const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
  const name = slash >= 0 ? value.slice(slash + 1) : value;
  const validPrefix = prefix === undefined || (prefix.length <= 253 && dnsSubdomain.test(prefix));
  if (!validPrefix || name.length > 63 || !qualifiedNamePart.test(name)) {
    throw new EventRecorderConfigError(
      `reportingController ${JSON.stringify(value)} is not a qualified name such as "ballast.dev/kafka-operator" ` +
        "(an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.')",
    );
  }
}

function toReference(target: KubeObject | EventObjectReference): EventObjectReference {
  if (!("metadata" in target)) return { ...target };
  const { name, namespace, uid, resourceVersion } = target.metadata;
  return {
    apiVersion: target.apiVersion,
    kind: target.kind,
    name: name ?? "",
    ...(namespace ? { namespace } : {}),
    ...(uid ? { uid } : {}),
    ...(resourceVersion ? { resourceVersion } : {}),
  };
}

/** Kubernetes' MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The longest prefix of `text` that fits in `max` UTF-8 bytes, never splitting a character. */
export function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, "utf8") <= max) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, "utf8");
    if (bytes + size > max) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

function truncateChars(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max);
}
