import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCron } from "@ballast/runtime";
import fc from "fast-check";
import { planSchedule, recordsToDelete, runName, type ScheduleInput } from "./schedule-plan.ts";

const hourly = parseCron("0 * * * *");
const at = (iso: string) => new Date(iso);
const input = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  name: "nightly",
  schedule: hourly,
  createdAt: at("2026-12-04T10:20:00Z"),
  immediate: false,
  suspend: false,
  running: false,
  now: at("2026-12-04T10:30:00Z"),
  ...over,
});

test("runName() is the schedule's name and the run's minute in UTC", () => {
  assert.equal(runName("nightly", at("2026-12-04T03:05:00Z")), "nightly-202612040305");
  assert.equal(runName("a", at("2026-01-09T23:59:00Z")), "a-202601092359");
});

test("planSchedule(): nothing before the first scheduled time after creation, then that run", () => {
  assert.deepEqual(planSchedule(input()), { kind: "wait", next: at("2026-12-04T11:00:00Z") });
  assert.deepEqual(planSchedule(input({ now: at("2026-12-04T11:00:20Z") })), {
    kind: "create",
    scheduledAt: at("2026-12-04T11:00:00Z"),
    backupName: "nightly-202612041100",
    next: at("2026-12-04T12:00:00Z"),
  });
  // A time at the creation instant itself does not fire.
  assert.equal(
    planSchedule(input({ createdAt: at("2026-12-04T11:00:00Z"), now: at("2026-12-04T11:00:30Z") }))
      .kind,
    "wait",
  );
});

test("planSchedule(): immediate makes one run at creation, then follows the schedule", () => {
  const first = planSchedule(input({ immediate: true }));
  assert.deepEqual(first, {
    kind: "create",
    scheduledAt: at("2026-12-04T10:30:00Z"),
    backupName: "nightly-202612041030",
    next: at("2026-12-04T11:00:00Z"),
  });
  const after = planSchedule(
    input({
      immediate: true,
      lastScheduleTime: at("2026-12-04T10:30:00Z"),
      now: at("2026-12-04T10:45:00Z"),
    }),
  );
  assert.equal(after.kind, "wait", "immediate fires once, not at every reconcile");
});

test("planSchedule(): missed runs make ONE Backup, for the latest of them", () => {
  const plan = planSchedule(
    input({ lastScheduleTime: at("2026-12-04T11:00:00Z"), now: at("2026-12-06T09:10:00Z") }),
  );
  assert.deepEqual(plan, {
    kind: "create",
    scheduledAt: at("2026-12-06T09:00:00Z"),
    backupName: "nightly-202612060900",
    next: at("2026-12-06T10:00:00Z"),
  });
});

test("planSchedule(): a due run waits while the previous Backup is Pending or Running; suspended makes nothing", () => {
  const due = input({
    lastScheduleTime: at("2026-12-04T10:00:00Z"),
    now: at("2026-12-04T11:00:05Z"),
  });
  assert.deepEqual(planSchedule({ ...due, running: true }), {
    kind: "busy",
    due: at("2026-12-04T11:00:00Z"),
    next: at("2026-12-04T12:00:00Z"),
  });
  assert.deepEqual(planSchedule({ ...due, suspend: true }), { kind: "suspended" });
});

test("planSchedule() property: a created run is a scheduled minute in (last, now], the latest such, and the next is after now", () => {
  const base = Date.parse("2026-01-01T00:00:00Z");
  const schedules = ["*/7 * * * *", "15 */3 * * *", "0 0 * * MON", "30 2 1 * *", "* * * * *"].map(
    (t) => parseCron(t),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...schedules),
      fc.integer({ min: 0, max: 60 * 24 * 60 }),
      fc.integer({ min: 0, max: 60 * 24 * 40 }),
      (schedule, lastMin, gapMin) => {
        const last = new Date(base + lastMin * 60_000);
        const now = new Date(last.getTime() + gapMin * 60_000 + 17_000);
        const plan = planSchedule(
          input({ schedule, lastScheduleTime: last, createdAt: last, now }),
        );
        if (plan.kind === "suspended") assert.fail("not suspended");
        assert.ok(plan.next > now);
        if (plan.kind !== "create") {
          // Nothing due: the first run after `last` is after now.
          assert.ok(
            planSchedule(input({ schedule, lastScheduleTime: last, now: plan.next })).kind ===
              "create",
          );
          return;
        }
        assert.ok(plan.scheduledAt > last && plan.scheduledAt <= now);
        assert.equal(plan.scheduledAt.getUTCSeconds(), 0);
        // No scheduled minute after it up to now: it is the latest.
        assert.ok(
          planSchedule(input({ schedule, lastScheduleTime: plan.scheduledAt, now })).kind ===
            "wait",
        );
        assert.equal(plan.backupName, runName("nightly", plan.scheduledAt));
      },
    ),
    { numRuns: 300 },
  );
});

test("recordsToDelete() names the Failed and Expired beyond their limits, oldest first, never a Completed or running one", () => {
  const r = (name: string, phase: string | undefined, minute: number) => ({
    name,
    phase,
    createdAt: new Date(Date.parse("2026-12-04T00:00:00Z") + minute * 60_000).toISOString(),
  });
  const records = [
    r("f1", "Failed", 1),
    r("c1", "Completed", 2),
    r("f2", "Failed", 3),
    r("e1", "Expired", 4),
    r("f3", "Failed", 5),
    r("e2", "Expired", 6),
    r("p", "Pending", 7),
    r("run", "Running", 8),
    r("new", undefined, 9),
  ];
  assert.deepEqual(recordsToDelete(records, { failed: 1, expired: 1 }), ["f1", "f2", "e1"]);
  assert.deepEqual(recordsToDelete(records, { failed: 3, expired: 2 }), []);
  assert.deepEqual(recordsToDelete(records, { failed: 0, expired: 0 }), [
    "f1",
    "f2",
    "f3",
    "e1",
    "e2",
  ]);
});
