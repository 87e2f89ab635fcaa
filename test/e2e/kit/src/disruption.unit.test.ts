import assert from "node:assert/strict";
import { test } from "node:test";
import { membersDown } from "./disruption.ts";
import type { PodView } from "./objects.ts";

const label = "example.ballast.dev/member";

function pod(id: string, opts: { ready?: boolean; deleting?: boolean } = {}): PodView {
  return {
    metadata: {
      name: `m-${id}`,
      uid: id,
      labels: { [label]: id },
      ...(opts.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: { containers: [] },
    status: { conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }] },
  };
}

test("membersDown() counts a member down while its pod is not Ready, being deleted or missing", () => {
  const pods = [pod("0"), pod("1", { ready: false }), pod("2", { deleting: true })];
  assert.deepEqual(membersDown(pods, label, [0, 1, 2, 3]), [1, 2, 3]);
});

test("membersDown() counts a member up when any of its pods serves (the replacement is Ready)", () => {
  const pods = [pod("a", { deleting: true }), pod("a"), pod("b")];
  assert.deepEqual(membersDown(pods, label, ["a", "b"]), []);
});

test("membersDown() ignores pods of members no longer expected, and pods without the label", () => {
  const stray = pod("9");
  stray.metadata.labels = {};
  assert.deepEqual(membersDown([pod("4"), stray], label, [0]), [0]);
});

test("membersDown() can count a member up while its process runs, though it does not serve", () => {
  // A ZooKeeper follower during the election a leader's restart starts: running, not serving.
  const electing: PodView = {
    ...pod("1"),
    status: {
      conditions: [
        { type: "ContainersReady", status: "True" },
        { type: "Ready", status: "False" },
      ],
    },
  };
  assert.deepEqual(membersDown([electing], label, [1]), [1]);
  assert.deepEqual(membersDown([electing], label, [1], "ContainersReady"), []);
  assert.deepEqual(membersDown([pod("2", { deleting: true })], label, [2], "ContainersReady"), [2]);
});
