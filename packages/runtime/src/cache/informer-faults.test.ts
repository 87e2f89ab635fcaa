/**
 * The informer survives what breaks watches in production: a cut connection,
 * an API server restart, and resourceVersions expired by etcd compaction.
 * Each runs against a private cluster it may break, and ends by comparing the
 * cache with a fresh list: no missed and no phantom objects.
 */
import assert from "node:assert/strict";
import { after, before, type TestContext, test } from "node:test";
import { eventually, type PrivateTestCluster, startTestCluster } from "@ballast/dev/testkit";
import { KubeClient } from "../client/client.ts";
import { isGone } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import { type HeldClock, holdableClock } from "../watch/_testing.ts";
import type { WatcherStatus } from "../watch/watcher.ts";
import { Informer } from "./informer.ts";

const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
let cluster: PrivateTestCluster;
let client: KubeClient;
const stops: AbortController[] = [];

before(async () => {
  cluster = await startTestCluster({ name: "informer-faults" });
  client = await KubeClient.fromKubeconfig(cluster.kubeconfig, { rateLimit: false });
});

after(async () => {
  for (const stop of stops) stop.abort();
  client?.close();
  await cluster?.stop();
});

async function namespace(name: string): Promise<string> {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  return name;
}

function configMap(
  ns: string,
  name: string,
  v = "1",
): KubeObject & { data: Record<string, string> } {
  return { ...ConfigMap, metadata: { name, namespace: ns }, data: { v } };
}

async function startInformer(t: TestContext, ns: string) {
  const statuses: WatcherStatus[] = [];
  const clock = holdableClock();
  const informer = new Informer(client, ConfigMap, {
    namespace: ns,
    clock,
    backoff: { initialMs: 100, maxMs: 1_000 },
    onStatus: (s) => statuses.push(s),
  });
  const stop = new AbortController();
  stops.push(stop);
  t.after(() => stop.abort());
  informer.run(stop.signal).catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
  });
  await informer.waitForSync(AbortSignal.timeout(30_000));
  return { informer, statuses, clock };
}

const patience = { timeoutMs: 30_000, intervalMs: 50 };
/** For what waits on a restarted kube-apiserver. */
const longPatience = { timeoutMs: 60_000, intervalMs: 50 };

/** name → resourceVersion, the identity of a cached state. */
function snapshot(objects: KubeObject[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of objects) out[o.metadata.name ?? ""] = o.metadata.resourceVersion ?? "";
  return out;
}

/** Waits for the cache to settle on the fresh list, then asserts they are identical. */
async function assertCacheEqualsFreshList(informer: Informer, ns: string): Promise<void> {
  let fresh: Record<string, string> = {};
  try {
    await eventually(
      "the cache to match a fresh list",
      async () => {
        fresh = snapshot((await client.listAll(ConfigMap, { namespace: ns })).items);
        return (
          JSON.stringify(sortKeys(snapshot(informer.list()))) === JSON.stringify(sortKeys(fresh)) ||
          undefined
        );
      },
      patience,
    );
  } catch {
    // Fall through to the assertion, which shows the difference.
  }
  assert.deepEqual(sortKeys(snapshot(informer.list())), sortKeys(fresh));
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** Creates, updates and deletes while the watch is down, so only a resume or relist can tell. */
async function churn(ns: string, round: string, existing: string[]): Promise<void> {
  for (let i = 0; i < 5; i++) await client.create(configMap(ns, `${round}-new-${i}`));
  for (const name of existing.slice(0, 3)) await client.delete(ConfigMap, { namespace: ns, name });
  for (const name of existing.slice(3, 5))
    await client.patch(ConfigMap, { namespace: ns, name }, { data: { v: round } });
}

async function seed(ns: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    names.push(`seed-${i}`);
    await client.create(configMap(ns, `seed-${i}`));
  }
  return names;
}

async function holdDisconnected(
  clock: HeldClock,
  statuses: WatcherStatus[],
  cut: () => unknown,
): Promise<void> {
  clock.hold();
  await cut();
  await eventually(
    "the reconnect to be held",
    () => (clock.waiting > 0 && statuses.at(-1)?.state === "disconnected") || undefined,
    longPatience,
  );
}

test("after the watch connection is cut mid-stream, the cache equals a fresh list", async (t) => {
  const ns = await namespace("fault-cut");
  const seeded = await seed(ns, 8);
  const { informer, statuses, clock } = await startInformer(t, ns);
  // Changes stream in while the connection is cut, again while it is held down, and after.
  const writer = (async () => {
    for (let i = 0; i < 30; i++) await client.create(configMap(ns, `stream-${i}`));
  })();
  await eventually(
    "some of the stream",
    () => informer.list().length > seeded.length + 5 || undefined,
    patience,
  );
  await holdDisconnected(clock, statuses, () => informer.watcher.dropConnection());
  await churn(ns, "cut", seeded);
  clock.release();
  await writer;
  await assertCacheEqualsFreshList(informer, ns);
  assert.ok(statuses.some((s) => s.state === "disconnected" && s.reason === "dropped"));
});

test("after kube-apiserver restarts with changes made before the watch returns, the cache equals a fresh list", async (t) => {
  const ns = await namespace("fault-restart");
  const seeded = await seed(ns, 8);
  const { informer, statuses, clock } = await startInformer(t, ns);
  await eventually("watching", () => statuses.at(-1)?.state === "watching" || undefined, patience);
  clock.hold();
  await cluster.controlPlane.restart("kube-apiserver");
  await eventually("the watcher to notice", () => clock.waiting > 0 || undefined, longPatience);
  await churn(ns, "restart", seeded);
  clock.release();
  await assertCacheEqualsFreshList(informer, ns);
  assert.ok(
    statuses.some(
      (s) => s.state === "disconnected" && (s.reason === "error" || s.reason === "closed"),
    ),
  );
});

test("after etcd compaction expires the watch's resourceVersion, the watcher relists on 410 and the cache equals a fresh list", async (t) => {
  const ns = await namespace("fault-compact");
  const seeded = await seed(ns, 8);
  const { informer, statuses, clock } = await startInformer(t, ns);
  await eventually("watching", () => statuses.at(-1)?.state === "watching" || undefined, patience);
  const staleVersion = informer.watcher.resourceVersion;
  await holdDisconnected(clock, statuses, () => informer.watcher.dropConnection());
  await churn(ns, "compact", seeded);
  const revision = (await client.list(ConfigMap, { namespace: ns, limit: 1 })).metadata
    .resourceVersion;
  const compacted = await fetch(
    `http://127.0.0.1:${cluster.controlPlane.ports.etcdClient}/v3/kv/compaction`,
    {
      method: "POST",
      body: JSON.stringify({ revision, physical: true }),
    },
  );
  assert.equal(compacted.status, 200, await compacted.text());
  // The API server's watch cache would still serve the old version from memory; a
  // restart empties it, so the resume must go to (compacted) storage or be refused.
  await cluster.controlPlane.restart("kube-apiserver");
  // The compaction, not the restart, is what expired it: storage refuses the old version.
  await assert.rejects(
    client.list(ConfigMap, {
      namespace: ns,
      resourceVersion: staleVersion,
      resourceVersionMatch: "Exact",
    }),
    isGone,
  );
  clock.release();
  await eventually(
    "a relist after 410",
    () => statuses.find((s) => s.state === "listing" && s.reason === "gone"),
    longPatience,
  );
  await assertCacheEqualsFreshList(informer, ns);
});
