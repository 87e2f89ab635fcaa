import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { macFor } from "./network.ts";

test("macFor() is a locally administered unicast MAC ending in the address's bytes", () => {
  assert.equal(macFor("10.200.2.2"), "02:42:0a:c8:02:02");
  assert.throws(() => macFor("10.200.2"), /not an IPv4 address/);
  assert.throws(() => macFor("10.200.2.256"), /not an IPv4 address/);
});

test("macFor() gives distinct addresses distinct MACs, and the same address the same one", () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
  fc.assert(
    fc.property(ipv4, ipv4, (a, b) => {
      assert.equal(macFor(a) === macFor(b), a === b);
      const first = Number.parseInt(macFor(a).slice(0, 2), 16);
      assert.equal(first & 0b11, 0b10, "locally administered, unicast");
    }),
  );
});
