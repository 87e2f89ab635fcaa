import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  Action,
  defaultErrorPolicy,
  InvalidObjectKeyError,
  isTerminalError,
  objectKey,
  parseObjectKey,
  TerminalError,
} from "./index.ts";

const segmentArb = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/);

describe("objectKey", () => {
  test("objectKey() writes namespace/name, or the bare name for cluster-scoped objects", () => {
    assert.equal(objectKey({ namespace: "kafka", name: "broker-0" }), "kafka/broker-0");
    assert.equal(objectKey({ name: "node-1" }), "node-1");
  });

  test("parseObjectKey() reads both forms, leaving namespace absent when there is none", () => {
    assert.deepEqual(parseObjectKey("kafka/broker-0"), { namespace: "kafka", name: "broker-0" });
    const clusterScoped = parseObjectKey("node-1");
    assert.deepEqual(clusterScoped, { name: "node-1" });
    assert.equal("namespace" in clusterScoped, false);
  });

  test("parseObjectKey() rejects malformed keys with an error naming the key", () => {
    for (const key of ["", "/name", "ns/", "a/b/c", "/"]) {
      assert.throws(
        () => parseObjectKey(key),
        (error: unknown) =>
          error instanceof InvalidObjectKeyError &&
          error.name === "InvalidObjectKeyError" &&
          error.key === key &&
          error.message.includes(JSON.stringify(key)),
      );
    }
  });

  test("parseObjectKey() inverts objectKey() for any valid name", () => {
    fc.assert(
      fc.property(fc.option(segmentArb, { nil: undefined }), segmentArb, (namespace, name) => {
        const ref = namespace === undefined ? { name } : { namespace, name };
        assert.deepEqual(parseObjectKey(objectKey(ref)), ref);
      }),
    );
  });
});

describe("Action", () => {
  test("Action.done() and Action.requeueAfter() build frozen, distinguishable results", () => {
    const done = Action.done();
    const later = Action.requeueAfter(30_000);
    assert.deepEqual(done, { kind: "done" });
    assert.deepEqual(later, { kind: "requeueAfter", afterMs: 30_000 });
    assert.ok(Object.isFrozen(done) && Object.isFrozen(later) && Object.isFrozen(Action));
  });

  test("Action.requeueAfter() rejects negative, infinite and NaN delays", () => {
    for (const ms of [-1, Number.POSITIVE_INFINITY, Number.NaN]) {
      assert.throws(() => Action.requeueAfter(ms), RangeError);
    }
    assert.deepEqual(Action.requeueAfter(0), { kind: "requeueAfter", afterMs: 0 });
  });
});

describe("TerminalError", () => {
  test("TerminalError keeps its cause and names itself", () => {
    const cause = new Error("spec.replicas is -1");
    const error = new TerminalError("invalid spec", { cause });
    assert.equal(error.name, "TerminalError");
    assert.equal(error.cause, cause);
    assert.ok(error instanceof Error);
  });

  test("isTerminalError() finds a TerminalError anywhere in the cause chain", () => {
    const wrapped = new Error("reconcile failed", {
      cause: new Error("step 2", { cause: new TerminalError("bad") }),
    });
    assert.equal(isTerminalError(wrapped), true);
    assert.equal(isTerminalError(new Error("transient")), false);
    assert.equal(isTerminalError("not an error"), false);
  });

  test("isTerminalError() stops on a cyclic cause chain", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    Object.defineProperty(a, "cause", { value: b });
    assert.equal(isTerminalError(a), false);
  });
});

describe("defaultErrorPolicy", () => {
  const ref = { namespace: "ns", name: "x" };

  test("defaultErrorPolicy() stops retrying a terminal error", () => {
    assert.deepEqual(defaultErrorPolicy(new TerminalError("bad spec"), ref, 3), Action.done());
  });

  test("defaultErrorPolicy() backs off on any other error", () => {
    assert.equal(defaultErrorPolicy(new Error("connection refused"), ref, 0), "backoff");
  });
});
