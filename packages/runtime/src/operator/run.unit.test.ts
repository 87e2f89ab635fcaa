import assert from "node:assert/strict";
import { afterEach, mock, test } from "node:test";
import { defineOperator } from "./descriptor.ts";
import { runOperator } from "./run.ts";

let built = 0;
const gadget = defineOperator({
  name: "gadget",
  crds: [],
  rules: { namespaced: [] },
  entry: "/src/gadget/main.ts",
  build: () => {
    built += 1;
    return { controllers: [] };
  },
});

afterEach(() => {
  process.exitCode = undefined;
  mock.restoreAll();
});

test("runOperator() answers a usage mistake with the usage and exit code 2, before connecting", async () => {
  const errors = mock.method(console, "error", () => {});
  // A kubeconfig that does not exist: reaching the connection step would throw.
  await runOperator(gadget, { args: ["--namespaces", "a", "--kubeconfig", "/nope"], env: {} });
  assert.equal(process.exitCode, 2);
  const printed = String(errors.mock.calls[0]?.arguments[0]);
  assert.match(printed, /^gadget-operator: Unknown option '--namespaces'/);
  assert.match(printed, /Usage: gadget-operator \[--install-crds\] \[--namespace NS/);
  assert.equal(built, 0);
});

test("runOperator() names a bad environment value the same way", async () => {
  const errors = mock.method(console, "error", () => {});
  await runOperator(gadget, { args: [], env: { METRICS_PORT: "http" } });
  assert.equal(process.exitCode, 2);
  assert.match(String(errors.mock.calls[0]?.arguments[0]), /\$METRICS_PORT must be a TCP port/);
});

test("runOperator() --help prints the usage and exits 0 without connecting", async () => {
  const logs = mock.method(console, "log", () => {});
  await runOperator([gadget], { args: ["--help"], env: {} });
  assert.equal(process.exitCode, undefined);
  assert.match(String(logs.mock.calls[0]?.arguments[0]), /^Usage: gadget-operator /);
});

test("runOperator() refuses no operator, or one operator twice", async () => {
  await assert.rejects(runOperator([], { args: [] }), /at least one operator/);
  await assert.rejects(
    runOperator([gadget, gadget], { args: [] }),
    /operator gadget is given twice/,
  );
});
