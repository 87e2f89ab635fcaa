/**
 * The acknowledged-write checker: what proves "0 acknowledged writes lost"
 * while an operator restarts, scales or upgrades the members of a data
 * system. The checker owns the loop and the verdict; a driver per system
 * owns the protocol.
 *
 * Expected flow:
 * 1. `startAckedWrites(driver)` writes 0, 1, 2, … one at a time, a pause
 *    between two, and records exactly which numbers the driver reported
 *    acknowledged. A rejected write is expected while members restart: it
 *    is counted and the loop goes on with the next number.
 * 2. The operation under test runs; `waitFor()` paces the test on progress.
 * 3. `stop()` ends the writes, asks the driver to read back everything it
 *    can, closes the driver, and reports (see report.ts) what was lost,
 *    duplicated or present without an acknowledgement.
 *
 * Guarantees: the loop is bounded in count and in time (`maxWrites`,
 * `maxDurationMs`) and stops by itself when either is reached, even if the
 * test never calls `stop()`; at most one write is in flight.
 *
 * Assumptions: the driver sends only to 127.0.0.0/8 or to the project's own
 * pod IPs, and `write(seq)` resolves only once the system acknowledged that
 * write by its strongest guarantee (acks=all, a quorum, a synchronous
 * replica) — a driver that resolves early makes the checker prove nothing.
 */
import { type AckedWritesReport, ackedWritesReport } from "./report.ts";

/** How one data system is written and read back. */
export interface AckedWriteDriver<P extends object = object> {
  /** Writes `seq`; resolves once the system acknowledged it, rejects otherwise. */
  write(seq: number): Promise<void>;
  /**
   * After the last write: every sequence number the system holds, each as
   * often as it was found. `acknowledged` lets a reader stop early once it
   * has seen them all; it must still give up by `deadline` (epoch ms).
   */
  readAll(context: {
    acknowledged: ReadonlySet<number>;
    deadline: number;
  }): Promise<Iterable<number>>;
  /** The driver's own figures, merged into `progress()` (e.g. a live consumer's count). */
  progress?(): P;
  /** Releases clients; called once by `stop()`, after `readAll`. */
  close?(): Promise<void>;
}

export interface AckedWritesOptions {
  /** Pause between the end of one write and the start of the next. @default 20 */
  intervalMs?: number;
  /** The loop ends by itself after this many writes. @default 200000 */
  maxWrites?: number;
  /** The loop ends by itself this long after it started. @default 1800000 (30 min) */
  maxDurationMs?: number;
  /** How long `stop()` gives the driver's `readAll`. @default 60000 */
  readTimeoutMs?: number;
}

export interface AckedWritesProgress {
  attempted: number;
  acknowledged: number;
  failed: number;
  /** Why the loop ended, once it has: `stop()`, `maxWrites` or `maxDurationMs`. */
  ended?: "stop" | "maxWrites" | "maxDurationMs";
  /** The most recent write error, for a message when progress stalls. */
  lastError?: string;
}

export interface AckedWrites<P extends object = object> {
  progress(): AckedWritesProgress & P;
  /**
   * Resolves once every figure named in `minimum` has reached its value;
   * fails after `timeoutMs`, or at once when the loop ended before it did.
   */
  waitFor(
    minimum: Partial<Record<NumericKeys<AckedWritesProgress & P>, number>>,
    timeoutMs?: number,
  ): Promise<void>;
  stop(): Promise<AckedWritesReport>;
}

type NumericKeys<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T] & string;

export class AckedWritesError extends Error {
  override name = "AckedWritesError";
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function startAckedWrites<P extends object = object>(
  driver: AckedWriteDriver<P>,
  options: AckedWritesOptions = {},
): AckedWrites<P> {
  const intervalMs = options.intervalMs ?? 20;
  const maxWrites = options.maxWrites ?? 200_000;
  const endBy = Date.now() + (options.maxDurationMs ?? 30 * 60_000);
  const readTimeoutMs = options.readTimeoutMs ?? 60_000;

  const acknowledged = new Set<number>();
  let attempted = 0;
  let failed = 0;
  let stopping = false;
  let ended: AckedWritesProgress["ended"];
  let lastError: string | undefined;

  const writing = (async () => {
    while (!stopping) {
      if (attempted >= maxWrites) {
        ended = "maxWrites";
        return;
      }
      if (Date.now() >= endBy) {
        ended = "maxDurationMs";
        return;
      }
      const seq = attempted++;
      try {
        await driver.write(seq);
        acknowledged.add(seq);
      } catch (error) {
        failed++;
        lastError = error instanceof Error ? error.message : String(error);
      }
      await sleep(intervalMs);
    }
    ended = "stop";
  })();

  const progress = () => ({
    ...(driver.progress?.() as P),
    attempted,
    acknowledged: acknowledged.size,
    failed,
    ...(ended ? { ended } : {}),
    ...(lastError ? { lastError } : {}),
  });

  let stopped: Promise<AckedWritesReport> | undefined;
  return {
    progress,
    async waitFor(minimum, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      const reached = (now: Record<string, unknown>) =>
        Object.entries(minimum).every(([key, min]) => Number(now[key] ?? 0) >= Number(min));
      for (;;) {
        const now = progress();
        if (reached(now)) return;
        if (now.ended || Date.now() > deadline) {
          const why = now.ended ? `the writes ended (${now.ended})` : `${timeoutMs} ms passed`;
          throw new AckedWritesError(
            `${why} before reaching ${JSON.stringify(minimum)}: ${JSON.stringify(now)}`,
          );
        }
        await sleep(100);
      }
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await writing;
        try {
          const reads = await driver.readAll({
            acknowledged,
            deadline: Date.now() + readTimeoutMs,
          });
          return ackedWritesReport({ attempted, acknowledged, failed }, reads);
        } finally {
          await driver.close?.();
        }
      })();
      return stopped;
    },
  };
}
