import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  type Condition,
  ConditionType,
  type ConditionUpdate,
  conditionsEqual,
  findCondition,
  InvalidConditionError,
  isConditionTrue,
  removeCondition,
  setCondition,
  statusEqual,
} from "./index.ts";

const T0 = new Date("2026-11-23T10:00:00.000Z");
const T1 = new Date("2026-11-23T10:05:30.789Z");

const ready = (
  status: "True" | "False" | "Unknown",
  reason = "AllBrokersReady",
): ConditionUpdate => ({
  type: ConditionType.Ready,
  status,
  reason,
  message: "3/3 brokers ready",
  observedGeneration: 4,
});

const updateArb: fc.Arbitrary<ConditionUpdate> = fc.record(
  {
    type: fc.constantFrom("Ready", "Progressing", "Degraded", "kafka.ballast.dev/Rolling"),
    status: fc.constantFrom("True", "False", "Unknown"),
    reason: fc.stringMatching(/^[A-Za-z]([A-Za-z0-9_,:]{0,20}[A-Za-z0-9_])?$/),
    message: fc.string({ maxLength: 40 }),
    observedGeneration: fc.nat({ max: 1_000 }),
  },
  { requiredKeys: ["type", "status", "reason"] },
);
const dateArb = fc.date({
  min: new Date("2000-01-01T00:00:00Z"),
  max: new Date("2100-01-01T00:00:00Z"),
  noInvalidDate: true,
});

describe("setCondition", () => {
  test("setCondition() appends a new condition stamped with now in whole seconds", () => {
    const conditions = setCondition(undefined, ready("True"), T1);
    assert.deepEqual(conditions, [
      {
        type: "Ready",
        status: "True",
        observedGeneration: 4,
        lastTransitionTime: "2026-11-23T10:05:30Z",
        reason: "AllBrokersReady",
        message: "3/3 brokers ready",
      },
    ]);
  });

  test("setCondition() keeps lastTransitionTime when the status stays the same", () => {
    const before = setCondition([], ready("True"), T0);
    const after = setCondition(before, { ...ready("True", "StillReady"), message: "ok" }, T1);
    assert.equal(findCondition(after, "Ready")?.lastTransitionTime, "2026-11-23T10:00:00Z");
    assert.equal(findCondition(after, "Ready")?.reason, "StillReady");
    assert.equal(findCondition(after, "Ready")?.message, "ok");
  });

  test("setCondition() moves lastTransitionTime when the status changes", () => {
    const before = setCondition([], ready("True"), T0);
    const after = setCondition(before, ready("False", "BrokerDown"), T1);
    assert.equal(findCondition(after, "Ready")?.lastTransitionTime, "2026-11-23T10:05:30Z");
  });

  test("setCondition() returns a new array and never modifies its input", () => {
    const before = Object.freeze(setCondition([], ready("True"), T0));
    const snapshot = structuredClone(before);
    const after = setCondition(before, ready("False", "BrokerDown"), T1);
    assert.notEqual(after, before);
    assert.deepEqual(before, snapshot);
  });

  test("setCondition() replaces a condition in place and leaves the others as they were", () => {
    let conditions = setCondition(
      [],
      { type: "Progressing", status: "True", reason: "Rolling" },
      T0,
    );
    conditions = setCondition(conditions, ready("False", "Rolling"), T0);
    const progressing = conditions[0];
    const updated = setCondition(conditions, ready("True"), T1);
    assert.deepEqual(
      updated.map((c) => c.type),
      ["Progressing", "Ready"],
    );
    assert.equal(updated[0], progressing, "untouched conditions keep their identity");
  });

  test("setCondition() defaults message to empty and omits a missing observedGeneration", () => {
    const [condition] = setCondition(
      [],
      { type: "Degraded", status: "False", reason: "AsExpected" },
      T0,
    );
    assert.equal(condition?.message, "");
    assert.equal(condition && "observedGeneration" in condition, false);
  });

  test("setCondition() drops observedGeneration when the update has none", () => {
    const before = setCondition([], ready("True"), T0);
    const { observedGeneration: _, ...withoutGeneration } = ready("True");
    const [after] = setCondition(before, withoutGeneration, T1);
    assert.equal(after && "observedGeneration" in after, false);
  });

  test("setCondition() rejects a reason that is not CamelCase, naming the value", () => {
    for (const reason of ["", "all brokers ready", "1Ready", "Ready.", "Ready-Now", "Ready,"]) {
      assert.throws(
        () => setCondition([], { type: "Ready", status: "True", reason }, T0),
        (error: unknown) =>
          error instanceof InvalidConditionError &&
          error.name === "InvalidConditionError" &&
          error.field === "reason" &&
          error.message.includes(JSON.stringify(reason)) &&
          error.message.includes("CamelCase"),
        reason,
      );
    }
    for (const reason of ["A", "AllReady", "Scaled_Up", "Phase:Two,Three", "Ready2"]) {
      assert.doesNotThrow(() => setCondition([], { type: "Ready", status: "True", reason }, T0));
    }
  });

  test("setCondition() rejects a reason longer than 1024 characters", () => {
    const reason = `R${"a".repeat(1024)}`;
    assert.throws(
      () => setCondition([], { type: "Ready", status: "True", reason }, T0),
      /condition reason .*1024/,
    );
  });

  test("setCondition() accepts a 32768-character message and rejects a longer one", () => {
    const base = { type: "Degraded", status: "True", reason: "InvalidSpec" } as const;
    assert.doesNotThrow(() => setCondition([], { ...base, message: "x".repeat(32768) }, T0));
    // 32768 characters outside the BMP are 65536 UTF-16 units, still valid.
    assert.doesNotThrow(() => setCondition([], { ...base, message: "😀".repeat(32768) }, T0));
    assert.throws(
      () => setCondition([], { ...base, message: "x".repeat(32769) }, T0),
      (error: unknown) =>
        error instanceof InvalidConditionError &&
        error.field === "message" &&
        error.message.includes("32769 chars") &&
        error.message.includes("at most 32768"),
    );
  });

  test("setCondition() rejects a bad type, status, observedGeneration or date", () => {
    const ok: ConditionUpdate = { type: "Ready", status: "True", reason: "Ok" };
    const cases: Array<[string, ConditionUpdate, Date]> = [
      ["type", { ...ok, type: "not ready" }, T0],
      ["type", { ...ok, type: "" }, T0],
      ["status", { ...ok, status: "true" as "True" }, T0],
      ["observedGeneration", { ...ok, observedGeneration: -1 }, T0],
      ["observedGeneration", { ...ok, observedGeneration: 1.5 }, T0],
      ["lastTransitionTime", ok, new Date(Number.NaN)],
    ];
    for (const [field, update, now] of cases) {
      assert.throws(
        () => setCondition([], update, now),
        (error: unknown) => error instanceof InvalidConditionError && error.field === field,
        field,
      );
    }
  });

  test("setCondition() is idempotent: setting the same condition again changes nothing", () => {
    fc.assert(
      fc.property(
        fc.array(updateArb, { maxLength: 6 }),
        updateArb,
        dateArb,
        dateArb,
        (history, update, t1, t2) => {
          let conditions: Condition[] = [];
          for (const earlier of history) conditions = setCondition(conditions, earlier, t1);
          const once = setCondition(conditions, update, t1);
          const twice = setCondition(once, update, t2);
          assert.deepEqual(twice, once);
          assert.ok(conditionsEqual(twice, once));
          assert.ok(
            twice.every((c, i) => c === once[i]),
            "no condition object was rebuilt",
          );
        },
      ),
    );
  });

  test("setCondition() keeps the transition time unless the status flips", () => {
    fc.assert(
      fc.property(updateArb, updateArb, dateArb, dateArb, (first, second, t1, t2) => {
        const next = { ...second, type: first.type };
        const before = findCondition(setCondition([], first, t1), first.type);
        const after = findCondition(setCondition(before ? [before] : [], next, t2), first.type);
        const expected =
          first.status === next.status
            ? before?.lastTransitionTime
            : t2.toISOString().replace(/\.\d+Z$/, "Z");
        assert.equal(after?.lastTransitionTime, expected);
      }),
    );
  });

  test("setCondition() holds at most one condition per type", () => {
    fc.assert(
      fc.property(fc.array(updateArb, { maxLength: 20 }), dateArb, (updates, now) => {
        let conditions: Condition[] = [];
        for (const update of updates) conditions = setCondition(conditions, update, now);
        const types = conditions.map((c) => c.type);
        assert.equal(new Set(types).size, types.length);
        assert.equal(types.length, new Set(updates.map((u) => u.type)).size);
      }),
    );
  });
});

describe("findCondition / isConditionTrue / removeCondition", () => {
  const conditions = setCondition(
    setCondition([], ready("True"), T0),
    {
      type: "Degraded",
      status: "False",
      reason: "AsExpected",
    },
    T0,
  );

  test("findCondition() returns the condition of a type, or undefined", () => {
    assert.equal(findCondition(conditions, "Degraded")?.reason, "AsExpected");
    assert.equal(findCondition(conditions, "Progressing"), undefined);
    assert.equal(findCondition(undefined, "Ready"), undefined);
  });

  test("isConditionTrue() is true only for a present condition with status True", () => {
    assert.equal(isConditionTrue(conditions, "Ready"), true);
    assert.equal(isConditionTrue(conditions, "Degraded"), false);
    assert.equal(isConditionTrue(conditions, "Progressing"), false);
  });

  test("removeCondition() returns a new list without that type", () => {
    const rest = removeCondition(conditions, "Ready");
    assert.deepEqual(
      rest.map((c) => c.type),
      ["Degraded"],
    );
    assert.equal(conditions.length, 2);
  });
});

describe("statusEqual / conditionsEqual", () => {
  test("statusEqual() ignores object key order at any depth", () => {
    assert.ok(
      statusEqual(
        { replicas: 3, brokers: [{ id: 0, rack: "a" }], summary: { ready: 3, total: 3 } },
        { summary: { total: 3, ready: 3 }, brokers: [{ rack: "a", id: 0 }], replicas: 3 },
      ),
    );
  });

  test("statusEqual() treats undefined properties as absent, as the API server does", () => {
    assert.ok(statusEqual({ phase: "Running", reason: undefined }, { phase: "Running" }));
    assert.ok(!statusEqual({ phase: "Running", reason: null }, { phase: "Running" }));
  });

  test("statusEqual() sees differences in values, array order, length and type", () => {
    assert.ok(!statusEqual({ a: 1 }, { a: 2 }));
    assert.ok(!statusEqual([1, 2], [2, 1]));
    assert.ok(!statusEqual([1], [1, 1]));
    assert.ok(!statusEqual({ a: [] }, { a: {} }));
    assert.ok(!statusEqual({ a: "1" }, { a: 1 }));
    assert.ok(!statusEqual({ a: 1 }, { a: 1, b: 0 }));
    assert.ok(statusEqual(Number.NaN, Number.NaN));
  });

  test("statusEqual() agrees with comparing key-sorted JSON for any JSON value", () => {
    const sortKeys = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(sortKeys)
        : value && typeof value === "object"
          ? Object.fromEntries(
              Object.entries(value)
                .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
                .map(([k, v]) => [k, sortKeys(v)]),
            )
          : value;
    const canonical = (value: unknown) => JSON.stringify(sortKeys(value));
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        assert.equal(statusEqual(a, b), canonical(a) === canonical(b));
        assert.ok(statusEqual(a, JSON.parse(JSON.stringify(a))));
      }),
    );
  });

  test("conditionsEqual() ignores the order of conditions but not their contents", () => {
    const a = setCondition(
      setCondition([], ready("True"), T0),
      { type: "Degraded", status: "False", reason: "Ok" },
      T0,
    );
    const reversed = [...a].reverse();
    assert.ok(conditionsEqual(a, reversed));
    assert.ok(conditionsEqual(undefined, []));
    assert.ok(!conditionsEqual(a, setCondition(a, ready("True", "Other"), T1)));
    assert.ok(!conditionsEqual(a, a.slice(1)));
  });
});
