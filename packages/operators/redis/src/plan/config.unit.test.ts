import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  fileOnlyDirectives,
  immutableConfigKeys,
  isDynamicKey,
  type MasterMemory,
  maxmemoryProblem,
  parseMemory,
  planConfig,
  removedKeys,
  settingsHash,
  splitConfig,
} from "./config.ts";

test("isDynamicKey() refuses Redis 7.0's immutable configs and file-only directives, takes everything else (typos included: Redis answers them)", () => {
  for (const k of [...immutableConfigKeys, ...fileOnlyDirectives])
    assert.equal(isDynamicKey(k), false, k);
  for (const k of ["maxmemory", "maxmemory-policy", "appendfsync", "save", "hz", "maxmemori"])
    assert.equal(isDynamicKey(k), true, k);
});

test("splitConfig() puts each key in exactly one part, in the spec's order", () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.constantFrom("maxmemory", "databases", "io-threads", "hz", "loadmodule", "save", "x-y"),
        fc.oneof(fc.string(), fc.integer()),
      ),
      (config) => {
        const { dynamic, restart } = splitConfig(config);
        assert.equal(dynamic.length + restart.length, Object.keys(config).length);
        for (const [k, v] of dynamic) assert.ok(isDynamicKey(k) && String(config[k]) === v);
        for (const [k] of restart) assert.ok(!isDynamicKey(k));
        const order = Object.keys(config);
        const inOrder = (part: readonly (readonly [string, string])[]) =>
          part.every(
            ([k], i) => i === 0 || order.indexOf(part[i - 1]?.[0] ?? "") < order.indexOf(k),
          );
        assert.ok(inOrder(dynamic) && inOrder(restart));
      },
    ),
  );
});

test("settingsHash() does not depend on the order of the settings, and tells different settings apart", () => {
  assert.equal(
    settingsHash([
      ["a", "1"],
      ["b", "2"],
    ]),
    settingsHash([
      ["b", "2"],
      ["a", "1"],
    ]),
  );
  assert.notEqual(settingsHash([["a", "1"]]), settingsHash([["a", "2"]]));
  assert.notEqual(settingsHash([]), settingsHash([["a", ""]]));
});

test("removedKeys() lists the keys a member has live that the spec dropped", () => {
  assert.deepEqual(removedKeys(["maxmemory", "hz"], [["hz", "20"]]), ["maxmemory"]);
  assert.deepEqual(removedKeys([], [["hz", "20"]]), []);
});

test("parseMemory() reads units as Redis's memtoull does", () => {
  assert.equal(parseMemory("1gb"), 1024 ** 3);
  assert.equal(parseMemory("1G"), 1_000_000_000);
  assert.equal(parseMemory("100mb"), 100 * 1024 ** 2);
  assert.equal(parseMemory("5k"), 5000);
  assert.equal(parseMemory("1073741824"), 1073741824);
  assert.equal(parseMemory("lots"), undefined);
});

const master = (o: Partial<MasterMemory> = {}): MasterMemory => ({
  id: 0,
  usedMemory: 50 * 1024 ** 2,
  maxmemory: 0,
  policy: "noeviction",
  ...o,
});

test("maxmemoryProblem() refuses a noeviction limit below what the master uses, and nothing else", () => {
  assert.match(
    maxmemoryProblem([["maxmemory", "10mb"]], master()) ?? "",
    /10mb \(10485760 bytes\)/,
  );
  // The policy may come from the change, the limit from what is live.
  assert.match(
    maxmemoryProblem(
      [["maxmemory-policy", "noeviction"]],
      master({ maxmemory: 1024, policy: "allkeys-lru" }),
    ) ?? "",
    /maxmemory-policy noeviction with the maxmemory live now \(1024 bytes\)/,
  );
  assert.equal(
    maxmemoryProblem(
      [
        ["maxmemory", "10mb"],
        ["maxmemory-policy", "allkeys-lru"],
      ],
      master(),
    ),
    undefined,
  );
  assert.equal(maxmemoryProblem([["maxmemory", "1gb"]], master()), undefined);
  assert.equal(maxmemoryProblem([["maxmemory", "0"]], master()), undefined);
  assert.equal(
    maxmemoryProblem([["hz", "20"]], master({ maxmemory: 1 })),
    undefined,
    "a change that sets neither key is not refused for what is live",
  );
});

test("maxmemoryProblem() says there is a problem exactly when the resulting noeviction limit is below the used memory (property)", () => {
  fc.assert(
    fc.property(
      fc.option(fc.nat(10_000), { nil: undefined }),
      fc.option(fc.constantFrom("noeviction", "allkeys-lru", "volatile-ttl"), { nil: undefined }),
      fc.nat(10_000),
      fc.nat(10_000),
      fc.constantFrom("noeviction", "allkeys-lru"),
      (newMax, newPolicy, used, liveMax, livePolicy) => {
        const desired: [string, string][] = [
          ...(newMax === undefined ? [] : [["maxmemory", String(newMax)] as [string, string]]),
          ...(newPolicy === undefined ? [] : [["maxmemory-policy", newPolicy] as [string, string]]),
        ];
        const max = newMax ?? liveMax;
        const policy = newPolicy ?? livePolicy;
        const expected = desired.length > 0 && policy === "noeviction" && max > 0 && max < used;
        const got = maxmemoryProblem(
          desired,
          master({ usedMemory: used, maxmemory: liveMax, policy: livePolicy }),
        );
        assert.equal(got !== undefined, expected);
      },
    ),
  );
});

test("planConfig() sends to every member behind, the master first, or to none while one behind does not answer", () => {
  const m = (id: number, applied: string | undefined, answers = true) => ({ id, applied, answers });
  assert.deepEqual(planConfig("h", [m(0, "h"), m(1, "h")], 0), { kind: "done" });
  assert.deepEqual(planConfig("h", [m(0, "x"), m(1, undefined), m(2, "x")], 1), {
    kind: "apply",
    ids: [1, 0, 2],
  });
  assert.equal(planConfig("h", [m(0, "x"), m(1, "x", false)], 0).kind, "wait");
  assert.equal(planConfig("h", [m(0, "x")], undefined).kind, "wait");
  // A member already up to date that does not answer stops nothing.
  assert.deepEqual(planConfig("h", [m(0, "x"), m(1, "h", false)], 0), { kind: "apply", ids: [0] });
});

test("planConfig() applies to all behind or none, never to a member up to date (property)", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ applied: fc.constantFrom("h", "x", undefined), answers: fc.boolean() }),
        {
          maxLength: 6,
        },
      ),
      fc.option(fc.nat(5), { nil: undefined }),
      (raw, master) => {
        const members = raw.map((r, id) => ({ id, ...r }));
        const d = planConfig("h", members, master);
        const behind = members.filter((m) => m.applied !== "h");
        if (behind.length === 0) return assert.equal(d.kind, "done");
        if (d.kind !== "apply") return;
        assert.deepEqual([...d.ids].sort(), behind.map((m) => m.id).sort());
        assert.ok(behind.every((m) => m.answers));
        if (master !== undefined && d.ids.includes(master)) assert.equal(d.ids[0], master);
      },
    ),
  );
});
