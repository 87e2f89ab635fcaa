/**
 * Plain-text building blocks for an operator's `ballast status` view
 * (`StatusView`): aligned tables, a progress bar, relative times, the
 * conditions table, and colour that is only ever added on top (every line
 * reads the same without it, so pipes and logs lose nothing).
 */
import type { Condition } from "../status/conditions.ts";

export interface Style {
  color: boolean;
}

const codes = { green: 32, red: 31, yellow: 33, bold: 1, dim: 2 } as const;

export function paint(style: Style, color: keyof typeof codes, text: string): string {
  return style.color ? `\u001b[${codes[color]}m${text}\u001b[0m` : text;
}

/** Colour by meaning: True/yes green, False/no red, anything else unchanged. */
export function paintStatus(style: Style, text: string, good: boolean | undefined): string {
  if (good === undefined) return text;
  return paint(style, good ? "green" : "red", text);
}

// Colour codes take no room on screen: column widths ignore them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escape character is the point
const ansi = /\u001b\[[0-9;]*m/g;
const visible = (text: string) => text.replace(ansi, "").length;

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => visible(r[c] ?? ""))));
  return all.map((row) =>
    row
      .map((cell, c) =>
        c === row.length - 1 ? cell : cell + " ".repeat((widths[c] ?? 0) - visible(cell)),
      )
      .join("  ")
      .trimEnd(),
  );
}

/** `[######----] 6/10`; an empty total shows an empty bar at 0/0. */
export function progressBar(done: number, total: number, width = 10): string {
  const clamped = Math.max(0, Math.min(done, total));
  const filled = total > 0 ? Math.round((clamped / total) * width) : 0;
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${clamped}/${total}`;
}

/** `3m ago`, `2h5m ago`, `just now`; `undefined` for a time that does not parse. */
export function ago(iso: string, now: Date): string | undefined {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return undefined;
  const seconds = Math.max(0, Math.round((now.getTime() - then) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ""} ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

/** `label   value` lines with the labels aligned. */
export function fields(rows: readonly (readonly [string, string | undefined])[]): string[] {
  const shown = rows.filter((r): r is readonly [string, string] => r[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length)) + 2;
  return shown.map(([label, value]) => `  ${label.padEnd(width)}${value}`);
}

/** Ready says True when healthy; Degraded says True when not; others carry no colour. */
function conditionGood(c: Condition): boolean | undefined {
  if (c.type === "Degraded") return c.status === "True" ? false : c.status === "False";
  if (c.type === "Ready") return c.status === "True";
  return undefined;
}

/** `Conditions:` and a TYPE/STATUS/REASON/MESSAGE table, or a line saying there are none. */
export function conditionLines(
  conditions: readonly Condition[] | undefined,
  style: Style,
): string[] {
  if (!conditions?.length) return ["Conditions: none reported yet"];
  return [
    "Conditions:",
    ...table(
      ["TYPE", "STATUS", "REASON", "MESSAGE"],
      conditions.map((c) => [
        c.type,
        paintStatus(style, c.status, conditionGood(c)),
        c.reason || "-",
        c.message || "-",
      ]),
    ).map((line) => `  ${line}`),
  ];
}
