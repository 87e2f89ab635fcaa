/**
 * The verdict of an acknowledged-write run, from what was written and what
 * was read back. Pure, so the arithmetic that decides "nothing acknowledged
 * was lost" is property-tested apart from any data system.
 *
 * Everything is computed from SETS of distinct sequence numbers, never from
 * counts: a number read twice, or a write that failed on the client but was
 * committed anyway, must not make up for an acknowledged number that is
 * missing.
 */

/** What the writer knows when it stops. */
export interface WriteLedger {
  /** Writes started: sequence numbers 0 … attempted-1. */
  attempted: number;
  /** Sequence numbers the system acknowledged. */
  acknowledged: ReadonlySet<number>;
  /** Writes the system refused or did not answer (each a number not in `acknowledged`). */
  failed: number;
}

export interface AckedWritesReport {
  /** Writes started. */
  attempted: number;
  /** Distinct sequence numbers the system acknowledged. */
  acknowledged: number;
  /** Writes that were not acknowledged (refused, timed out, the connection dropped). */
  failed: number;
  /** Distinct sequence numbers read back. */
  read: number;
  /** Acknowledged, never read back: the data loss. Ascending. */
  lost: number[];
  /** Read back more than once (a retried write landed twice). Ascending. */
  duplicated: number[];
  /**
   * Not acknowledged, yet read back: the write reached the system but its
   * answer did not reach the writer. Not a fault; ascending.
   */
  unacknowledgedButPresent: number[];
  /** Read back but never written by this run (another writer, or a driver bug). Ascending. */
  neverWritten: number[];
}

const ascending = (a: number, b: number) => a - b;

/** The report for `ledger`, given every sequence number read back (repeats included). */
export function ackedWritesReport(ledger: WriteLedger, reads: Iterable<number>): AckedWritesReport {
  const seen = new Set<number>();
  const repeated = new Set<number>();
  for (const n of reads) {
    if (seen.has(n)) repeated.add(n);
    else seen.add(n);
  }
  const written = (n: number) => Number.isInteger(n) && n >= 0 && n < ledger.attempted;
  const lost = [...ledger.acknowledged].filter((n) => !seen.has(n));
  const unacknowledgedButPresent: number[] = [];
  const neverWritten: number[] = [];
  for (const n of seen) {
    if (!written(n)) neverWritten.push(n);
    else if (!ledger.acknowledged.has(n)) unacknowledgedButPresent.push(n);
  }
  return {
    attempted: ledger.attempted,
    acknowledged: ledger.acknowledged.size,
    failed: ledger.failed,
    read: seen.size,
    lost: lost.sort(ascending),
    duplicated: [...repeated].sort(ascending),
    unacknowledgedButPresent: unacknowledgedButPresent.sort(ascending),
    neverWritten: neverWritten.sort(ascending),
  };
}
