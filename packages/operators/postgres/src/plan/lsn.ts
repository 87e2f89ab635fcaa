/**
 * WAL positions for the plans: PostgreSQL prints an LSN as `X/Y`, the high
 * and low 32 bits of a 64-bit byte position in hexadecimal (`0/3000148`,
 * `16/B374D848`; PostgreSQL 18 pads the low half to 8 digits,
 * `0/03000148`). The plans hold positions as `bigint` — a double cannot
 * hold 64 bits exactly — and compare them as numbers, never as strings
 * (`0/A000000` is ahead of `0/9FFFFFF` although it sorts before it).
 *
 * Status stores positions as the `X/Y` text (JSON has no bigint):
 * `formatLsn` to write, `parseLsn` to read back.
 */

/** A byte position in the WAL stream, 0 … 2^64 − 1. */
export type Lsn = bigint;

const pattern = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const max: Lsn = 0xffff_ffff_ffff_ffffn;

/** Text that is not an `X/Y` LSN. */
export class LsnSyntaxError extends Error {
  override readonly name = "LsnSyntaxError";
  readonly value: string;

  constructor(value: string) {
    super(`${JSON.stringify(value)} is not an LSN (expected X/Y: two hex numbers of 1–8 digits)`);
    this.value = value;
  }
}

/** The position `text` names; throws `LsnSyntaxError` on anything but `X/Y`. */
export function parseLsn(text: string): Lsn {
  const match = pattern.exec(text);
  if (!match) throw new LsnSyntaxError(text);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** `lsn` as PostgreSQL before 18 prints it: upper-case hex, no leading zeros (`0/3000148`). */
export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > max) throw new RangeError(`${lsn} is not a 64-bit WAL position`);
  const high = (lsn >> 32n).toString(16).toUpperCase();
  const low = (lsn & 0xffff_ffffn).toString(16).toUpperCase();
  return `${high}/${low}`;
}

/** -1, 0 or 1 as `a` is behind, at or ahead of `b` (an `Array.prototype.sort` comparator). */
export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The furthest of `lsns`, ignoring undefined; undefined when none is known. */
export function maxLsn(...lsns: readonly (Lsn | undefined)[]): Lsn | undefined {
  let best: Lsn | undefined;
  for (const lsn of lsns) if (lsn !== undefined && (best === undefined || lsn > best)) best = lsn;
  return best;
}

/** Bytes from `behind` to `ahead` (as `pg_wal_lsn_diff(ahead, behind)`); negative when reversed. */
export function lsnDistance(ahead: Lsn, behind: Lsn): bigint {
  return ahead - behind;
}

/**
 * How far a standby's replay is behind the primary, never below 0: the
 * instances are asked one after another, so a standby asked after the
 * primary can have replayed past the position the primary reported (a
 * negative lag, -104 bytes in the bench, which status's schema refuses:
 * the whole status write failed and a switchover stalled on it).
 */
export function replayLag(primary: Lsn, replayed: Lsn): bigint {
  const d = primary - replayed;
  return d > 0n ? d : 0n;
}
