/**
 * A timeline history file (`pg_wal/0000000N.history`), parsed (pure).
 *
 * Each promotion writes one for its new timeline N: every earlier timeline
 * of N's past, one per line, with the LSN where N's line of history left
 * it — `<parent timeline>\t<switchpoint X/Y>\t<reason>`. Timeline 1 has
 * none. The rejoin plan needs it: a server that stopped on timeline 1 at
 * or before timeline 1's switchpoint can simply stream from the new
 * primary; one that wrote past it diverged and needs `pg_rewind`.
 */
import { parseLsn } from "../plan/lsn.ts";
import type { LsnText } from "./lsn.ts";

export interface TimelineSwitchText {
  /** A timeline of the history. */
  timeline: number;
  /** Where it ended and the next one of this history began, `X/Y`. */
  switchpoint: LsnText;
}

/** The file name PostgreSQL gives timeline `timeline`'s history: 8 upper-case hex digits. */
export function historyFileName(timeline: number): string {
  if (!Number.isInteger(timeline) || timeline < 1 || timeline > 0xffff_ffff) {
    throw new RangeError(`${timeline} is not a timeline id`);
  }
  return `${timeline.toString(16).toUpperCase().padStart(8, "0")}.history`;
}

/**
 * The entries of a history file, oldest first; blank lines and `#`
 * comments skipped, as PostgreSQL's own reader does. Throws on a line it
 * cannot read, or on timelines that do not increase (not a history).
 */
export function parseTimelineHistory(text: string): TimelineSwitchText[] {
  const entries: TimelineSwitchText[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [tli, lsn] = line.split(/\s+/);
    const timeline = Number(tli);
    if (!/^\d+$/.test(tli ?? "") || lsn === undefined) {
      throw new Error(
        `line ${index + 1} of a timeline history is not "<timeline> <X/Y> …": ${JSON.stringify(raw)}`,
      );
    }
    parseLsn(lsn);
    const last = entries[entries.length - 1];
    if (last && timeline <= last.timeline) {
      throw new Error(
        `line ${index + 1} of a timeline history goes back from timeline ${last.timeline} to ${timeline}`,
      );
    }
    entries.push({ timeline, switchpoint: lsn });
  }
  return entries;
}
