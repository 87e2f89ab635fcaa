/**
 * The users' plan: lines that never hold a password, and property tests of
 * which members are brought up to date and what is deleted on them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  passwordDigest,
  planUsers,
  setUserArgs,
  type UsersMember,
  usersFile,
  usersHash,
} from "./plan.ts";

const app = { name: "app", rules: "~app:*  &app:* +@read +@write", password: "pw-of-app" };

test("a user's line: reset, on, the password's SHA-256, the rules; the password itself nowhere", () => {
  assert.deepEqual(setUserArgs(app), [
    "app",
    "reset",
    "on",
    `#${passwordDigest("pw-of-app")}`,
    "~app:*",
    "&app:*",
    "+@read",
    "+@write",
  ]);
  // sha256("abc"), the FIPS 180-2 example: the digest Redis compares AUTH's password against.
  assert.equal(
    passwordDigest("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.doesNotMatch(usersFile([app]), /pw-of-app/);
  assert.equal(usersFile([app]).split("\n").length, 2);
});

test("the users' digest changes with a password, a rule or a user, and not with how rules are spaced", () => {
  const h = usersHash([app]);
  assert.notEqual(usersHash([{ ...app, password: "other" }]), h);
  assert.notEqual(usersHash([{ ...app, rules: "+@read" }]), h);
  assert.notEqual(usersHash([app, { ...app, name: "b" }]), h);
  assert.equal(usersHash([{ ...app, rules: " ~app:* &app:*   +@read +@write " }]), h);
  assert.notEqual(usersHash([]), h);
});

const member = fc.record({
  id: fc.integer({ min: 0, max: 20 }),
  applied: fc.option(fc.constantFrom("h1", "h2"), { nil: undefined }),
  names: fc.uniqueArray(fc.constantFrom<string>("default", "app", "ro", "old", "batch"), {
    maxLength: 4,
  }),
  answers: fc.boolean(),
}) satisfies fc.Arbitrary<UsersMember>;

test("property: exactly the answering members behind the digest are changed", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("h1", "h2"),
      fc.uniqueArray(member, { selector: (m) => m.id, maxLength: 8 }),
      (hash, members) => {
        const ids = planUsers(hash, ["app"], members).map((c) => c.id);
        const expected = members.filter((m) => m.answers && m.applied !== hash).map((m) => m.id);
        assert.deepEqual(ids, expected);
      },
    ),
  );
});

test("property: only users the operator set and the spec dropped are deleted, never default", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.constantFrom<string>("app", "ro", "old", "batch"), { maxLength: 4 }),
      fc.uniqueArray(member, { selector: (m) => m.id, maxLength: 8 }),
      (desired, members) => {
        for (const change of planUsers("h3", desired, members)) {
          const m = members.find((x) => x.id === change.id);
          assert.ok(m);
          for (const name of change.remove) {
            assert.notEqual(name, "default");
            assert.ok(m.names.includes(name), "set by the operator on that member");
            assert.ok(!desired.includes(name), "no longer in the spec");
          }
          assert.deepEqual(
            change.remove,
            m.names.filter((n) => n !== "default" && !desired.includes(n)),
          );
        }
      },
    ),
  );
});
