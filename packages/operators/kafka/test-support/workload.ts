/**
 * Kafka's driver for the acknowledged-write checker of the end-to-end kit
 * (test/e2e/kit, `startAckedWrites`): what proves "0 acknowledged messages
 * lost" while the operator restarts, scales or upgrades brokers. The kit
 * owns the loop and the verdict (lost, duplicated, present without an
 * acknowledgement, from sets of distinct numbers); this file owns Kafka.
 *
 * - Writes: a producer with acks=all, idempotent, retries on, sends one
 *   message per write whose value is its sequence number. Send errors are
 *   expected while brokers restart; when they persist the producer is
 *   re-created from a fresh `bootstrap()` (pod IPs change on restart).
 * - Alongside: a consumer in its own group reads the topic as an
 *   application would; the report says which acknowledged messages it
 *   missed.
 * - Read back: once the writes stop, the live consumer gets the drain budget
 *   to catch up, then a fresh reader starts at the earliest offset and reads
 *   until it has seen every acknowledged number, or has reached the end
 *   offsets the partitions had once producing stopped, or the budget is
 *   spent. It re-reads from the start because the live consumer alone would
 *   miss a message it read before the cluster lost it (e.g. truncated by an
 *   unclean leader election).
 */
import { randomUUID } from "node:crypto";
import {
  type AckedWriteDriver,
  type AckedWrites,
  type AckedWritesReport,
  startAckedWrites,
} from "@ballast/e2e-kit";
import {
  Consumer,
  type Message,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
} from "@platformatic/kafka";

export interface WorkloadOptions {
  /** Where the brokers are now; called again whenever a client is re-created. */
  bootstrap: () => string[] | Promise<string[]>;
  topic: string;
  /** Pause between two sends. @default 20 */
  intervalMs?: number;
  /** How long `stop()` keeps reading for acknowledged messages it has not seen. @default 60000 */
  drainTimeoutMs?: number;
  /** The producer (and the live consumer after it) stop by themselves this long after the start. @default 1800000 */
  maxDurationMs?: number;
}

/** The live consumer's figure, next to the checker's own. */
export interface LiveConsumerProgress {
  /** Distinct sequence numbers the live consumer has read so far. */
  consumed: number;
}

export interface WorkloadReport extends AckedWritesReport {
  /**
   * Distinct sequence numbers the live consumer read while the workload ran.
   * It may exceed `acknowledged`: a send that failed on the client (its
   * broker died before answering) can still have been committed.
   */
  consumed: number;
  /** Acknowledged sequence numbers the live consumer never read. */
  missedLive: number;
}

export type Workload = Omit<AckedWrites<LiveConsumerProgress>, "stop"> & {
  stop(): Promise<WorkloadReport>;
};

/** Consecutive failed sends after which the producer is rebuilt from a fresh `bootstrap()`. */
const REBUILD_AFTER_FAILURES = 3;
/** A live consumer that has read nothing this long while acknowledged messages wait is rebuilt. */
const STALLED_AFTER_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function parseSeq(message: Message<Buffer, Buffer, Buffer, Buffer>): number | undefined {
  const text = message.value?.toString("utf8");
  if (!text || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

function clientOptions(bootstrap: string[], clientId: string) {
  return {
    clientId,
    bootstrapBrokers: bootstrap,
    retries: 5,
    retryDelay: 200,
    connectTimeout: 3_000,
    requestTimeout: 10_000,
    metadataMaxAge: 2_000,
  };
}

/** Starts writing to `options.topic` under the kit's checker, with a live consumer alongside. */
export function startWorkload(options: WorkloadOptions): Workload {
  const drainTimeoutMs = options.drainTimeoutMs ?? 60_000;
  const maxDurationMs = options.maxDurationMs ?? 30 * 60_000;
  const driver = kafkaDriver(options, Date.now() + maxDurationMs + drainTimeoutMs);
  const writes = startAckedWrites(driver, {
    intervalMs: options.intervalMs ?? 20,
    maxDurationMs,
    readTimeoutMs: drainTimeoutMs,
  });
  return {
    progress: writes.progress,
    waitFor: writes.waitFor,
    async stop() {
      const report = await writes.stop();
      return { ...report, ...driver.live() };
    },
  };
}

function kafkaDriver(
  options: WorkloadOptions,
  consumeUntil: number,
): AckedWriteDriver<LiveConsumerProgress> & { live(): { consumed: number; missedLive: number } } {
  const { topic } = options;
  const run = randomUUID().slice(0, 8);
  let producer: Producer | undefined;
  let consecutiveFailures = 0;
  let acknowledged = 0;
  let missedLive = 0;
  const live = liveConsumer(options, run, consumeUntil, () => acknowledged);

  return {
    async write(seq) {
      if (!producer) {
        producer = new Producer({
          ...clientOptions(await options.bootstrap(), `workload-producer-${run}`),
          acks: ProduceAcks.ALL,
          idempotent: true,
        });
        // Failures surface through send(); a background one must not be thrown (see the live consumer).
        producer.on("error", () => {});
      }
      try {
        await producer.send({ messages: [{ topic, value: Buffer.from(String(seq)) }] });
        acknowledged++;
        consecutiveFailures = 0;
      } catch (error) {
        if (++consecutiveFailures >= REBUILD_AFTER_FAILURES) {
          // A new client re-reads bootstrap() and gets a new producer id, which also clears an
          // idempotent producer stuck on sequence errors after a broker lost its state.
          await producer.close(true).catch(() => {});
          producer = undefined;
          consecutiveFailures = 0;
        }
        throw error;
      }
    },
    progress: () => ({ consumed: live.consumed.size }),
    async readAll({ acknowledged: acked, deadline }) {
      await producer?.close(true).catch(() => {});
      producer = undefined;
      // Give the live consumer a moment to catch up, as part of the drain budget.
      while (Date.now() < deadline && [...acked].some((n) => !live.consumed.has(n)))
        await sleep(200);
      await live.stop();
      missedLive = [...acked].filter((n) => !live.consumed.has(n)).length;
      return verify(options, acked, Math.max(deadline, Date.now() + 15_000), run);
    },
    live: () => ({ consumed: live.consumed.size, missedLive }),
    async close() {
      await live.stop();
      await producer?.close(true).catch(() => {});
    },
  };
}

/**
 * The live consumer: reads as an application would, in its own group, and
 * survives broker restarts by starting over from its committed offsets with
 * a fresh client. It stops on `stop()`, or by itself at `until`.
 */
function liveConsumer(
  options: WorkloadOptions,
  run: string,
  until: number,
  acknowledged: () => number,
): { consumed: ReadonlySet<number>; stop(): Promise<void> } {
  const { topic } = options;
  const consumed = new Set<number>();
  let current: Consumer | undefined;
  let done = false;
  let lastRead = Date.now();
  // A fetch whose leader was killed can hang without an error: a consumer that has read nothing
  // for a while as acknowledged messages wait is closed, and the loop below starts a new one.
  const watchdog = setInterval(() => {
    if (Date.now() >= until) done = true;
    const stalled = acknowledged() > consumed.size && Date.now() - lastRead > STALLED_AFTER_MS;
    if ((done || stalled) && current) {
      lastRead = Date.now();
      void current.close(true).catch(() => {});
    }
    if (done) clearInterval(watchdog);
  }, 1000);
  const consuming = (async () => {
    const groupId = `workload-${topic}-${run}`;
    while (!done) {
      try {
        const consumer = new Consumer({
          ...clientOptions(await options.bootstrap(), `workload-consumer-${run}`),
          groupId,
          sessionTimeout: 10_000,
          heartbeatInterval: 1_000,
          maxWaitTime: 500,
          autocommit: 500,
        });
        // A rejoin that fails in the background (its group coordinator moved
        // while a broker restarted) is emitted as an 'error' event; with no
        // listener Node throws it as an uncaught exception, after the test
        // that caused it. The watchdog notices a consumer that stopped reading.
        consumer.on("error", () => {});
        current = consumer;
        lastRead = Date.now();
        const stream = await consumer.consume({
          topics: [topic],
          mode: MessagesStreamModes.COMMITTED,
          fallbackMode: MessagesStreamFallbackModes.EARLIEST,
        });
        for await (const message of stream) {
          const n = parseSeq(message);
          if (n !== undefined) consumed.add(n);
          lastRead = Date.now();
          if (done) break;
        }
      } catch {
        // Expected while brokers restart; start over below.
      } finally {
        await current?.close(true).catch(() => {});
        current = undefined;
      }
      if (!done) await sleep(500);
    }
  })();
  return {
    consumed,
    async stop() {
      done = true;
      clearInterval(watchdog);
      await current?.close(true).catch(() => {});
      await consuming;
    },
  };
}

/**
 * Reads the whole topic from the earliest offset with a fresh group, until
 * every number in `expected` was seen, or every partition was read up to the
 * end offset it had when reading began, or `deadline` passes. Returns each
 * sequence number as often as the topic holds it.
 */
async function verify(
  options: WorkloadOptions,
  expected: ReadonlySet<number>,
  deadline: number,
  run: string,
): Promise<number[]> {
  const { topic } = options;
  const reads: number[] = [];
  const seen = new Set<number>();
  let missing = expected.size;
  /** Per partition: the next offset to read, so re-reads after a reconnect are not duplicates. */
  const next = new Map<number, bigint>();
  let ends: bigint[] | undefined;
  const done = (): boolean =>
    missing === 0 || ends?.every((end, p) => (next.get(p) ?? 0n) >= end) === true;
  while (!done() && Date.now() < deadline) {
    const consumer = new Consumer({
      ...clientOptions(await options.bootstrap(), `workload-verifier-${run}`),
      groupId: `workload-verify-${topic}-${run}-${randomUUID().slice(0, 8)}`,
      maxWaitTime: 500,
      autocommit: false,
    });
    // As for the live consumer: a background failure is retried by this loop, never thrown.
    consumer.on("error", () => {});
    try {
      ends ??= (await consumer.listOffsets({ topics: [topic] })).get(topic);
      const stream = await consumer.consume({
        topics: [topic],
        mode: MessagesStreamModes.EARLIEST,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      });
      const timer = setInterval(() => {
        if (done() || Date.now() >= deadline) stream.close().catch(() => {});
      }, 200);
      try {
        for await (const message of stream) {
          if (message.offset < (next.get(message.partition) ?? 0n)) continue;
          next.set(message.partition, message.offset + 1n);
          const n = parseSeq(message);
          if (n === undefined) continue;
          reads.push(n);
          if (!seen.has(n)) {
            seen.add(n);
            if (expected.has(n)) missing--;
          }
          if (done()) break;
        }
      } finally {
        clearInterval(timer);
      }
    } catch {
      await sleep(500);
    } finally {
      await consumer.close(true).catch(() => {});
    }
  }
  return reads;
}
