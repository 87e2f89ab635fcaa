/**
 * Two replicas of the hello operator, each in its own process, electing a
 * leader through a Lease on the real cluster: exactly one reconciles; after
 * the leader is SIGKILLed the other takes over once the lease runs out, and
 * never before.
 *
 * Each replica (`_failover-replica.ts`) reports every reconcile it performs
 * with its start and end times, so "never two at once" is checked on what
 * the processes did, not on what the Lease says.
 */
import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, type TestCluster } from "@ballast/dev/testkit";
import {
  findCondition,
  ignoreNotFound,
  type KubeClient,
  type KubeObject,
  type LeaseObject,
} from "@ballast/runtime";
import { createNamespaces, deleteNamespaces, uniqueName } from "../../src/_test-support.ts";
import { Greeting } from "./api.ts";
import { ConfigMap } from "./controller.ts";
import { installGreetingCrd } from "./operator.ts";

const ns = uniqueName("hello-failover");
const leaseName = "hello-operator";
const timing = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };
/** Time for a new leader to start its controllers, list, and reconcile one Greeting. */
const startupMarginMs = 3_000;
const LeaseType = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

interface Report {
  identity: string;
  event: "reconcile" | "leading" | "leader";
  key?: string;
  startedAt?: number;
  endedAt?: number;
  leader?: string;
  at?: number;
}

interface Replica {
  identity: string;
  child: ChildProcessByStdio<null, Readable, null>;
  reports: Report[];
  exited: Promise<unknown>;
}

let cluster: TestCluster;
let client: KubeClient;
const replicas: Replica[] = [];

before(async () => {
  ({ cluster, client } = await createNamespaces([ns], { fieldManager: "failover-test" }));
  await installGreetingCrd(client);
});

after(async () => {
  for (const replica of replicas) {
    if (replica.child.exitCode === null && replica.child.signalCode === null) {
      replica.child.kill("SIGKILL");
    }
    await replica.exited;
  }
  await deleteNamespaces(client, [ns], { unfinalized: [Greeting] });
});

function startReplica(identity: string): Replica {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL("./_failover-replica.ts", import.meta.url)),
      cluster.kubeconfig,
      ns,
      leaseName,
      identity,
      String(timing.leaseDurationMs),
      String(timing.renewDeadlineMs),
      String(timing.retryPeriodMs),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const reports: Report[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    reports.push(JSON.parse(line) as Report);
  });
  const replica = { identity, child, reports, exited: once(child, "exit") };
  replicas.push(replica);
  return replica;
}

const intervalMs = 50;

async function putGreeting(name: string, message: string): Promise<void> {
  await client.apply({
    apiVersion: Greeting.apiVersion,
    kind: Greeting.kind,
    metadata: { name, namespace: ns },
    spec: { message },
  });
}

/** Resolves (with the time) once the Greeting is Ready for its generation and its ConfigMap says `message`. */
function converged(name: string, message: string, timeoutMs = 30_000): Promise<number> {
  return eventually(
    `${name} to converge on ${JSON.stringify(message)}`,
    async () => {
      const greeting = await client.get<Greeting>(Greeting, { namespace: ns, name });
      const ready = findCondition(greeting.status?.conditions, "Ready");
      if (ready?.status !== "True" || ready.observedGeneration !== greeting.metadata.generation) {
        return undefined;
      }
      const configMap = await client
        .get<KubeObject & { data?: Record<string, string> }>(ConfigMap, {
          namespace: ns,
          name: `${name}-greeting`,
        })
        .catch(ignoreNotFound);
      return configMap?.data?.message === message ? Date.now() : undefined;
    },
    { timeoutMs, intervalMs },
  );
}

const reconciles = (replica: Replica) => replica.reports.filter((r) => r.event === "reconcile");

function describe(replica: Replica): string {
  return `${replica.identity}: ${JSON.stringify(replica.reports)}`;
}

test("two replicas: exactly one reconciles; SIGKILL it and the other takes over within the lease, never before", async (t) => {
  const [a, b] = [startReplica("replica-a"), startReplica("replica-b")];

  // Both up: one leads, the other has seen it lead and waits.
  const leader = await eventually(
    "a leader, seen by the other replica",
    () => {
      const leading = [a, b].filter((r) => r.reports.some((x) => x.event === "leading"));
      if (leading.length !== 1) return undefined;
      const [first] = leading;
      const other = first === a ? b : a;
      const seen = other.reports.some((x) => x.event === "leader" && x.leader === first?.identity);
      return seen ? first : undefined;
    },
    { timeoutMs: 30_000, intervalMs },
  );
  const follower = leader === a ? b : a;

  // (a) Work arrives while both run: only the leader reconciles it.
  for (const name of ["one", "two", "three"]) await putGreeting(name, `hello from ${name}`);
  for (const name of ["one", "two", "three"]) await converged(name, `hello from ${name}`);
  await putGreeting("two", "hello again");
  await converged("two", "hello again");
  const lease = await client.get<LeaseObject>(LeaseType, { namespace: ns, name: leaseName });
  assert.equal(lease.spec?.holderIdentity, leader.identity);
  assert.equal(lease.spec?.leaseDurationSeconds, timing.leaseDurationMs / 1000);
  assert.ok(reconciles(leader).length >= 4, describe(leader));
  assert.deepEqual(reconciles(follower), [], describe(follower));
  assert.equal(follower.reports.filter((r) => r.event === "leading").length, 0);

  // (b) Kill the leader. Its last renewal, read from the Lease, is when the
  // follower's wait started; the lease can be taken leaseDurationSeconds later.
  leader.child.kill("SIGKILL");
  await leader.exited;
  const diedAt = Date.now();
  await putGreeting("after", "hello from the new leader");
  let lastRenewal = Date.parse(lease.spec?.renewTime ?? "");
  const takenOver = await eventually(
    "the lease to change hands",
    async () => {
      const now = await client.get<LeaseObject>(LeaseType, { namespace: ns, name: leaseName });
      // A renewal already on the wire when the leader died may still land.
      if (now.spec?.holderIdentity === leader.identity) {
        lastRenewal = Date.parse(now.spec.renewTime ?? "");
        return undefined;
      }
      return now;
    },
    { timeoutMs: timing.leaseDurationMs * 4, intervalMs },
  );
  assert.equal(takenOver.spec?.holderIdentity, follower.identity);
  assert.ok(Number.isFinite(lastRenewal), `renewTime ${lease.spec?.renewTime}`);
  const leaseMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  // The follower notices expiry on its next retry, up to a retry period after
  // it first saw the final renewal, itself up to a retry period late.
  const latest = lastRenewal + leaseMs + 2 * timing.retryPeriodMs + startupMarginMs;
  const readyAt = await converged(
    "after",
    "hello from the new leader",
    Math.max(latest - Date.now(), 0) + 5_000,
  );
  assert.ok(
    readyAt <= latest,
    `"after" was ready ${readyAt - lastRenewal} ms after the last renewal; allowed ${latest - lastRenewal} ms`,
  );
  assert.ok(
    reconciles(follower).some((r) => r.key === `${ns}/after`),
    describe(follower),
  );

  // (c) Never two at once: the follower's first reconcile began after the
  // leader was dead, and after the dead leader's lease had run out.
  const first = Math.min(...reconciles(follower).map((r) => r.startedAt ?? 0));
  assert.ok(first >= diedAt, `follower reconciled at ${first}, leader died at ${diedAt}`);
  assert.ok(
    first >= lastRenewal + leaseMs,
    `follower reconciled ${first - lastRenewal} ms after the last renewal, before the ${leaseMs} ms lease ran out`,
  );
  t.diagnostic(
    `after the last renewal: follower reconciled at +${Math.round(first - lastRenewal)} ms, "after" ready at +${readyAt - lastRenewal} ms (lease ${leaseMs} ms)`,
  );
  for (const r of reconciles(leader)) assert.ok((r.endedAt ?? Infinity) <= diedAt);
});
