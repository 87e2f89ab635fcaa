import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CronParseError, latestCronTime, nextCronTime, parseCron } from "./cron.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const at = (iso: string) => new Date(iso);
const next = (text: string, after: string) =>
  nextCronTime(parseCron(text), at(after)).toISOString();
/** The first few firings after `after`, to show a schedule's shape at a glance. */
function firings(text: string, after: string, count: number): string[] {
  const schedule = parseCron(text);
  const out: string[] = [];
  let t = at(after);
  for (let i = 0; i < count; i++) {
    t = nextCronTime(schedule, t);
    out.push(t.toISOString());
  }
  return out;
}
const rejects = (text: string, message: RegExp) =>
  assert.throws(
    () => parseCron(text),
    (error: unknown) => {
      assert.ok(error instanceof CronParseError, `${text}: ${String(error)}`);
      assert.match(error.message, message);
      return true;
    },
  );

// --- Syntax, one feature at a time -----------------------------------------

test("* and plain numbers: '30 2 * * *' fires daily at 02:30 UTC", () => {
  assert.deepEqual(firings("30 2 * * *", "2024-05-10T10:07:30Z", 2), [
    "2024-05-11T02:30:00.000Z",
    "2024-05-12T02:30:00.000Z",
  ]);
  assert.equal(next("* * * * *", "2024-05-10T10:07:30.250Z"), "2024-05-10T10:08:00.000Z");
});

test("the next time is strictly after, even when `after` is itself a firing", () => {
  assert.equal(next("*/15 * * * *", "2024-05-10T10:15:00Z"), "2024-05-10T10:30:00.000Z");
  assert.equal(next("*/15 * * * *", "2024-05-10T10:14:59.999Z"), "2024-05-10T10:15:00.000Z");
});

test("ranges a-b and lists a,b,c", () => {
  assert.deepEqual(parseCron("0 9-11 * * *").hours, [9, 10, 11]);
  assert.deepEqual(parseCron("1,2,3 * * * *").minutes, [1, 2, 3]);
  assert.deepEqual(parseCron("5,1-3,5 * * * *").minutes, [1, 2, 3, 5]);
});

test("steps */n, a-b/n and a/n (a to the end of the field)", () => {
  assert.deepEqual(parseCron("*/20 * * * *").minutes, [0, 20, 40]);
  assert.deepEqual(parseCron("10-20/5 * * * *").minutes, [10, 15, 20]);
  assert.deepEqual(parseCron("5/20 * * * *").minutes, [5, 25, 45]);
  assert.deepEqual(parseCron("0 0 */10 * *").daysOfMonth, [1, 11, 21, 31]);
  assert.deepEqual(parseCron("0 0 1 */5 *").months, [1, 6, 11]);
  // A step past the field's span is legal (as in other crons): it keeps only the start.
  assert.deepEqual(parseCron("*/90 * * * *").minutes, [0]);
});

test("month names JAN-DEC and weekday names SUN-SAT, in any case", () => {
  assert.deepEqual(parseCron("0 0 1 jan,Jul,DEC *").months, [1, 7, 12]);
  assert.deepEqual(parseCron("0 0 1 Feb-apr *").months, [2, 3, 4]);
  assert.deepEqual(parseCron("0 9 * * mon-FRI").daysOfWeek, [1, 2, 3, 4, 5]);
  assert.deepEqual(parseCron("0 9 * * sun,Sat").daysOfWeek, [0, 6]);
  assert.deepEqual(parseCron("0 0 * * MON/2").daysOfWeek, [1, 3, 5]);
});

test("day-of-week 7 is Sunday, like 0", () => {
  for (const text of ["0 0 * * 7", "0 0 * * 0", "0 0 * * SUN"])
    assert.deepEqual(parseCron(text).daysOfWeek, [0], text);
  assert.deepEqual(parseCron("0 0 * * 5-7").daysOfWeek, [0, 5, 6]);
  // `*` and a/n stop at 6, so Sunday is not counted twice and */2 is 0,2,4,6.
  assert.deepEqual(parseCron("0 0 * * */2").daysOfWeek, [0, 2, 4, 6]);
  assert.deepEqual(parseCron("0 0 * * 1/2").daysOfWeek, [1, 3, 5]);
  assert.equal(next("0 0 * * 7", "2024-05-10T00:00:00Z"), "2024-05-12T00:00:00.000Z");
});

test("the macros are their five-field schedules", () => {
  const same = (macro: string, fields: string) => {
    const { text: _m, ...a } = parseCron(macro);
    const { text: _f, ...b } = parseCron(fields);
    assert.deepEqual(a, b, macro);
  };
  same("@yearly", "0 0 1 1 *");
  same("@annually", "0 0 1 1 *");
  same("@monthly", "0 0 1 * *");
  same("@weekly", "0 0 * * 0");
  same("@daily", "0 0 * * *");
  same("@midnight", "0 0 * * *");
  same("@hourly", "0 * * * *");
  same(" @DAILY ", "0 0 * * *");
  assert.equal(parseCron("@daily").text, "@daily");
  assert.equal(next("@yearly", "2024-12-31T23:59:30Z"), "2025-01-01T00:00:00.000Z");
});

test("both day fields restricted: a day matches if either does (Vixie cron)", () => {
  // Friday 2024-09-13: the 13th and every Friday.
  assert.equal(parseCron("0 0 13 * FRI").dayMatch, "either");
  assert.deepEqual(firings("0 0 13 * FRI", "2024-09-01T00:00:00Z", 4), [
    "2024-09-06T00:00:00.000Z",
    "2024-09-13T00:00:00.000Z",
    "2024-09-20T00:00:00.000Z",
    "2024-09-27T00:00:00.000Z",
  ]);
  assert.deepEqual(firings("0 0 13 * MON", "2024-09-01T00:00:00Z", 3), [
    "2024-09-02T00:00:00.000Z",
    "2024-09-09T00:00:00.000Z",
    "2024-09-13T00:00:00.000Z",
  ]);
});

test("a day field starting with * makes both day fields have to match", () => {
  assert.equal(parseCron("0 0 * * FRI").dayMatch, "both");
  assert.equal(parseCron("0 0 13 * *").dayMatch, "both");
  // */2 is restricted in effect but starts with *, so: odd days that are Fridays.
  assert.equal(parseCron("0 0 */2 * FRI").dayMatch, "both");
  assert.deepEqual(firings("0 0 */2 * FRI", "2024-09-01T00:00:00Z", 3), [
    "2024-09-13T00:00:00.000Z",
    "2024-09-27T00:00:00.000Z",
    "2024-10-11T00:00:00.000Z",
  ]);
  assert.equal(parseCron("0 0 1 * */2").dayMatch, "both");
});

test("month and year roll over, and 29 February waits for a leap year", () => {
  assert.equal(next("0 0 1 * *", "2024-01-31T12:00:00Z"), "2024-02-01T00:00:00.000Z");
  assert.equal(next("0 0 31 * *", "2024-04-15T00:00:00Z"), "2024-05-31T00:00:00.000Z");
  assert.equal(next("0 0 29 2 *", "2024-03-01T00:00:00Z"), "2028-02-29T00:00:00.000Z");
  // 2100 is no leap year: the longest gap any schedule has, 8 years.
  assert.equal(next("0 0 29 2 *", "2097-03-01T00:00:00Z"), "2104-02-29T00:00:00.000Z");
});

test("years 0-99 are not read as 1900-1999", () => {
  assert.equal(next("0 0 1 1 *", "0050-06-01T00:00:00Z"), "0051-01-01T00:00:00.000Z");
  const schedule = parseCron("0 0 1 1 *");
  assert.equal(
    latestCronTime(schedule, at("0051-06-01T00:00:00Z"), at("0001-01-01T00:00:00Z"))?.toISOString(),
    "0051-01-01T00:00:00.000Z",
  );
});

test("an invalid Date is a RangeError, not a search", () => {
  const schedule = parseCron("@daily");
  assert.throws(() => nextCronTime(schedule, new Date(Number.NaN)), RangeError);
  assert.throws(
    () => latestCronTime(schedule, new Date(Number.NaN), at("2024-01-01Z")),
    RangeError,
  );
});

// --- latestCronTime ---------------------------------------------------------

test("latestCronTime() includes atOrBefore and excludes notBefore", () => {
  const schedule = parseCron("0 3 * * *");
  const latest = (atOrBefore: string, notBefore: string) =>
    latestCronTime(schedule, at(atOrBefore), at(notBefore))?.toISOString();
  assert.equal(latest("2024-05-10T02:00:00Z", "2024-05-08T00:00:00Z"), "2024-05-09T03:00:00.000Z");
  assert.equal(latest("2024-05-10T03:00:00Z", "2024-05-08T00:00:00Z"), "2024-05-10T03:00:00.000Z");
  assert.equal(latest("2024-05-10T03:00:59Z", "2024-05-08T00:00:00Z"), "2024-05-10T03:00:00.000Z");
  assert.equal(latest("2024-05-10T02:59:59Z", "2024-05-09T03:00:00Z"), undefined);
  assert.equal(latest("2024-05-10T02:00:00Z", "2024-05-10T02:00:00Z"), undefined);
  assert.equal(latest("2024-05-10T02:00:00Z", "2024-05-11T00:00:00Z"), undefined);
});

test("latestCronTime() over centuries with a rare schedule searches backwards, not by minute", () => {
  const leapDay = parseCron("0 0 29 2 *");
  const started = performance.now();
  assert.equal(
    latestCronTime(leapDay, at("2103-12-31T00:00:00Z"), at("1700-01-01T00:00:00Z"))?.toISOString(),
    "2096-02-29T00:00:00.000Z",
  );
  assert.equal(
    latestCronTime(leapDay, at("2103-12-31T00:00:00Z"), at("2096-02-29T00:00:00Z")),
    undefined,
  );
  // No match in 400 years means none ever: the answer comes without scanning 10000 years.
  const never = { ...leapDay, text: "hand-built", daysOfMonth: [30] };
  assert.equal(
    latestCronTime(never, at("9999-01-01T00:00:00Z"), at("0001-01-01T00:00:00Z")),
    undefined,
  );
  assert.throws(() => nextCronTime(never, at("2024-01-01T00:00:00Z")), /no match within 400 years/);
  // Minute by minute, the first call alone would be 200 million steps.
  assert.ok(performance.now() - started < 500, "took too long");
});

// --- Rejections ---------------------------------------------------------------

test("the wrong number of fields is rejected, with a hint for a seconds field", () => {
  rejects("", /empty schedule/);
  rejects("   ", /empty schedule/);
  rejects("0 0 * *", /has 4 fields, expected 5 \(minute hour day-of-month month day-of-week\)/);
  rejects("0 0 0 * * *", /has 6 fields, expected 5; a leading seconds field is not supported/);
  rejects("0 0 0 * * * 2024", /has 7 fields, expected 5/);
});

test("out-of-range values are rejected, naming the field and its range", () => {
  rejects("61 * * * *", /^minute field "61": values are 0-59, got 61$/);
  rejects("0 24 * * *", /^hour field "24": values are 0-23/);
  rejects("0 0 0 * *", /^day-of-month field "0": values are 1-31/);
  rejects("0 0 32 * *", /^day-of-month field "32": values are 1-31/);
  rejects("0 0 1 0 *", /^month field "0": values are 1-12/);
  rejects("0 0 1 13 *", /^month field "13": values are 1-12/);
  rejects("0 0 * * 8", /^day-of-week field "8": values are 0-7 \(0 and 7 are Sunday\)/);
  rejects("0-60 * * * *", /^minute field "0-60": values are 0-59/);
  rejects("0 */2,25 * * *", /^hour field "\*\/2,25": values are 0-23/);
});

test("step 0 and malformed steps are rejected", () => {
  rejects("*/0 * * * *", /^minute field "\*\/0": step 0 never advances/);
  rejects("0 1-5/0 * * *", /^hour field "1-5\/0": step 0/);
  rejects("*/ * * * *", /^minute field "\*\/": step "" is not a number/);
  rejects("*/x * * * *", /^minute field "\*\/x": step "x" is not a number/);
  rejects("1/2/3 * * * *", /^minute field "1\/2\/3": "1\/2\/3" has more than one "\/"/);
});

test("reversed ranges are rejected, with the split that was probably meant", () => {
  rejects("0 22-2 * * *", /^hour field "22-2": range 22-2 runs backwards; .* write 22-23,0-2$/);
  rejects("0 0 * * FRI-MON", /^day-of-week field "FRI-MON": range 5-1 .* write 5-6,0-1$/);
  rejects("0 0 * * SAT-SUN", /^day-of-week field "SAT-SUN": .* write 6,0$/);
  rejects("0 0 1 DEC-FEB *", /^month field "DEC-FEB": range 12-2 .* write 12,1-2$/);
});

test("empty list items and empty range ends are rejected", () => {
  rejects("1,,2 * * * *", /^minute field "1,,2": empty list item/);
  rejects("1, * * * *", /^minute field "1,": empty list item/);
  rejects("0 ,1 * * *", /^hour field ",1": empty list item/);
  rejects("0 1- * * *", /^hour field "1-": a range or step is missing a value/);
  rejects("0 -1 * * *", /^hour field "-1": a range or step is missing a value/);
  rejects("0 1-2-3 * * *", /^hour field "1-2-3": "1-2-3" has more than one "-"/);
});

test("unknown names and non-numbers are rejected", () => {
  rejects("0 0 1 FOO *", /^month field "FOO": unknown name "FOO"; use JAN-DEC/);
  rejects("0 0 1 JANUARY *", /^month field "JANUARY": unknown name "JANUARY"/);
  rejects("0 0 * * MOO", /^day-of-week field "MOO": unknown name "MOO"; use SUN-SAT/);
  rejects("MON 0 * * *", /^minute field "MON": "MON" is not a number; names are only for month/);
  rejects("0 0 JAN * *", /^day-of-month field "JAN": "JAN" is not a number/);
  rejects("1.5 * * * *", /^minute field "1.5": "1.5" is not a value/);
  rejects("+1 * * * *", /^minute field "\+1": "\+1" is not a value/);
  rejects("0 0 ? * *", /^day-of-month field "\?": "\?" is not a value/);
  rejects("@every 5m", /^unknown macro "@every 5m": use one of @yearly/);
  rejects("@reboot", /^unknown macro "@reboot"/);
  rejects("TZ=Europe/Paris 0 2 * * *", /time zones are not supported; schedules run in UTC/);
  rejects("CRON_TZ=UTC 0 2 * * *", /drop the CRON_TZ= prefix/);
});

test("schedules that can never fire are rejected, naming the day and month fields", () => {
  rejects(
    "0 0 30 2 *",
    /^day-of-month field "30" never occurs in month field "2" \(February has at most 29 days\)/,
  );
  rejects(
    "0 0 31 4 *",
    /^day-of-month field "31" never occurs in month field "4" \(April has at most 30 days\)/,
  );
  rejects("0 0 31 apr,jun,sep,nov *", /April, June, September, November have at most 30 days/);
  rejects("0 0 30,31 2 *", /^day-of-month field "30,31" never occurs/);
  // Not impossible: 29 February comes in leap years, and with both day
  // fields restricted, the weekday alone can fire.
  assert.doesNotThrow(() => parseCron("0 0 29 2 *"));
  assert.doesNotThrow(() => parseCron("0 0 30 2 MON"));
  assert.equal(next("0 0 30 2 MON", "2024-01-01T00:00:00Z"), "2024-02-05T00:00:00.000Z");
});

// --- Properties -----------------------------------------------------------------

/** A field as written and the values it stands for, computed here independently of cron.ts. */
interface GenField {
  readonly text: string;
  readonly values: ReadonlySet<number>;
}
interface GenSchedule {
  readonly text: string;
  readonly minute: ReadonlySet<number>;
  readonly hour: ReadonlySet<number>;
  readonly dom: ReadonlySet<number>;
  readonly month: ReadonlySet<number>;
  readonly dow: ReadonlySet<number>;
  readonly eitherDay: boolean;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/**
 * One field: 1-3 list items among *, *\/n, a, a-b, a-b/n and a/n. `top` is
 * where * and a/n end; `max` the highest value that may be written (7 for
 * day-of-week, stored as Sunday).
 */
function field(
  min: number,
  top: number,
  max: number,
  names?: readonly string[],
  nameBase = 0,
): fc.Arbitrary<GenField> {
  const write = (v: number) =>
    names !== undefined && v - nameBase < names.length
      ? fc.constantFrom(
          String(v),
          names[v - nameBase] ?? "",
          (names[v - nameBase] ?? "").toLowerCase(),
        )
      : fc.constant(String(v));
  const span = (from: number, to: number, step: number) => {
    const values: number[] = [];
    for (let v = from; v <= to; v += step) values.push(max === 7 && v === 7 ? 0 : v);
    return values;
  };
  const step = fc.integer({ min: 1, max: top - min + 2 });
  const value = fc.integer({ min, max });
  const pair = fc.tuple(value, value).map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]));
  const item: fc.Arbitrary<{ text: string; values: number[] }> = fc.oneof(
    { weight: 1, arbitrary: fc.constant({ text: "*", values: span(min, top, 1) }) },
    { weight: 1, arbitrary: step.map((n) => ({ text: `*/${n}`, values: span(min, top, n) })) },
    {
      weight: 4,
      arbitrary: value.chain((v) => write(v).map((text) => ({ text, values: span(v, v, 1) }))),
    },
    {
      weight: 2,
      arbitrary: pair.chain(([a, b]) =>
        fc
          .tuple(write(a), write(b))
          .map(([ta, tb]) => ({ text: `${ta}-${tb}`, values: span(a, b, 1) })),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(pair, step)
        .map(([[a, b], n]) => ({ text: `${a}-${b}/${n}`, values: span(a, b, n) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min, max: top }), step)
        .map(([a, n]) => ({ text: `${a}/${n}`, values: span(a, top, n) })),
    },
  );
  return fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => ({
    text: items.map((i) => i.text).join(","),
    values: new Set(items.flatMap((i) => i.values)),
  }));
}

const maxDays = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether the sets can ever fire: only a day-of-month missing from every chosen month stops it. */
const canFire = (s: GenSchedule) =>
  s.eitherDay || [...s.month].some((m) => [...s.dom].some((d) => d <= (maxDays[m - 1] ?? 0)));

const anySchedule: fc.Arbitrary<GenSchedule> = fc
  .tuple(
    field(0, 59, 59),
    field(0, 23, 23),
    field(1, 31, 31),
    field(1, 12, 12, MONTHS, 1),
    field(0, 6, 7, WEEKDAYS),
    fc.constantFrom(" ", "  ", "\t"),
  )
  .map(([minute, hour, dom, month, dow, gap]) => ({
    text: [minute, hour, dom, month, dow].map((f) => f.text).join(gap),
    minute: minute.values,
    hour: hour.values,
    dom: dom.values,
    month: month.values,
    dow: dow.values,
    eitherDay: !dom.text.startsWith("*") && !dow.text.startsWith("*"),
  }));
// Random fields mostly fire within days; these fire a few times a year down
// to once in decades ("0 0 29 2 */3" is 29 February on a Sunday, Wednesday
// or Saturday), to exercise the long skips and the never-firing check.
const rareSchedule: fc.Arbitrary<GenSchedule> = fc
  .tuple(
    fc.integer({ min: 0, max: 59 }),
    fc.integer({ min: 0, max: 23 }),
    fc.constantFrom(
      { text: "29", values: [29] },
      { text: "30", values: [30] },
      { text: "31", values: [31] },
      { text: "29-31/2", values: [29, 31] },
    ),
    fc.subarray([1, 2, 4, 6, 9, 11], { minLength: 1, maxLength: 2 }),
    fc.constantFrom(
      { text: "*", values: [0, 1, 2, 3, 4, 5, 6] },
      { text: "*/3", values: [0, 3, 6] },
      { text: "*/6", values: [0, 6] },
    ),
  )
  .map(([minute, hour, dom, months, dow]) => ({
    text: `${minute} ${hour} ${dom.text} ${months.join(",")} ${dow.text}`,
    minute: new Set([minute]),
    hour: new Set([hour]),
    dom: new Set(dom.values),
    month: new Set(months),
    dow: new Set(dow.values),
    eitherDay: false,
  }));
const someSchedule = fc.oneof(
  { weight: 4, arbitrary: anySchedule },
  { weight: 1, arbitrary: rareSchedule },
);
const firingSchedule = someSchedule.filter(canFire);

const anyDate = fc.date({
  min: at("1990-01-01T00:00:00Z"),
  max: at("2150-01-01T00:00:00Z"),
  noInvalidDate: true,
});

function dayMatches(s: GenSchedule, t: number): boolean {
  const d = new Date(t);
  if (!s.month.has(d.getUTCMonth() + 1)) return false;
  const dom = s.dom.has(d.getUTCDate());
  const dow = s.dow.has(d.getUTCDay());
  return s.eitherDay ? dom || dow : dom && dow;
}

function matches(s: GenSchedule, t: number): boolean {
  const d = new Date(t);
  return (
    t % MINUTE === 0 &&
    s.minute.has(d.getUTCMinutes()) &&
    s.hour.has(d.getUTCHours()) &&
    dayMatches(s, t)
  );
}

/** The first matching minute in [from, to), by brute force: minutes at the ends, whole days between. */
function firstMatchBetween(s: GenSchedule, from: number, to: number): number | undefined {
  const scan = (a: number, b: number) => {
    for (let t = a; t < b; t += MINUTE) if (matches(s, t)) return t;
    return undefined;
  };
  if (to - from <= 3 * DAY) return scan(from, to);
  const firstMidnight = Math.floor(from / DAY) * DAY + DAY;
  const lastMidnight = Math.floor(to / DAY) * DAY;
  const head = scan(from, firstMidnight);
  if (head !== undefined) return head;
  // Every hour and minute set is non-empty, so a matching day holds a match.
  for (let day = firstMidnight; day < lastMidnight; day += DAY)
    if (dayMatches(s, day)) return scan(day, day + DAY);
  return scan(lastMidnight, to);
}

test("parseCron() reads generated schedules into the sets they stand for, and rejects those that never fire", () => {
  fc.assert(
    fc.property(someSchedule, (s) => {
      if (!canFire(s)) {
        assert.throws(() => parseCron(s.text), CronParseError);
        return;
      }
      const parsed = parseCron(s.text);
      const sorted = (set: ReadonlySet<number>) => [...set].sort((a, b) => a - b);
      assert.deepEqual(parsed.minutes, sorted(s.minute));
      assert.deepEqual(parsed.hours, sorted(s.hour));
      assert.deepEqual(parsed.daysOfMonth, sorted(s.dom));
      assert.deepEqual(parsed.months, sorted(s.month));
      assert.deepEqual(parsed.daysOfWeek, sorted(s.dow));
      assert.equal(parsed.dayMatch, s.eitherDay ? "either" : "both");
    }),
    { numRuns: 300 },
  );
});

test("nextCronTime() is the first matching whole minute strictly after the date", () => {
  fc.assert(
    fc.property(firingSchedule, anyDate, (s, after) => {
      const schedule = parseCron(s.text);
      const found = nextCronTime(schedule, after).getTime();
      assert.ok(found > after.getTime());
      assert.ok(matches(s, found), new Date(found).toISOString());
      const nextMinute = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
      assert.equal(firstMatchBetween(s, nextMinute, found), undefined);
      // And latestCronTime agrees that nothing lies in between.
      assert.equal(latestCronTime(schedule, new Date(found - 1), after), undefined);
    }),
  );
});

test("latestCronTime(s, nextCronTime(s, d), d) is nextCronTime(s, d)", () => {
  fc.assert(
    fc.property(firingSchedule, anyDate, (s, after) => {
      const schedule = parseCron(s.text);
      const found = nextCronTime(schedule, after);
      assert.equal(latestCronTime(schedule, found, after)?.getTime(), found.getTime());
    }),
  );
});

test("latestCronTime() finds the last match in (notBefore, atOrBefore], or undefined if there is none", () => {
  const width = fc.oneof(
    fc.integer({ min: 0, max: 2 * DAY }),
    fc.integer({ min: 0, max: 20 * 366 * DAY }),
  );
  fc.assert(
    fc.property(firingSchedule, anyDate, width, (s, notBefore, span) => {
      const schedule = parseCron(s.text);
      const atOrBefore = new Date(notBefore.getTime() + span);
      const latest = latestCronTime(schedule, atOrBefore, notBefore)?.getTime();
      const following = nextCronTime(schedule, latest === undefined ? notBefore : new Date(latest));
      // Whatever comes next lies past the window: nothing was skipped.
      assert.ok(following > atOrBefore, following.toISOString());
      if (latest !== undefined) {
        assert.ok(latest > notBefore.getTime() && latest <= atOrBefore.getTime());
        assert.ok(matches(s, latest));
      }
      if (span <= 2 * DAY) {
        let brute: number | undefined;
        for (
          let t = Math.floor(atOrBefore.getTime() / MINUTE) * MINUTE;
          t > notBefore.getTime();
          t -= MINUTE
        ) {
          if (matches(s, t)) {
            brute = t;
            break;
          }
        }
        assert.equal(latest, brute);
      }
    }),
  );
});
