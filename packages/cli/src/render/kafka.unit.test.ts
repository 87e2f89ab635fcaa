import assert from "node:assert/strict";
import { test } from "node:test";
import type { KafkaOperation } from "@ballast/kafka";
import { operationProgress } from "./kafka.ts";

const roll = (fields: Partial<KafkaOperation>): KafkaOperation => ({
  type: "Roll",
  reason: "r",
  startedAt: "2026-01-01T00:00:00Z",
  summary: "Roll",
  ...fields,
});

test("operationProgress() of a Roll counts restarted nodes out of all it touches", () => {
  assert.deepEqual(operationProgress(roll({ done: [1], pending: [0, 2], current: 2 })), {
    done: 1,
    total: 3,
  });
  // The node restarting may already have left `pending`: it still counts once.
  assert.deepEqual(operationProgress(roll({ done: [1, 0], pending: [], current: 2 })), {
    done: 2,
    total: 3,
  });
  assert.deepEqual(operationProgress(roll({})), { done: 0, total: 0 });
});

test("operationProgress() of a scale counts partition moves done", () => {
  const scale = { ...roll({}), type: "ScaleUp" as const, movesTotal: 40, movesRemaining: 12 };
  assert.deepEqual(operationProgress(scale), { done: 28, total: 40 });
  const { movesRemaining: _unknown, ...notYetCounted } = scale;
  assert.deepEqual(operationProgress(notYetCounted), {
    done: 0,
    total: 40,
  });
});
