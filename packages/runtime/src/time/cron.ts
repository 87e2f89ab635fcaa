/**
 * Cron schedules: the `schedule` of a ScheduledBackup or a
 * ScheduledSparkApplication, read the way Kubernetes CronJob reads its
 * `schedule` — five fields (minute hour day-of-month month day-of-week),
 * evaluated in UTC. There are no time zones here, as for a CronJob without
 * `timeZone`: "0 2 * * *" is 02:00 UTC whatever the cluster's local time.
 *
 * Pure: nothing reads the clock. A controller asks `nextCronTime` when to
 * requeue and `latestCronTime` whether a run was missed since the last one.
 */

/**
 * A parsed schedule. The value sets are sorted and duplicate-free, so a
 * caller can show or compare them; build one with `parseCron`, which also
 * guarantees that the schedule fires at all.
 */
export interface CronSchedule {
  /** The schedule as written. */
  readonly text: string;
  /** Minutes of the hour, 0-59. */
  readonly minutes: readonly number[];
  /** Hours of the day, 0-23. */
  readonly hours: readonly number[];
  /** Days of the month, 1-31. */
  readonly daysOfMonth: readonly number[];
  /** Months, 1-12 (1 = January). */
  readonly months: readonly number[];
  /** Days of the week, 0-6 (0 = Sunday; a written 7 is stored as 0). */
  readonly daysOfWeek: readonly number[];
  /**
   * Vixie cron's day rule: "either" when both day fields are restricted
   * (neither starts with `*`), so "0 0 13 * FRI" fires on the 13th and on
   * every Friday; "both" otherwise, so "0 0 * * FRI" fires on Fridays only.
   */
  readonly dayMatch: "both" | "either";
}

/** A schedule that cannot be parsed, or that could never fire. */
export class CronParseError extends Error {
  override readonly name = "CronParseError";
}

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Where `*` and `a/n` stop: 6 for day-of-week, whose 7 is only an alias of Sunday. */
  readonly starMax: number;
  /** Names for values, lower case, index = value - `nameBase`. */
  readonly names?: readonly string[];
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59, starMax: 59 },
  { name: "hour", min: 0, max: 23, starMax: 23 },
  { name: "day-of-month", min: 1, max: 31, starMax: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    starMax: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    nameBase: 1,
  },
  {
    name: "day-of-week",
    min: 0,
    max: 7,
    // Were `*` to run to 7, "1/2" would pick up Sunday as 7 and "*/2" would
    // not be the 0,2,4,6 everyone expects.
    starMax: 6,
    names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    nameBase: 0,
  },
];

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

// How far the searches look. Which minutes match repeats every 400 years
// (146097 days, a whole number of weeks), so a schedule that has no match in
// any 400-year stretch has none at all: the bound is exact, not a guess. Real
// gaps are far shorter but not tiny: "0 0 29 2 *" waits 8 years across the
// skipped leap year 2100, and "0 0 29 2 */7" (29 February on a Sunday) up to
// 40 years, 1688 to 1728. The search skips whole months, days and hours, so
// even 400 years is a few tens of thousands of steps.
const SEARCH_YEARS = 400;

/**
 * Parses a five-field schedule or a macro (`@daily`), to be evaluated in UTC;
 * throws `CronParseError`, also for a schedule that could never fire.
 */
export function parseCron(text: string): CronSchedule {
  const trimmed = text.trim();
  if (trimmed === "") {
    throw new CronParseError(
      `empty schedule: write five fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"`,
    );
  }
  if (/^(CRON_)?TZ=/i.test(trimmed)) {
    throw new CronParseError(
      `schedule "${text}": time zones are not supported; schedules run in UTC, so drop the ${trimmed.split("=")[0]}= prefix and write the time in UTC`,
    );
  }
  let expanded = trimmed;
  if (trimmed.startsWith("@")) {
    const macro = MACROS[trimmed.toLowerCase()];
    if (macro === undefined) {
      throw new CronParseError(
        `unknown macro "${trimmed}": use one of ${Object.keys(MACROS).join(", ")}, or five fields`,
      );
    }
    expanded = macro;
  }
  const parts = expanded.split(/\s+/);
  if (parts.length !== FIELDS.length) {
    const hint =
      parts.length === 6
        ? "; a leading seconds field is not supported, drop it"
        : ` (minute hour day-of-month month day-of-week)`;
    throw new CronParseError(
      `schedule "${text}" has ${parts.length} field${parts.length === 1 ? "" : "s"}, expected 5${hint}`,
    );
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = FIELDS.map((spec, i) =>
    parseField(spec, parts[i] ?? ""),
  ) as [number[], number[], number[], number[], number[]];
  const domText = parts[2] ?? "";
  const dowText = parts[4] ?? "";
  const schedule: CronSchedule = Object.freeze({
    text,
    minutes: Object.freeze(minutes),
    hours: Object.freeze(hours),
    daysOfMonth: Object.freeze(daysOfMonth),
    months: Object.freeze(months),
    daysOfWeek: Object.freeze(daysOfWeek),
    dayMatch: domText.startsWith("*") || dowText.startsWith("*") ? "both" : "either",
  });
  // Any fixed start does: the search covers a whole 400-year cycle.
  if (searchForward(schedule, Date.UTC(2000, 0, 1)) === undefined) {
    // Only day-of-month can make a schedule impossible: with "either" the
    // weekdays occur in every month, and with "both" every weekday falls on
    // every day of the month in some year.
    const longest = Math.max(...months.map((m) => daysInMonth(2000, m)));
    const which = months.map((m) => MONTH_NAMES[m - 1]).join(", ");
    throw new CronParseError(
      `day-of-month field "${domText}" never occurs in month field "${parts[3]}" (${which} ${months.length === 1 ? "has" : "have"} at most ${longest} days), so the schedule would never fire; pick a day of ${longest} or less`,
    );
  }
  return schedule;
}

/**
 * The first time strictly after `after` that matches, in UTC, in whole
 * minutes (seconds and milliseconds zero).
 */
export function nextCronTime(schedule: CronSchedule, after: Date): Date {
  const ms = validTime(after, "after");
  // The next whole minute; a match at exactly `after` does not count.
  const next = searchForward(schedule, Math.floor(ms / 60_000) * 60_000 + 60_000);
  if (next === undefined) {
    // parseCron rejects schedules that never fire, so this is one built by
    // hand, or the search ran off the end of what a Date can hold.
    throw new RangeError(
      `schedule "${schedule.text}" has no match within ${SEARCH_YEARS} years after ${after.toISOString()}`,
    );
  }
  return checkedDate(next);
}

/**
 * The latest time at or before `atOrBefore` that matches (a whole minute, in
 * UTC), or undefined if there is none after `notBefore`, which is an
 * exclusive bound: a result is always `> notBefore`. For a controller,
 * `atOrBefore` is now and `notBefore` the last run, so the answer is the
 * missed run to start, if any.
 */
export function latestCronTime(
  schedule: CronSchedule,
  atOrBefore: Date,
  notBefore: Date,
): Date | undefined {
  const end = Math.floor(validTime(atOrBefore, "atOrBefore") / 60_000) * 60_000;
  const lower = validTime(notBefore, "notBefore");
  if (end <= lower) return undefined;
  const latest = searchBackward(schedule, end, lower);
  return latest === undefined ? undefined : checkedDate(latest);
}

function parseField(spec: FieldSpec, field: string): number[] {
  const fail = (problem: string): never => {
    throw new CronParseError(`${spec.name} field "${field}": ${problem}`);
  };
  const values = new Set<number>();
  for (const item of field.split(",")) {
    if (item === "") fail("empty list item; remove the extra comma");
    const slash = item.split("/");
    if (slash.length > 2) fail(`"${item}" has more than one "/"; write a-b/n`);
    const [range = "", stepText] = slash;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) fail(`step "${stepText}" is not a number; write */n or a-b/n`);
      step = Number(stepText);
      if (step === 0) fail("step 0 never advances; steps start at 1");
    }
    let from: number;
    let to: number;
    if (range === "*") {
      from = spec.min;
      to = spec.starMax;
    } else {
      const dash = range.split("-");
      if (dash.length > 2) fail(`"${range}" has more than one "-"; write a-b`);
      from = parseValue(spec, dash[0] ?? "", fail);
      if (dash.length === 2) {
        to = parseValue(spec, dash[1] ?? "", fail);
        if (from > to) {
          // A range that wraps (22-2, FRI-MON) reads naturally but cron has
          // none; say how to split it instead.
          const top = spec.starMax;
          const head = from >= top ? `${from}` : `${from}-${top}`;
          const tail = to === spec.min ? `${to}` : `${spec.min}-${to}`;
          fail(`range ${from}-${to} runs backwards; ranges cannot wrap, write ${head},${tail}`);
        }
      } else {
        // "a/n" runs from a to the end of the field; a bare "a" is just a.
        to = stepText === undefined ? from : Math.max(from, spec.starMax);
      }
    }
    for (let v = from; v <= to; v += step) values.add(spec.max === 7 && v === 7 ? 0 : v);
  }
  return [...values].sort((a, b) => a - b);
}

function parseValue(spec: FieldSpec, text: string, fail: (problem: string) => never): number {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < spec.min || value > spec.max) {
      const also = spec.max === 7 ? " (0 and 7 are Sunday)" : "";
      fail(`values are ${spec.min}-${spec.max}${also}, got ${text}`);
    }
    return value;
  }
  if (text === "") fail(`a range or step is missing a value; write a, a-b, */n or a-b/n`);
  if (/^[a-z]+$/i.test(text)) {
    if (spec.names === undefined)
      fail(`"${text}" is not a number; names are only for month and day-of-week`);
    const index = spec.names.indexOf(text.toLowerCase());
    if (index < 0) {
      const first = spec.names[0]?.toUpperCase();
      const last = spec.names[spec.names.length - 1]?.toUpperCase();
      fail(`unknown name "${text}"; use ${first}-${last} (three letters)`);
    }
    return index + (spec.nameBase ?? 0);
  }
  return fail(`"${text}" is not a value; write *, a number, a-b, */n, a-b/n or a list a,b`);
}

function dayMatches(schedule: CronSchedule, year: number, month: number, day: number): boolean {
  // The weekday costs a Date; skip it when day-of-month alone decides.
  const dom = schedule.daysOfMonth.includes(day);
  if (dom === (schedule.dayMatch === "either")) return dom;
  return schedule.daysOfWeek.includes(weekday(year, month, day));
}

/**
 * The first matching minute at or after `startMs` (a whole minute), within
 * SEARCH_YEARS. Walks the calendar field by field: a month that does not
 * match is skipped whole, then a day, then an hour, so the steps are about
 * one per candidate day, never one per minute.
 */
function searchForward(schedule: CronSchedule, startMs: number): number | undefined {
  const start = new Date(startMs);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let hour = start.getUTCHours();
  let minute = start.getUTCMinutes();
  const lastYear = year + SEARCH_YEARS;
  while (year <= lastYear) {
    const m = firstAtLeast(schedule.months, month);
    if (m === undefined) {
      [year, month, day, hour, minute] = [year + 1, 1, 1, 0, 0];
      continue;
    }
    if (m !== month) [month, day, hour, minute] = [m, 1, 0, 0];
    if (day > daysInMonth(year, month)) {
      [month, day, hour, minute] = [month + 1, 1, 0, 0];
      if (month > 12) [year, month] = [year + 1, 1];
      continue;
    }
    if (!dayMatches(schedule, year, month, day)) {
      [day, hour, minute] = [day + 1, 0, 0];
      continue;
    }
    const h = firstAtLeast(schedule.hours, hour);
    if (h === undefined) {
      [day, hour, minute] = [day + 1, 0, 0];
      continue;
    }
    if (h !== hour) [hour, minute] = [h, 0];
    const min = firstAtLeast(schedule.minutes, minute);
    if (min === undefined) {
      [hour, minute] = [hour + 1, 0];
      continue;
    }
    return utc(year, month, day, hour, min);
  }
  return undefined;
}

/**
 * The last matching minute at or before `endMs` (a whole minute) and after
 * `lowerMs`: searchForward mirrored, stopping as soon as the walk drops to
 * `lowerMs`, so a narrow window costs little and a wide one at most the
 * 400-year cycle.
 */
function searchBackward(
  schedule: CronSchedule,
  endMs: number,
  lowerMs: number,
): number | undefined {
  const end = new Date(endMs);
  let year = end.getUTCFullYear();
  let month = end.getUTCMonth() + 1;
  let day = end.getUTCDate();
  let hour = end.getUTCHours();
  let minute = end.getUTCMinutes();
  const firstYear = year - SEARCH_YEARS;
  while (year >= firstYear) {
    // Every candidate left is at or before this position; once it is at or
    // below the lower bound there is nothing more to find. (utc() carries a
    // day of 0 or an hour of -1 back into the previous month or day.)
    if (utc(year, month, day, hour, minute) <= lowerMs) return undefined;
    const m = lastAtMost(schedule.months, month);
    if (m === undefined) {
      [year, month, hour, minute] = [year - 1, 12, 23, 59];
      day = 31;
      continue;
    }
    if (m !== month) [month, day, hour, minute] = [m, daysInMonth(year, m), 23, 59];
    if (day < 1) {
      [month, hour, minute] = [month - 1, 23, 59];
      if (month < 1) [year, month] = [year - 1, 12];
      day = daysInMonth(year, month);
      continue;
    }
    if (!dayMatches(schedule, year, month, day)) {
      [day, hour, minute] = [day - 1, 23, 59];
      continue;
    }
    const h = lastAtMost(schedule.hours, hour);
    if (h === undefined) {
      [day, hour, minute] = [day - 1, 23, 59];
      continue;
    }
    if (h !== hour) [hour, minute] = [h, 59];
    const min = lastAtMost(schedule.minutes, minute);
    if (min === undefined) {
      [hour, minute] = [hour - 1, 59];
      continue;
    }
    const found = utc(year, month, day, hour, min);
    return found > lowerMs ? found : undefined;
  }
  return undefined;
}

function firstAtLeast(sorted: readonly number[], value: number): number | undefined {
  for (const v of sorted) if (v >= value) return v;
  return undefined;
}

function lastAtMost(sorted: readonly number[], value: number): number | undefined {
  for (let i = sorted.length - 1; i >= 0; i--) {
    const v = sorted[i];
    if (v !== undefined && v <= value) return v;
  }
  return undefined;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function weekday(year: number, month: number, day: number): number {
  return new Date(utc(year, month, day, 0, 0)).getUTCDay();
}

/**
 * Milliseconds for a UTC calendar minute. Not `Date.UTC`, which reads years
 * 0-99 as 1900-1999; `setUTCFullYear` takes the year as given.
 */
function utc(year: number, month: number, day: number, hour: number, minute: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.setUTCHours(hour, minute, 0, 0);
}

function validTime(date: Date, name: string): number {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`${name} is an invalid Date`);
  return ms;
}

/** Past the year 275760 a Date cannot hold the result; say so rather than return an invalid one. */
function checkedDate(ms: number): Date {
  if (Number.isNaN(ms)) throw new RangeError("the next cron time is beyond the range of Date");
  return new Date(ms);
}
