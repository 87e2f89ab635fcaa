/**
 * SharedInformers against the real API server: one informer per kind and
 * scope, listed and watched once however many ask, stopped together.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually } from "@ballast/dev/testkit";
import { createNamespaces, deleteNamespaces, uniqueName } from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../client/types.ts";
import { createLogger } from "../log/logger.ts";
import { recordListWatches } from "../watch/_testing.ts";
import { SharedInformers, SharedInformersStoppedError } from "./shared-informers.ts";
import { ownerIndex } from "./store.ts";

const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
const ns = uniqueName("shared-informers-test");
const otherNs = uniqueName("shared-informers-other");
const quiet = createLogger({ level: "silent" });
const patience = { timeoutMs: 20_000, intervalMs: 20 };
let client: KubeClient;

before(async () => {
  ({ client } = await createNamespaces([ns, otherNs], { rateLimit: false }));
  for (const [name, app] of [
    ["one", "a"],
    ["two", "b"],
  ] as const) {
    await client.create({ ...ConfigMap, metadata: { name, namespace: ns, labels: { app } } });
  }
});

after(async () => {
  await deleteNamespaces(client, [ns, otherNs]);
});

/** The names of `objects`, without the CA bundle every namespace gets. */
function names(objects: KubeObject[]): string[] {
  return objects
    .map((o) => o.metadata.name ?? "")
    .filter((name) => name !== "kube-root-ca.crt")
    .sort();
}

test("SharedInformers.informer() hands every asker of a kind and scope the same informer, listed and watched once", async () => {
  const recorder = recordListWatches(`/api/v1/namespaces/${ns}/configmaps`);
  const informers = new SharedInformers(client, { logger: quiet });
  try {
    const first = informers.informer(ConfigMap, { namespace: ns });
    const again = informers.informer({ ...ConfigMap }, { namespace: ns, labelSelector: "" });
    const selected = informers.informer(ConfigMap, { namespace: ns, labelSelector: "app=a" });
    const elsewhere = informers.informer(ConfigMap, { namespace: otherNs });
    assert.equal(again, first, "same kind and scope: the same informer");
    assert.notEqual(selected, first, "another label selector is another scope");
    assert.notEqual(elsewhere, first, "another namespace is another scope");
    assert.equal(informers.size, 3);

    await Promise.all(
      [first, selected, elsewhere].map((i) => i.waitForSync(AbortSignal.timeout(20_000))),
    );
    assert.deepEqual(names(again.list()), ["one", "two"]);
    assert.deepEqual(names(selected.list()), ["one"]);
    assert.deepEqual(names(elsewhere.list()), []);

    const unselected = () => recorder.requests.filter((r) => r.labelSelector === "");
    await eventually(
      "the watch to open",
      () => unselected().some((r) => r.verb === "watch") || undefined,
      patience,
    );
    await sleep(300);
    assert.deepEqual(
      unselected().map((r) => r.verb),
      ["list", "watch"],
      "two askers, one list and one watch",
    );
  } finally {
    recorder.stop();
    await informers.stop();
  }
});

test("addIndexer() on a shared informer is idempotent by name: the first definition stays", async () => {
  const informers = new SharedInformers(client, { logger: quiet });
  try {
    const informer = informers.informer(ConfigMap, { namespace: ns });
    await informer.waitForSync(AbortSignal.timeout(20_000));
    const byApp = (o: KubeObject) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []);
    assert.equal(informer.addIndexer("app", byApp), true, "the first asker adds it");
    assert.equal(
      informers.informer(ConfigMap, { namespace: ns }).addIndexer("app", () => ["other"]),
      false,
      "a second asker finds it there",
    );
    assert.deepEqual(names(informer.byIndex("app", "a")), ["one"]);
    assert.deepEqual(names(informer.byIndex("app", "other")), []);
    assert.equal(
      informer.addIndexer(ownerIndex, () => []),
      false,
      "built-in indexes stay too",
    );
  } finally {
    await informers.stop();
  }
});

test("stop() stops every informer, settles done(), and leaves a set that starts no informer", async () => {
  const informers = new SharedInformers(client, { logger: quiet });
  const live = informers.informer(ConfigMap, { namespace: ns });
  const elsewhere = informers.informer(ConfigMap, { namespace: otherNs });
  await live.waitForSync(AbortSignal.timeout(20_000));
  await informers.stop();
  await Promise.all([informers.done(live), informers.done(elsewhere)]);
  assert.throws(
    () => informers.informer(ConfigMap, { namespace: ns }),
    SharedInformersStoppedError,
  );
});
