import assert from "node:assert/strict";
import { test } from "node:test";
import { defineResource } from "@ballast/runtime";
import fc from "fast-check";
import Type from "typebox";
import { type Operation, OperationStatus, operationProgress, withSummary } from "./operation.ts";

const idList = fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: 8 });

const roll = fc
  .record({
    pending: idList,
    done: idList,
    current: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
  })
  .map(({ pending, done, current }): Operation => {
    const rest = pending.filter((id) => !done.includes(id) && id !== current);
    return withSummary({
      type: "Roll",
      reason: "r",
      startedAt: "t",
      summary: "",
      pending: rest,
      done: done.filter((id) => id !== current),
      ...(current === undefined ? {} : { current }),
    });
  });

const scale = fc
  .record({
    type: fc.constantFrom("ScaleUp" as const, "ScaleDown" as const),
    total: fc.nat({ max: 500 }),
    remaining: fc.nat({ max: 500 }),
  })
  .map(({ type, total, remaining }): Operation => {
    const common = { reason: "r", startedAt: "t", summary: "", movesTotal: total };
    const movesRemaining = Math.min(total, remaining);
    return withSummary(
      type === "ScaleUp"
        ? { type, ...common, adding: [3], movesRemaining }
        : { type, ...common, removing: [3], movesRemaining },
    );
  });

test("operationProgress() is between 0 and 1 and the summary says the same count", () => {
  fc.assert(
    fc.property(fc.oneof(roll, scale), (op) => {
      const p = operationProgress(op);
      assert.ok(p.ratio >= 0 && p.ratio <= 1, JSON.stringify(p));
      assert.ok(p.done <= p.total);
      assert.equal(op.summary, p.total === 0 ? op.type : `${op.type} ${p.done}/${p.total}`);
    }),
  );
});

test("operationProgress() counts the member restarting now as not yet done", () => {
  const op: Operation = {
    type: "Roll",
    reason: "r",
    startedAt: "t",
    summary: "",
    pending: [2],
    done: [0],
    current: 1,
  };
  assert.deepEqual(operationProgress(op), { done: 1, total: 3, ratio: 1 / 3 });
  assert.equal(withSummary(op).summary, "Roll 1/3");
});

test("operationProgress() of a scale counts data moves done, and none before Kafka counted them", () => {
  const op: Operation = {
    type: "ScaleUp",
    reason: "r",
    startedAt: "t",
    summary: "",
    adding: [3],
    movesTotal: 40,
    movesRemaining: 12,
  };
  assert.deepEqual(operationProgress(op), { done: 28, total: 40, ratio: 0.7 });
  const { movesRemaining: _unknown, ...notYetCounted } = op;
  assert.deepEqual(operationProgress(notYetCounted), { done: 0, total: 40, ratio: 0 });
});

test("operationProgress() of no operation, or of a scale before any move, is zero", () => {
  assert.deepEqual(operationProgress(undefined), { done: 0, total: 0, ratio: 0 });
  const op: Operation = { type: "ScaleUp", reason: "r", startedAt: "t", summary: "", adding: [3] };
  assert.equal(operationProgress(op).ratio, 0);
  assert.equal(withSummary(op).summary, "ScaleUp");
});

test("OperationStatus() goes into a CRD as one object whose type is an enum", () => {
  const Thing = defineResource({
    group: "example.dev",
    version: "v1",
    kind: "Thing",
    plural: "things",
    scope: "Namespaced",
    description: "A thing with an operation.",
    spec: Type.Object({}),
    status: Type.Object({ operation: Type.Optional(OperationStatus()) }),
  });
  const schema = Thing.crd().spec.versions[0]?.schema?.openAPIV3Schema;
  const operation = schema?.properties?.status?.properties?.operation;
  assert.deepEqual(operation?.properties?.type?.enum, ["Roll", "ScaleUp", "ScaleDown"]);
  assert.deepEqual(operation?.required, ["type"]);
  for (const field of ["pending", "done", "current", "adding", "removing", "movesTotal"])
    assert.ok(operation?.properties?.[field], field);
  assert.equal(operation?.["x-kubernetes-validations"]?.length, 3);
});
