import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { drifted, holdsFields } from "./drift.ts";

const json = fc.jsonValue({ maxDepth: 4 });

/** `value` with extra keys added in every object, as the API server's defaulting does. */
function withDefaults(value: unknown, extra: string): unknown {
  if (Array.isArray(value)) return value.map((v) => withDefaults(v, extra));
  if (value !== null && typeof value === "object") {
    // fromEntries, not assignment: a key named "__proto__" (JSON allows it) must stay a key.
    return Object.fromEntries([
      [`${extra}-default`, "server-set"],
      ...Object.entries(value).map(([k, v]) => [k, withDefaults(v, extra)]),
    ]);
  }
  return value;
}

test("holdsFields() holds for any value against itself and against it with server defaults added", () => {
  fc.assert(
    fc.property(json, fc.string({ minLength: 1, maxLength: 4 }), (value, extra) => {
      assert.ok(holdsFields(value, value));
      assert.ok(holdsFields(withDefaults(value, extra), value));
    }),
  );
});

test("holdsFields() notices any leaf we set that reads differently", () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 5 }),
        fc.oneof(fc.integer(), fc.string()),
        {
          minKeys: 1,
        },
      ),
      fc.nat(),
      (want, pick) => {
        const keys = Object.keys(want);
        const key = keys[pick % keys.length] as string;
        const changed = { ...want, [key]: `${String(want[key])}-changed` };
        assert.equal(holdsFields({ spec: changed }, { spec: want }), false);
      },
    ),
  );
});

test("drifted() notices a changed Service selector but not the API server's defaults", () => {
  const want = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s", namespace: "ns", labels: { a: "1" } },
    spec: { selector: { app: "kafka", instance: "x" }, ports: [{ name: "client", port: 9092 }] },
  };
  const live = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s", namespace: "ns", labels: { a: "1" }, uid: "u", resourceVersion: "9" },
    spec: {
      clusterIP: "10.0.0.1",
      selector: { app: "kafka", instance: "x" },
      ports: [{ name: "client", port: 9092, protocol: "TCP", targetPort: 9092 }],
    },
  };
  assert.equal(drifted(live, want), false);
  assert.equal(
    drifted({ ...live, spec: { ...live.spec, selector: { app: "other", instance: "x" } } }, want),
    true,
  );
  assert.equal(drifted({ ...live, metadata: { ...live.metadata, labels: {} } }, want), true);
  // A key added to a selector narrows what it selects: that is drift too.
  assert.equal(
    drifted({ ...live, spec: { ...live.spec, selector: { ...want.spec.selector, x: "y" } } }, want),
    true,
  );
  assert.equal(
    drifted(
      { ...live, spec: { ...live.spec, ports: [...live.spec.ports, live.spec.ports[0]] } },
      want,
    ),
    true,
  );
});
