import assert from "node:assert/strict";
import { test } from "node:test";
import { usesJline3 } from "./zookeeper.ts";

test("usesJline3() follows the parent poms: jline 2 up to 3.9.4, jline 3 from 3.9.5", () => {
  for (const v of ["3.8.4", "3.9.0", "3.9.3", "3.9.4"]) assert.equal(usesJline3(v), false, v);
  for (const v of ["3.9.5", "3.10.0", "4.0.0"]) assert.equal(usesJline3(v), true, v);
});
