import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiError, KubeConnectionError } from "@ballast/runtime";
import {
  asRejection,
  isRefusal,
  ObjectRejectedError,
  rejectedCondition,
  withRejection,
} from "./rejected.ts";

const service = { apiVersion: "v1", kind: "Service", metadata: { name: "a-very-long-name-nodes" } };

function apiError(code: number, reason: string, message: string): KubeApiError {
  return new KubeApiError({ code, reason, message }, code, { kind: "Service", name: "x" });
}

const invalid = apiError(
  422,
  "Invalid",
  'Service "a-very-long-name-nodes" is invalid: metadata.name: Invalid value: must be no more than 63 characters',
);

test("isRefusal() is true for invalid, forbidden, bad request and too large; false for what a retry can fix", () => {
  for (const code of [400, 403, 413, 422])
    assert.ok(isRefusal(apiError(code, "X", "m")), `${code}`);
  for (const code of [404, 409, 429, 500, 503])
    assert.ok(!isRefusal(apiError(code, "X", "m")), `${code}`);
  assert.ok(!isRefusal(new Error("socket hang up")));
});

test("asRejection() names the object and keeps the server's message; other errors pass through", () => {
  const err = asRejection(invalid, "apply", service);
  assert.ok(err instanceof ObjectRejectedError);
  assert.equal(err.kind, "Service");
  assert.equal(err.objectName, "a-very-long-name-nodes");
  assert.equal(err.code, 422);
  assert.equal(err.cause, invalid);
  assert.match(
    err.message,
    /^the API server refused to apply Service a-very-long-name-nodes: .*no more than 63/,
  );
  const conflict = apiError(409, "Conflict", "the object has been modified");
  assert.equal(asRejection(conflict, "apply", service), conflict);
  const lost = new KubeConnectionError("PATCH /api/v1/services", new Error("ECONNREFUSED"));
  assert.equal(asRejection(lost, "create", service), lost);
});

test("rejectedCondition() is Degraded ObjectRejected with the message and what to look at", () => {
  const c = rejectedCondition(new ObjectRejectedError("apply", service, invalid));
  assert.equal(c.type, "Degraded");
  assert.equal(c.status, "True");
  assert.equal(c.reason, "ObjectRejected");
  assert.match(c.message ?? "", /Service a-very-long-name-nodes: .*\(Invalid\); fix the spec/);
  const quota = apiError(403, "Forbidden", "exceeded quota: pods, limited: pods=2");
  const q = rejectedCondition(new ObjectRejectedError("create", service, quota));
  assert.match(q.message ?? "", /exceeded quota.*RBAC and the namespace's ResourceQuota/);
  const huge = apiError(422, "Invalid", "x".repeat(10_000));
  assert.ok(
    (rejectedCondition(new ObjectRejectedError("apply", service, huge)).message ?? "").length <=
      2000,
  );
});

test("withRejection() sets Degraded, keeps the other conditions, and is undefined when already said", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const err = new ObjectRejectedError("apply", service, invalid);
  const ready = {
    type: "Ready",
    status: "False",
    reason: "NodesNotReady",
    message: "nodes 0 are not ready",
    lastTransitionTime: now.toISOString(),
  } as const;
  const set = withRejection([ready], 3, err, now);
  assert.ok(set);
  assert.deepEqual(
    set.find((c) => c.type === "Ready"),
    ready,
  );
  const degraded = set.find((c) => c.type === "Degraded");
  assert.equal(degraded?.reason, "ObjectRejected");
  assert.equal(degraded?.observedGeneration, 3);
  assert.equal(withRejection(set, 3, err, new Date("2026-01-01T00:01:00Z")), undefined);
  assert.ok(withRejection(set, 4, err, now), "a new generation is said again");
});
