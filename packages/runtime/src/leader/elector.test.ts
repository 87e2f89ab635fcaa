import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, type TestCluster } from "@ballast/dev/testkit";
import {
  createNamespaces,
  deleteNamespaces,
  serviceAccountClient,
  uniqueName,
} from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import { LeaderElector, type LeaseObject } from "./elector.ts";

const ns = uniqueName("leader-test");
const LeaseType = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;
const timing = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 };

let cluster: TestCluster;
let admin: KubeClient;

before(async () => {
  ({ cluster, client: admin } = await createNamespaces([ns], { fieldManager: "leader-test" }));
});

after(async () => {
  await deleteNamespaces(admin, [ns]);
});

const now = () => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls every 10 ms: the times the tests measure are taken when a wait ends. */
const within = (timeoutMs: number) => ({ timeoutMs, intervalMs: 10 });

/** An elector running in this process, with what happened to it and when. */
function candidate(client: KubeClient, leaseName: string, identity: string) {
  const elector = new LeaderElector(client, { leaseName, namespace: ns, identity, ...timing });
  const shutdown = new AbortController();
  const seen = {
    startedAt: Number.NaN,
    stoppedAt: Number.NaN,
    leaders: [] as string[],
    signalAbortedAt: Number.NaN,
  };
  const done = elector.run(
    {
      onStartedLeading(signal) {
        seen.startedAt = now();
        signal.addEventListener("abort", () => {
          seen.signalAbortedAt = now();
        });
      },
      onStoppedLeading() {
        seen.stoppedAt = now();
      },
      onNewLeader(id) {
        seen.leaders.push(id);
      },
    },
    shutdown.signal,
  );
  return { elector, shutdown, seen, done };
}

/** Samples both electors every few ms and fails if they ever lead at once. */
function watchExclusion(electors: () => LeaderElector[]) {
  let both = 0;
  let samples = 0;
  const timer = setInterval(() => {
    samples += 1;
    if (electors().filter((e) => e.isLeader()).length > 1) both += 1;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      assert.equal(both, 0, `both electors led in ${both} of ${samples} samples`);
      assert.ok(samples > 100, `only ${samples} samples`);
    },
  };
}

test("one elector acquires the lease, a second waits, and a release hands over at once", async () => {
  const a = candidate(admin, "handover", "a");
  await eventually("a leads", () => a.elector.isLeader() || undefined, within(10_000));
  const b = candidate(admin, "handover", "b");
  const exclusion = watchExclusion(() => [a.elector, b.elector]);
  await sleep(timing.leaseDurationMs + 2 * timing.retryPeriodMs);
  assert.ok(a.elector.isLeader(), "a keeps leading by renewing");
  assert.ok(!b.elector.isLeader(), "b waits while a renews");
  assert.deepEqual(b.seen.leaders, ["a"]);

  const lease = await admin.get<LeaseObject>(LeaseType, { namespace: ns, name: "handover" });
  assert.equal(lease.spec?.holderIdentity, "a");
  assert.equal(lease.spec?.leaseDurationSeconds, 4);

  a.shutdown.abort();
  await a.done;
  const releasedAt = now();
  assert.ok(a.seen.stoppedAt <= releasedAt && a.seen.signalAbortedAt <= releasedAt);
  const takenAt = await eventually(
    "b leads",
    () => (b.elector.isLeader() ? now() : undefined),
    within(10_000),
  );
  // Without the release b would wait a whole lease duration.
  assert.ok(
    takenAt - releasedAt < timing.retryPeriodMs * 1.2 + 500,
    `b took ${takenAt - releasedAt} ms`,
  );
  const after = await admin.get<LeaseObject>(LeaseType, { namespace: ns, name: "handover" });
  assert.equal(after.spec?.holderIdentity, "b");
  assert.equal(after.spec?.leaseTransitions, 1);
  exclusion.stop();
  b.shutdown.abort();
  await b.done;
});

test("two electors started together: exactly one leads, and never both at a sampled instant", async () => {
  const a = candidate(admin, "race", "a");
  const b = candidate(admin, "race", "b");
  const exclusion = watchExclusion(() => [a.elector, b.elector]);
  await eventually(
    "someone leads",
    () => a.elector.isLeader() || b.elector.isLeader() || undefined,
    within(10_000),
  );
  await sleep(2 * timing.leaseDurationMs);
  assert.equal([a, b].filter((c) => c.elector.isLeader()).length, 1);
  // Hand over and back a few times to give overlaps a chance.
  for (let round = 0; round < 2; round++) {
    const leader = a.elector.isLeader() ? a : b;
    leader.shutdown.abort();
    await leader.done;
    const next = leader === a ? candidate(admin, "race", "a") : candidate(admin, "race", "b");
    if (leader === a) Object.assign(a, next);
    else Object.assign(b, next);
    await eventually(
      "the other leads",
      () => a.elector.isLeader() || b.elector.isLeader() || undefined,
      within(10_000),
    );
  }
  exclusion.stop();
  a.shutdown.abort();
  b.shutdown.abort();
  await Promise.all([a.done, b.done]);
});

/** A client acting as a ServiceAccount allowed to use Leases in the test namespace, and the binding to revoke. */
async function revocableClient(
  name: string,
): Promise<{ client: KubeClient; revoke: () => Promise<void> }> {
  const client = await serviceAccountClient(cluster, ns, name, 600);
  await admin.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name, namespace: ns },
    rules: [
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get", "create", "update"],
      },
    ],
  });
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
  };
  await admin.create(binding);
  return {
    client,
    revoke: async () => {
      await admin.delete(binding, { namespace: ns, name });
    },
  };
}

test("a leader whose renewals are refused stops within renewDeadline, and the other takes over only after", async () => {
  const weak = await revocableClient("elector-a");
  const a = candidate(weak.client, "revoked", "a");
  await eventually("a leads", () => a.elector.isLeader() || undefined, within(15_000));
  const b = candidate(admin, "revoked", "b");
  const exclusion = watchExclusion(() => [a.elector, b.elector]);
  await sleep(2 * timing.retryPeriodMs);
  assert.ok(a.elector.isLeader() && !b.elector.isLeader());

  await weak.revoke();
  const cutAt = now();
  await a.done; // run() returns once leadership is lost
  const stoppedAt = a.seen.stoppedAt;
  // The last renewal that got through was sent before the cut (plus RBAC's propagation).
  assert.ok(
    stoppedAt - cutAt <= timing.renewDeadlineMs + 250,
    `a stopped ${Math.round(stoppedAt - cutAt)} ms after the cut`,
  );
  assert.ok(a.seen.signalAbortedAt <= stoppedAt);
  assert.ok(!a.elector.isLeader());

  const takenAt = await eventually(
    "b leads",
    () => (b.elector.isLeader() ? now() : undefined),
    within(15_000),
  );
  assert.ok(takenAt > stoppedAt, "b must not start before a stopped");
  // b waited for the lease to expire: it was not released.
  assert.ok(
    takenAt - cutAt >= timing.leaseDurationMs - timing.retryPeriodMs,
    `b took over ${Math.round(takenAt - cutAt)} ms after the cut`,
  );
  const lease = await admin.get<LeaseObject>(LeaseType, { namespace: ns, name: "revoked" });
  assert.equal(lease.spec?.holderIdentity, "b");
  exclusion.stop();
  b.shutdown.abort();
  await b.done;
  weak.client.close();
});

test("a leader process killed with SIGKILL is replaced once its lease expires, not before", async () => {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL("./_elector-child.ts", import.meta.url)),
      cluster.kubeconfig,
      ns,
      "killed",
      "child",
      String(timing.leaseDurationMs),
      String(timing.renewDeadlineMs),
      String(timing.retryPeriodMs),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
    });
    await eventually(
      "the child leads",
      () => output.includes("leading") || undefined,
      within(20_000),
    );
    const b = candidate(admin, "killed", "b");
    await sleep(timing.leaseDurationMs + timing.retryPeriodMs);
    assert.ok(!b.elector.isLeader(), "b waits while the child renews");
    assert.deepEqual(b.seen.leaders, ["child"]);

    child.kill("SIGKILL");
    await once(child, "exit");
    const killedAt = now();
    const takenAt = await eventually(
      "b leads",
      () => (b.elector.isLeader() ? now() : undefined),
      within(15_000),
    );
    // The child renewed at most one retry period before dying; b must wait out the lease from its last sighting.
    assert.ok(
      takenAt - killedAt >= timing.leaseDurationMs - timing.retryPeriodMs,
      `b took over ${Math.round(takenAt - killedAt)} ms after the kill`,
    );
    assert.ok(
      takenAt - killedAt <= timing.leaseDurationMs + 2 * timing.retryPeriodMs + 1_000,
      `b took over ${Math.round(takenAt - killedAt)} ms after the kill`,
    );
    const lease = await admin.get<LeaseObject>(LeaseType, { namespace: ns, name: "killed" });
    assert.equal(lease.spec?.holderIdentity, "b");
    assert.equal(lease.spec?.leaseTransitions, 1);
    b.shutdown.abort();
    await b.done;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});
