import assert from "node:assert/strict";
import { test } from "node:test";
import type { PodLike } from "@ballast/stateful";
import { observe } from "../plan/state.ts";
import { ensembleObject } from "./_act-world.ts";
import { buildStatus } from "./status.ts";

test("Ready names why a member's pod cannot start (an unknown version's image), so the fix is plain", () => {
  const e = ensembleObject({ version: "3.9.99", replicas: 1 });
  e.status = { members: [{ id: 1, pod: "zk-1", role: "", ready: false, voter: false }] };
  const stuck: PodLike = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "zk-1" },
    status: {
      containerStatuses: [
        {
          name: "zookeeper",
          state: {
            waiting: { reason: "ErrImagePull", message: "zookeeper:3.9.99: no such release" },
          },
        },
      ],
    },
  };
  const status = buildStatus(e, {
    pods: new Map([[1, stuck]]),
    observation: observe([]),
    update: {},
    now: new Date(0),
  });
  const ready = status?.conditions?.find((c) => c.type === "Ready");
  assert.equal(ready?.status, "False");
  assert.equal(ready?.reason, "PodsNotStarting");
  assert.equal(
    ready?.message,
    "members 1 are not serving; member 1's pod: container zookeeper ErrImagePull: zookeeper:3.9.99: no such release",
  );
});
