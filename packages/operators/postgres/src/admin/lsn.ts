/**
 * WAL positions as the port reports them: the `X/Y` text PostgreSQL prints
 * (`0/3000148`, `16/B374D848`), which is also what status stores (JSON has
 * no bigint). The arithmetic is `../plan/lsn.ts`'s, on bigints; this module
 * only lets the port's callers (and its test) compare and subtract the
 * text directly, never as strings: `0/A000000` is ahead of `0/9FFFFFF`
 * although it sorts before it. Pure, no I/O.
 */
import { compareLsn, lsnDistance, parseLsn } from "../plan/lsn.ts";

/** An LSN as PostgreSQL prints it, e.g. `0/3000148`: what reports carry and status stores. */
export type LsnText = string;

/**
 * `a - b` in bytes, as `pg_wal_lsn_diff(a, b)`: positive when `a` is
 * ahead. A bigint (an LSN is 64 bits; `pg_wal_lsn_diff` returns numeric).
 * Throws `LsnSyntaxError` on text that is not `X/Y`.
 */
export function walLsnDiff(a: LsnText, b: LsnText): bigint {
  return lsnDistance(parseLsn(a), parseLsn(b));
}

/** -1, 0 or 1 as `a` is behind, at or ahead of `b`: an `Array.prototype.sort` comparator. */
export function compareLsnText(a: LsnText, b: LsnText): -1 | 0 | 1 {
  return compareLsn(parseLsn(a), parseLsn(b));
}
