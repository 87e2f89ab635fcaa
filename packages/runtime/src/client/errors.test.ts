import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ignoreNotFound,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
  KubeApiError,
  KubeConnectionError,
} from "./errors.ts";

test("KubeApiError names a cluster-scoped object by name alone, with the reason in words", () => {
  const error = new KubeApiError(
    { kind: "Status", code: 404, reason: "NotFound", message: 'namespaces "x" not found' },
    404,
    { kind: "Namespace", name: "x" },
  );
  assert.equal(error.message, 'Namespace x: not found: namespaces "x" not found');
  assert.equal(error.name, "KubeApiError");
});

test("KubeApiError without a Status body falls back to the HTTP code and names the request", () => {
  const error = new KubeApiError({ code: 503, message: "upstream down" }, 503, {
    request: "GET /api/v1/pods",
  });
  assert.equal(error.message, "GET /api/v1/pods: HTTP 503: upstream down");
  assert.equal(error.reason, "");
  assert.ok(!isNotFound(error) && !isConflict(error) && !isInvalid(error));
});

test("isGone recognises 410 and the Expired reason; ignoreNotFound rethrows anything else", () => {
  assert.ok(isGone(new KubeApiError({ code: 410, reason: "Expired" }, 410, {})));
  assert.ok(isGone(new KubeApiError({ reason: "Expired" }, 200, {})));
  const conflict = new KubeApiError({ code: 409, reason: "Conflict" }, 409, {});
  assert.throws(
    () => ignoreNotFound(conflict),
    (e: unknown) => e === conflict,
  );
  assert.ok(!isNotFound(new Error("not found")), "only API errors count");
});

test("KubeApiError exposes the field causes of an Invalid answer", () => {
  const error = new KubeApiError(
    {
      code: 422,
      reason: "Invalid",
      details: { causes: [{ field: "spec.replicas", reason: "FieldValueInvalid" }] },
    },
    422,
    { kind: "Widget", namespace: "ns", name: "w" },
  );
  assert.deepEqual(
    error.causes.map((c) => c.field),
    ["spec.replicas"],
  );
  assert.match(error.message, /^Widget ns\/w: invalid: /);
});

test("KubeConnectionError keeps the cause and says no answer came", () => {
  const cause = new Error("connect ECONNREFUSED 127.0.0.1:1");
  const error = new KubeConnectionError("GET /api", cause);
  assert.equal(error.cause, cause);
  assert.match(error.message, /^GET \/api: no answer from the API server: connect ECONNREFUSED/);
});
