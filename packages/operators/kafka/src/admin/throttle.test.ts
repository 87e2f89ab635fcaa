import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { throttleFor } from "./throttle.ts";

test("throttleFor() throttles current replicas as leaders and only added replicas as followers", () => {
  const current = new Map([
    ["orders:0", [1, 2, 3]],
    ["orders:1", [2, 3, 1]],
    ["audit:0", [3]],
  ]);
  const plan = throttleFor(
    [
      { topic: "orders", partition: 1, replicas: [4, 3, 1] },
      { topic: "orders", partition: 0, replicas: [1, 2, 5] },
      { topic: "audit", partition: 0, replicas: [3] },
    ],
    (topic, partition) => current.get(`${topic}:${partition}`) ?? [],
  );
  assert.deepEqual(plan.brokers, [1, 2, 3, 4, 5]);
  assert.deepEqual(Object.fromEntries(plan.topicReplicas), {
    orders: { leader: "0:1,0:2,0:3,1:1,1:2,1:3", follower: "0:5,1:4" },
    audit: { leader: "0:3", follower: "" },
  });
});

test("throttleFor() lists every current and target broker, and a follower pair only for brokers not yet replicas", () => {
  const replicaSet = fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(replicaSet, replicaSet), { minLength: 1, maxLength: 5 }),
      (pairs) => {
        const moves = pairs.map(([, target], partition) => ({
          topic: "t",
          partition,
          replicas: target,
        }));
        const plan = throttleFor(moves, (_t, partition) => pairs[partition]?.[0] ?? []);
        const expectedBrokers = new Set(pairs.flatMap(([cur, target]) => [...cur, ...target]));
        assert.deepEqual(
          plan.brokers,
          [...expectedBrokers].sort((a, b) => a - b),
        );
        const lists = plan.topicReplicas.get("t");
        const parse = (s: string | undefined) => new Set(s ? s.split(",") : []);
        const leaders = parse(lists?.leader);
        const followers = parse(lists?.follower);
        pairs.forEach(([cur, target], p) => {
          for (const b of cur) assert.ok(leaders.has(`${p}:${b}`));
          for (const b of target) assert.equal(followers.has(`${p}:${b}`), !cur.includes(b));
        });
        assert.equal(
          leaders.size,
          pairs.reduce((n, [cur]) => n + cur.length, 0),
        );
      },
    ),
  );
});
