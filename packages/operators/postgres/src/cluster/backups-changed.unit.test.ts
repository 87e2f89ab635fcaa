import assert from "node:assert/strict";
import { test } from "node:test";
import { BackupsChanged } from "./scope.ts";

test("BackupsChanged: a cluster lists its Backups the first time, then only after the watch marks it", () => {
  const c = new BackupsChanged();
  assert.equal(c.take("ns/db"), true, "never listed by this process");
  assert.equal(c.take("ns/db"), false, "nothing changed since");
  c.mark("ns/db");
  assert.equal(c.take("ns/other"), true, "each cluster on its own");
  assert.equal(c.take("ns/db"), true, "a Backup of it changed");
  assert.equal(c.take("ns/db"), false);
  c.forget("ns/db");
  assert.equal(c.take("ns/db"), true, "forgotten (cluster deleted): listed again if it comes back");
});
