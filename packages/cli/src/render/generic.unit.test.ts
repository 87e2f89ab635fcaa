import assert from "node:assert/strict";
import { test } from "node:test";
import { genericStatusView } from "./generic.ts";

const options = { style: { color: false }, now: new Date("2026-01-01T00:00:00Z") };

test("genericStatusView() shows readiness, generation and conditions of any kind", () => {
  const text = genericStatusView(
    {
      apiVersion: "ballast.dev/v1alpha1",
      kind: "RedisCluster",
      metadata: { name: "cache", namespace: "data", generation: 3 },
      status: {
        observedGeneration: 2,
        conditions: [
          {
            type: "Ready",
            status: "False",
            reason: "Starting",
            message: "2 of 3 ready",
            lastTransitionTime: "2026-01-01T00:00:00Z",
          },
        ],
      },
    } as never,
    options,
  );
  const lines = text.split("\n");
  assert.equal(lines[0], "RedisCluster data/cache: not Ready");
  assert.match(text, /Generation\s+3 \(observed 2\)/);
  assert.match(text, /Ready\s+False\s+Starting\s+2 of 3 ready/);
});

test("genericStatusView() of an object without status says so", () => {
  const text = genericStatusView(
    { apiVersion: "x/v1", kind: "Thing", metadata: { name: "t" } } as never,
    options,
  );
  assert.match(text, /^Thing default\/t: no status yet$/m);
  assert.match(text, /Conditions: none reported yet/);
});
