import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { KafkaCluster } from "../api.ts";
import { activeBrokers, type MemberNode, planMembership } from "./membership.ts";

function cluster(
  brokers: number,
  replicas: 1 | 3 | 5 = 3,
  mode: "combined" | "dedicated" = "combined",
): KafkaCluster {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "KafkaCluster",
    metadata: { name: "k", namespace: "ns" },
    spec: {
      version: "3.9.1",
      brokers,
      controllers: { replicas, mode },
      storage: { size: "1Gi" },
      clientPort: 9092,
    },
  } as KafkaCluster;
}

const combined3: MemberNode[] = [
  { id: 0, roles: ["broker", "controller"] },
  { id: 1, roles: ["broker", "controller"] },
  { id: 2, roles: ["broker", "controller"] },
];

test("planMembership() creates combined nodes 0..n-1, the first ones controllers", () => {
  const change = planMembership(cluster(4), undefined);
  assert.equal(change.kind, "create");
  assert.deepEqual(
    change.kind === "create" && change.members.map((n) => [n.id, n.roles.join("+")]),
    [
      [0, "broker+controller"],
      [1, "broker+controller"],
      [2, "broker+controller"],
      [3, "broker"],
    ],
  );
});

test("planMembership() gives dedicated controllers their own ids before the brokers", () => {
  const change = planMembership(cluster(2, 3, "dedicated"), []);
  assert.deepEqual(
    change.kind === "create" && change.members.map((n) => [n.id, n.roles.join("+")]),
    [
      [0, "controller"],
      [1, "controller"],
      [2, "controller"],
      [3, "broker"],
      [4, "broker"],
    ],
  );
});

test("planMembership() scales up with the lowest free id and drains the newest broker on scale-down", () => {
  const up = planMembership(cluster(4), combined3);
  assert.equal(up.kind, "add");
  assert.deepEqual(up.kind === "add" && up.added, [3]);
  const four = up.kind === "add" ? up.members : [];
  const down = planMembership(cluster(3), four);
  assert.equal(down.kind, "remove");
  assert.deepEqual(down.kind === "remove" && down.removing, [3]);
});

test("planMembership() refuses to remove combined controllers", () => {
  const change = planMembership(cluster(2), combined3);
  assert.equal(change.kind, "refuse");
  assert.match(change.kind === "refuse" ? change.message : "", /at least 3/);
});

test("planMembership() takes back a draining node before adding a new id", () => {
  const nodes: MemberNode[] = [...combined3, { id: 3, roles: ["broker"], removing: true }];
  const change = planMembership(cluster(4), nodes);
  assert.equal(change.kind, "add");
  assert.deepEqual(change.kind === "add" && change.added, [3]);
  assert.ok(change.kind === "add" && change.members.every((n) => !n.removing));
});

test("planMembership() always reaches spec.brokers active brokers with unique ids and never drops a controller", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 12 }),
      fc.array(fc.integer({ min: 3, max: 12 }), { maxLength: 6 }),
      (start, steps) => {
        const first = planMembership(cluster(start), undefined);
        let nodes: MemberNode[] = first.kind === "create" ? first.members : [];
        for (const want of steps) {
          const change = planMembership(cluster(want), nodes);
          if (change.kind === "add" || change.kind === "remove") nodes = change.members;
          // A removal completes once the node is drained: the controller drops it.
          nodes = nodes.filter((n) => !n.removing);
          assert.equal(activeBrokers(nodes).length, want);
          assert.equal(new Set(nodes.map((n) => n.id)).size, nodes.length);
          assert.deepEqual(
            nodes.filter((n) => n.roles.includes("controller")).map((n) => n.id),
            [0, 1, 2],
          );
        }
      },
    ),
  );
});
