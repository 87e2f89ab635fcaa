import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeClient } from "../client/client.ts";
import { ManagerError, type Runnable } from "../manager/manager.ts";
import { noopLogger } from "../reconcile/reconciler.ts";
import { assembleOperators } from "./assemble.ts";
import { defineOperator, type OperatorContext, type OperatorParts } from "./descriptor.ts";

// No request is made: the Manager only keeps its client until it starts.
const client = (fieldManager: string) => ({ fieldManager }) as unknown as KubeClient;

const runnable = (name: string): Runnable => ({
  name,
  run: async () => {},
  hasSynced: () => true,
});

function fakeOperator(
  name: string,
  controllers: string[],
  log: string[],
  seen?: { client?: KubeClient; context?: OperatorContext; options?: object },
) {
  return defineOperator({
    name,
    crds: [],
    rules: { namespaced: [] },
    entry: `/src/${name}/main.ts`,
    build(c, context, options): OperatorParts {
      if (seen) Object.assign(seen, { client: c, context, options });
      log.push(`build ${name}`);
      return {
        controllers: controllers.map(runnable),
        cleanup: async () => {
          log.push(`cleanup ${name}`);
        },
      };
    },
  });
}

test("assembleOperators() adds every operator's controllers to one Manager", () => {
  const log: string[] = [];
  const { manager } = assembleOperators(
    [
      { descriptor: fakeOperator("a", ["a-1", "a-2"], log), client: client("ballast-a-operator") },
      { descriptor: fakeOperator("b", ["b-1"], log), client: client("ballast-b-operator") },
    ],
    { metricsPort: false, healthPort: false, logger: noopLogger },
  );
  assert.deepEqual(log, ["build a", "build b"]);
  // The Manager's own client (leases, events) is the first operator's.
  assert.equal(manager.client.fieldManager, "ballast-a-operator");
});

test("assembleOperators() builds each operator with its own client, the namespaces and its options", () => {
  const seen: { client?: KubeClient; context?: OperatorContext; options?: object } = {};
  const mine = client("ballast-b-operator");
  const { manager } = assembleOperators(
    [
      { descriptor: fakeOperator("a", [], []), client: client("ballast-a-operator") },
      { descriptor: fakeOperator("b", [], [], seen), client: mine, options: { fast: true } },
    ],
    { namespaces: ["x", "y"], metricsPort: false, healthPort: false, logger: noopLogger },
  );
  assert.equal(seen.client, mine);
  assert.deepEqual(seen.context?.namespaces, ["x", "y"]);
  assert.equal(seen.context?.metrics, manager.metrics);
  assert.deepEqual(seen.options, { fast: true });
});

test("assembleOperators() refuses two controllers of one name, and cleans up what was built", async () => {
  const log: string[] = [];
  assert.throws(
    () =>
      assembleOperators(
        [
          { descriptor: fakeOperator("a", ["pods"], log), client: client("a") },
          { descriptor: fakeOperator("b", ["pods"], log), client: client("b") },
        ],
        { metricsPort: false, healthPort: false, logger: noopLogger },
      ),
    ManagerError,
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ["build a", "build b", "cleanup b", "cleanup a"]);
});

test("cleanup() runs every operator's cleanup, last built first, even after one fails", async () => {
  const log: string[] = [];
  const failing = defineOperator({
    ...fakeOperator("b", [], log),
    build: () => ({
      controllers: [],
      cleanup: async () => {
        log.push("cleanup b");
        throw new Error("b would not close");
      },
    }),
  });
  const { cleanup } = assembleOperators(
    [
      { descriptor: fakeOperator("a", [], log), client: client("a") },
      { descriptor: failing, client: client("b") },
    ],
    { metricsPort: false, healthPort: false, logger: noopLogger },
  );
  await assert.rejects(cleanup(), /b would not close/);
  assert.deepEqual(log, ["build a", "cleanup b", "cleanup a"]);
});
