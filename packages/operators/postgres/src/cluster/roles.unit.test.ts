/** withInitdb: bootstrap.initdb's database and owner as declared entries (roles.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PostgresClusterSpec } from "../api.ts";
import { withInitdb } from "./roles.ts";

const base = { version: "15", instances: 3, storage: { size: "1Gi" } } as PostgresClusterSpec;

test("no initdb: the spec as it is", () => {
  assert.equal(withInitdb(base), base);
});

test("initdb's database, owned by a login role of its name, appended after the user's entries", () => {
  const spec = {
    ...base,
    bootstrap: { initdb: { database: "shop" } },
    roles: [{ name: "reader", login: true }],
  } as PostgresClusterSpec;
  const got = withInitdb(spec);
  assert.deepEqual(got.roles, [
    { name: "reader", login: true },
    { name: "shop", login: true },
  ]);
  assert.deepEqual(got.databases, [{ name: "shop", owner: "shop" }]);
});

test("what the spec declares itself wins: nothing added twice", () => {
  const spec = {
    ...base,
    bootstrap: { initdb: { database: "shop", owner: "owner" } },
    roles: [{ name: "owner", login: false }],
    databases: [{ name: "shop", owner: "postgres" }],
  } as PostgresClusterSpec;
  const got = withInitdb(spec);
  assert.deepEqual(got.roles, [{ name: "owner", login: false }]);
  assert.deepEqual(got.databases, [{ name: "shop", owner: "postgres" }]);
});
