import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatSynchronousStandbyNames, quoteStandbyName } from "./synchronous-standby-names.ts";

test("formatSynchronousStandbyNames() quotes every name, so pod names with hyphens are valid", () => {
  assert.equal(
    formatSynchronousStandbyNames({ method: "FIRST", count: 1, names: ["pg-1", "pg-2"] }),
    'FIRST 1 ("pg-1", "pg-2")',
  );
  assert.equal(
    formatSynchronousStandbyNames({ method: "ANY", count: 2, names: ["a", 'we"ird', "c"] }),
    'ANY 2 ("a", "we""ird", "c")',
  );
});

test("formatSynchronousStandbyNames() is empty (asynchronous) for no standbys or a count of 0", () => {
  assert.equal(formatSynchronousStandbyNames({ method: "FIRST", count: 0, names: ["pg-1"] }), "");
  assert.equal(formatSynchronousStandbyNames({ method: "ANY", count: 0, names: [] }), "");
});

test("formatSynchronousStandbyNames() refuses a count no set of named standbys can satisfy", () => {
  assert.throws(
    () => formatSynchronousStandbyNames({ method: "FIRST", count: 2, names: ["pg-1"] }),
    /exceeds the 1 standbys named/,
  );
  assert.throws(() =>
    formatSynchronousStandbyNames({ method: "ANY", count: 1.5, names: ["a", "b"] }),
  );
  assert.throws(() => formatSynchronousStandbyNames({ method: "ANY", count: -1, names: ["a"] }));
  assert.throws(() => formatSynchronousStandbyNames({ method: "ANY", count: 1, names: [""] }));
});

test("quoteStandbyName() output reads back as the name: one quoted token, inner quotes doubled", () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), (name) => {
      const quoted = quoteStandbyName(name);
      assert.ok(quoted.startsWith('"') && quoted.endsWith('"'));
      const inner = quoted.slice(1, -1);
      assert.ok(
        !inner.replaceAll('""', "").includes('"'),
        `a lone quote would end the token: ${quoted}`,
      );
      assert.equal(inner.replaceAll('""', '"'), name);
    }),
  );
});
