import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { maxSetNameLength, memberSetNameRule } from "./names.ts";

test("maxSetNameLength() leaves room for the longest suffix in a 63-character label", () => {
  assert.equal(maxSetNameLength(["-bootstrap", "-nodes", "-99"]), 53);
  assert.equal(maxSetNameLength([]), 63);
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 20 })), (suffixes) => {
      const max = maxSetNameLength(suffixes);
      for (const s of suffixes) assert.ok(max + s.length <= 63);
    }),
  );
});

test("memberSetNameRule() says the limit and an example of a derived name", () => {
  const rule = memberSetNameRule(["-nodes", "-bootstrap"]);
  assert.match(rule.rule, /size\(self\.metadata\.name\) <= 53/);
  assert.match(rule.message ?? "", /at most 53 .*<name>-bootstrap/);
});
