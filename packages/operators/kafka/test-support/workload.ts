/**
 * The data-loss checker of the end-to-end tests: what proves "0 acknowledged
 * messages lost" while the operator restarts, scales or upgrades brokers.
 *
 * A producer (acks=all, idempotent, retries on) writes one message per tick
 * whose value is a sequence number, and remembers exactly which numbers the
 * cluster ACKNOWLEDGED. Send errors are expected while brokers restart: they
 * are counted, and the producer is re-created from a fresh `bootstrap()`
 * when they persist (pod IPs change on restart). A consumer in its own group
 * reads the topic concurrently, as an application would.
 *
 * `stop()` stops producing, then VERIFIES with a fresh reader that starts at
 * the earliest offset: it reads until it has seen every acknowledged number,
 * or has reached the end offsets the partitions had once producing stopped,
 * or the drain timeout passes. `lost` is the list of acknowledged numbers
 * that reader never saw — computed from sets of distinct numbers, never from
 * counts, so a loss hidden by a duplicate or by an unacknowledged write that
 * landed anyway cannot cancel out. The verification re-reads from the start
 * because the live consumer alone would miss a message it read before the
 * cluster lost it (e.g. truncated by an unclean leader election).
 */
import { randomUUID } from "node:crypto";
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
}

export interface WorkloadProgress {
  acknowledged: number;
  failedSends: number;
  /** Distinct sequence numbers the live consumer has read so far. */
  consumed: number;
}

export interface WorkloadReport {
  /** Distinct sequence numbers the cluster acknowledged. */
  acknowledged: number;
  failedSends: number;
  /**
   * Distinct sequence numbers the live consumer read while the workload ran.
   * It may exceed `acknowledged`: a send that failed on the client (its
   * broker died before answering) can still have been committed.
   */
  consumed: number;
  /** Acknowledged sequence numbers the live consumer never read. */
  missedLive: number;
  /** Acknowledged sequence numbers absent from the topic at the end, ascending. */
  lost: number[];
  /** Records in the topic carrying a sequence number already seen (the producer wrote it twice). */
  duplicates: number;
}

export interface Workload {
  progress(): WorkloadProgress;
  /** Resolves once `progress()` reports at least `acknowledged` and `consumed` messages. */
  waitFor(minimum: { acknowledged?: number; consumed?: number }, timeoutMs?: number): Promise<void>;
  stop(): Promise<WorkloadReport>;
}

export class WorkloadError extends Error {
  override name = "WorkloadError";
}

/** Consecutive failed sends after which the producer is rebuilt from a fresh `bootstrap()`. */
const REBUILD_AFTER_FAILURES = 3;

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

export function startWorkload(options: WorkloadOptions): Workload {
  const { topic } = options;
  const intervalMs = options.intervalMs ?? 20;
  const drainTimeoutMs = options.drainTimeoutMs ?? 60_000;
  const run = randomUUID().slice(0, 8);

  const acknowledged = new Set<number>();
  const consumedLive = new Set<number>();
  let failedSends = 0;
  let stopping = false;
  /** The first error that is not the cluster being unavailable, e.g. a bug in this checker. */
  let fatal: unknown;

  const producing = (async () => {
    let producer: Producer | undefined;
    let consecutiveFailures = 0;
    let seq = 0;
    try {
      while (!stopping) {
        if (!producer) {
          producer = new Producer({
            ...clientOptions(await options.bootstrap(), `workload-producer-${run}`),
            acks: ProduceAcks.ALL,
            idempotent: true,
          });
        }
        const n = seq++;
        try {
          await producer.send({ messages: [{ topic, value: Buffer.from(String(n)) }] });
          acknowledged.add(n);
          consecutiveFailures = 0;
        } catch {
          failedSends++;
          consecutiveFailures++;
          if (consecutiveFailures >= REBUILD_AFTER_FAILURES) {
            // A new client re-reads bootstrap() and gets a new producer id, which also clears an
            // idempotent producer stuck on sequence errors after a broker lost its state.
            await producer.close(true).catch(() => {});
            producer = undefined;
            consecutiveFailures = 0;
          }
        }
        await sleep(intervalMs);
      }
    } catch (error) {
      fatal ??= error;
    } finally {
      await producer?.close(true).catch(() => {});
    }
  })();

  // The live consumer: reads as an application would, survives broker restarts by starting over
  // from its committed offsets with a fresh client. It keeps reading through stop()'s drain.
  let liveConsumer: Consumer | undefined;
  let consumerDone = false;
  let lastRead = Date.now();
  // A fetch whose leader was killed can hang without an error: a consumer that has read nothing
  // for 10 s while acknowledged messages wait is closed, and the loop below starts a new one.
  const watchdog = setInterval(() => {
    const behind = acknowledged.size > consumedLive.size;
    if (behind && Date.now() - lastRead > 10_000 && liveConsumer) {
      lastRead = Date.now();
      void liveConsumer.close(true).catch(() => {});
    }
  }, 1000);
  const consuming = (async () => {
    const groupId = `workload-${topic}-${run}`;
    while (!consumerDone) {
      try {
        const consumer = new Consumer({
          ...clientOptions(await options.bootstrap(), `workload-consumer-${run}`),
          groupId,
          sessionTimeout: 10_000,
          heartbeatInterval: 1_000,
          maxWaitTime: 500,
          autocommit: 500,
        });
        liveConsumer = consumer;
        lastRead = Date.now();
        const stream = await consumer.consume({
          topics: [topic],
          mode: MessagesStreamModes.COMMITTED,
          fallbackMode: MessagesStreamFallbackModes.EARLIEST,
        });
        for await (const message of stream) {
          const n = parseSeq(message);
          if (n !== undefined) consumedLive.add(n);
          lastRead = Date.now();
          if (consumerDone) break;
        }
      } catch {
        // Expected while brokers restart; start over below.
      } finally {
        await liveConsumer?.close(true).catch(() => {});
        liveConsumer = undefined;
      }
      if (!consumerDone) await sleep(500);
    }
  })();

  const progress = (): WorkloadProgress => ({
    acknowledged: acknowledged.size,
    failedSends,
    consumed: consumedLive.size,
  });

  return {
    progress,
    async waitFor(minimum, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = progress();
        if (
          now.acknowledged >= (minimum.acknowledged ?? 0) &&
          now.consumed >= (minimum.consumed ?? 0)
        )
          return;
        if (fatal) throw new WorkloadError("the workload's producer failed", { cause: fatal });
        if (Date.now() > deadline) {
          throw new WorkloadError(
            `workload on ${topic} did not reach ${JSON.stringify(minimum)} in ${timeoutMs} ms: ${JSON.stringify(now)}`,
          );
        }
        await sleep(100);
      }
    },
    async stop() {
      stopping = true;
      await producing;
      // Give the live consumer a moment to catch up, as part of the drain budget.
      const deadline = Date.now() + drainTimeoutMs;
      while (Date.now() < deadline && [...acknowledged].some((n) => !consumedLive.has(n)))
        await sleep(200);
      consumerDone = true;
      clearInterval(watchdog);
      await liveConsumer?.close(true).catch(() => {});
      await consuming;
      if (fatal) throw new WorkloadError("the workload's producer failed", { cause: fatal });
      const verified = await readAll(
        options,
        topic,
        acknowledged,
        Math.max(deadline, Date.now() + 15_000),
        run,
      );
      const lost = [...acknowledged].filter((n) => !verified.seen.has(n)).sort((a, b) => a - b);
      return {
        acknowledged: acknowledged.size,
        failedSends,
        consumed: consumedLive.size,
        missedLive: [...acknowledged].filter((n) => !consumedLive.has(n)).length,
        lost,
        duplicates: verified.duplicates,
      };
    },
  };
}

/**
 * Reads the whole topic from the earliest offset with a fresh group, until
 * every number in `expected` was seen, or every partition was read up to the
 * end offset it had when reading began, or `deadline` passes.
 */
async function readAll(
  options: WorkloadOptions,
  topic: string,
  expected: ReadonlySet<number>,
  deadline: number,
  run: string,
): Promise<{ seen: Set<number>; duplicates: number }> {
  const seen = new Set<number>();
  let duplicates = 0;
  /** Per partition: the next offset to read, so re-reads after a reconnect are not duplicates. */
  const next = new Map<number, bigint>();
  let ends: bigint[] | undefined;
  const done = (): boolean => {
    if ([...expected].every((n) => seen.has(n))) return true;
    return ends?.every((end, p) => (next.get(p) ?? 0n) >= end) === true;
  };
  while (!done() && Date.now() < deadline) {
    const consumer = new Consumer({
      ...clientOptions(await options.bootstrap(), `workload-verifier-${run}`),
      groupId: `workload-verify-${topic}-${run}-${randomUUID().slice(0, 8)}`,
      maxWaitTime: 500,
      autocommit: false,
    });
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
          const partitionNext = next.get(message.partition) ?? 0n;
          if (message.offset < partitionNext) continue;
          next.set(message.partition, message.offset + 1n);
          const n = parseSeq(message);
          if (n === undefined) continue;
          if (seen.has(n)) duplicates++;
          else seen.add(n);
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
  return { seen, duplicates };
}
