import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, type TestCluster } from "@ballast/dev/testkit";
import {
  createNamespaces,
  deleteNamespaces,
  serviceAccountClient,
  uniqueName,
} from "../_test-support.ts";
import type { KubeClient } from "./client.ts";
import {
  ignoreNotFound,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isInvalid,
  isNotFound,
  KubeApiError,
  NoKindMatchError,
} from "./errors.ts";
import type { KubeObject } from "./types.ts";

const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
type ConfigMapObject = KubeObject & { data?: Record<string, string> };

const ns = uniqueName("client-test");
const group = `${uniqueName("t")}.ballast.test`;
const Widget = { apiVersion: `${group}/v1`, kind: "Widget" } as const;
type WidgetObject = KubeObject & {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

let cluster: TestCluster;
let client: KubeClient;

before(async () => {
  ({ cluster, client } = await createNamespaces([ns], { fieldManager: "ballast-test" }));
});

after(async () => {
  await client
    .delete(
      { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" },
      { name: `widgets.${group}` },
    )
    .catch(ignoreNotFound);
  await deleteNamespaces(client, [ns]);
});

function configMap(
  name: string,
  data: Record<string, string> = {},
  labels?: Record<string, string>,
): ConfigMapObject {
  return { ...ConfigMap, metadata: { name, namespace: ns, ...(labels ? { labels } : {}) }, data };
}

test("create, get, replace and delete round-trip a ConfigMap through the API server", async () => {
  const created = await client.create(configMap("roundtrip", { a: "1" }));
  assert.ok(created.metadata.uid);
  const read = await client.get<ConfigMapObject>(ConfigMap, { namespace: ns, name: "roundtrip" });
  assert.deepEqual(read.data, { a: "1" });
  read.data = { a: "2" };
  const replaced = await client.replace(read);
  assert.notEqual(replaced.metadata.resourceVersion, read.metadata.resourceVersion);
  assert.deepEqual(
    (await client.get<ConfigMapObject>(ConfigMap, { namespace: ns, name: "roundtrip" })).data,
    {
      a: "2",
    },
  );
  await client.delete(
    ConfigMap,
    { namespace: ns, name: "roundtrip" },
    { propagationPolicy: "Background" },
  );
  await assert.rejects(client.get(ConfigMap, { namespace: ns, name: "roundtrip" }), isNotFound);
});

test("get of a missing object throws a NotFound KubeApiError whose message names the object", async () => {
  const error = await client
    .get(ConfigMap, { namespace: ns, name: "nope" })
    .catch((e: unknown) => e);
  assert.ok(error instanceof KubeApiError);
  assert.equal(error.code, 404);
  assert.equal(error.reason, "NotFound");
  assert.ok(isNotFound(error));
  assert.match(error.message, new RegExp(`^ConfigMap ${ns}/nope: not found: `));
  assert.equal(
    await client.get(ConfigMap, { namespace: ns, name: "nope" }).catch(ignoreNotFound),
    undefined,
  );
});

test("replace with a stale resourceVersion is a 409 conflict naming the object", async () => {
  const first = await client.create(configMap("stale", { a: "1" }));
  await client.replace({ ...first, data: { a: "2" } });
  const error = await client.replace({ ...first, data: { a: "3" } }).catch((e: unknown) => e);
  assert.ok(isConflict(error), String(error));
  assert.match((error as Error).message, new RegExp(`^ConfigMap ${ns}/stale: conflict: `));
});

test("create of an existing name is AlreadyExists (and a conflict)", async () => {
  await client.create(configMap("twice"));
  const error = await client.create(configMap("twice")).catch((e: unknown) => e);
  assert.ok(isAlreadyExists(error));
  assert.ok(isConflict(error));
  assert.match((error as Error).message, /already exists/);
});

test("an invalid object is a 422 whose causes name the bad field", async () => {
  const error = await client.create(configMap("Not_A_Valid_Name")).catch((e: unknown) => e);
  assert.ok(isInvalid(error), String(error));
  assert.ok(error instanceof KubeApiError);
  assert.ok(
    error.causes.some((c) => c.field === "metadata.name"),
    JSON.stringify(error.causes),
  );
  assert.match(error.message, /ConfigMap .*Not_A_Valid_Name: invalid: /);
});

test("delete with a uid precondition that does not match is refused with a conflict", async () => {
  await client.create(configMap("guarded"));
  const error = await client
    .delete(
      ConfigMap,
      { namespace: ns, name: "guarded" },
      { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } },
    )
    .catch((e: unknown) => e);
  assert.ok(isConflict(error), String(error));
  assert.ok(await client.get(ConfigMap, { namespace: ns, name: "guarded" }));
});

test("apply records each manager's fields and refuses to take another's field without force", async () => {
  const mine = await client.apply<ConfigMapObject>({
    ...ConfigMap,
    metadata: { name: "ssa", namespace: ns },
    data: { a: "1" },
  });
  assert.deepEqual(mine.data, { a: "1" });
  const managers = (mine.metadata.managedFields ?? []).map((m) => m.manager);
  assert.ok(managers.includes("ballast-test"), JSON.stringify(managers));

  const other = {
    ...ConfigMap,
    metadata: { name: "ssa", namespace: ns },
    data: { a: "2", b: "x" },
  };
  const error = await client
    .apply(other, { fieldManager: "someone-else" })
    .catch((e: unknown) => e);
  assert.ok(isConflict(error), String(error));
  assert.ok(error instanceof KubeApiError);
  assert.equal(error.reason, "Conflict");
  assert.ok(
    error.causes.some((c) => c.field === ".data.a"),
    JSON.stringify(error.causes),
  );

  const forced = await client.apply<ConfigMapObject>(other, {
    fieldManager: "someone-else",
    force: true,
  });
  assert.deepEqual(forced.data, { a: "2", b: "x" });
  const owner = (forced.metadata.managedFields ?? []).find((m) => m.manager === "someone-else");
  assert.ok(JSON.stringify(owner?.fieldsV1).includes('"f:a"'));
  // Having lost .data.a, our manager applying without it leaves it alone rather than deleting it.
  const again = await client.apply<ConfigMapObject>({
    ...ConfigMap,
    metadata: { name: "ssa", namespace: ns },
    data: {},
  });
  assert.deepEqual(again.data, { a: "2", b: "x" });
});

test("merge and JSON patches change the fields they name", async () => {
  await client.create(configMap("patched", { a: "1", b: "2" }));
  const merged = await client.patch<ConfigMapObject>(
    ConfigMap,
    { namespace: ns, name: "patched" },
    { data: { b: null, c: "3" } },
  );
  assert.deepEqual(merged.data, { a: "1", c: "3" });
  const json = await client.patch<ConfigMapObject>(
    ConfigMap,
    { namespace: ns, name: "patched" },
    [{ op: "replace", path: "/data/a", value: "9" }],
    { type: "json" },
  );
  assert.deepEqual(json.data, { a: "9", c: "3" });
});

test("list pages through limit and continue; listPages and listAll follow them", async () => {
  const labels = { page: "yes" };
  for (let i = 0; i < 5; i++) await client.create(configMap(`page-${i}`, {}, labels));
  const names: string[] = [];
  let next: string | undefined;
  let pages = 0;
  do {
    const page = await client.list<ConfigMapObject>(ConfigMap, {
      namespace: ns,
      labelSelector: "page=yes",
      limit: 2,
      continue: next,
    });
    pages += 1;
    for (const item of page.items) {
      assert.equal(item.kind, "ConfigMap");
      names.push(item.metadata.name ?? "");
    }
    next = page.metadata.continue;
  } while (next);
  assert.equal(pages, 3);
  assert.deepEqual(names.sort(), ["page-0", "page-1", "page-2", "page-3", "page-4"]);
  const all = await client.listAll(ConfigMap, {
    namespace: ns,
    labelSelector: "page=yes",
    limit: 2,
  });
  assert.equal(all.items.length, 5);
  assert.match(all.resourceVersion, /^\d+$/);
  // One page at a time, every page carrying the snapshot's resourceVersion.
  const sizes: number[] = [];
  const versions = new Set<string>();
  for await (const page of client.listPages(ConfigMap, {
    namespace: ns,
    labelSelector: "page=yes",
    limit: 2,
  })) {
    sizes.push(page.items.length);
    versions.add(page.resourceVersion);
  }
  assert.deepEqual(sizes, [2, 2, 1]);
  assert.equal(versions.size, 1);
});

test("label and field selectors narrow a list", async () => {
  await client.create(configMap("sel-a", {}, { team: "a" }));
  await client.create(configMap("sel-b", {}, { team: "b" }));
  const byLabel = await client.list(ConfigMap, { namespace: ns, labelSelector: "team=a" });
  assert.deepEqual(
    byLabel.items.map((i) => i.metadata.name),
    ["sel-a"],
  );
  const byField = await client.list(ConfigMap, {
    namespace: ns,
    fieldSelector: "metadata.name=sel-b",
  });
  assert.deepEqual(
    byField.items.map((i) => i.metadata.name),
    ["sel-b"],
  );
});

test("a ServiceAccount without permissions is forbidden, and the error names the object", async () => {
  const weak = await serviceAccountClient(cluster, ns, "nobody", 600);
  try {
    const error = await weak
      .get(ConfigMap, { namespace: ns, name: "guarded" })
      .catch((e: unknown) => e);
    assert.ok(isForbidden(error), String(error));
    assert.match((error as Error).message, new RegExp(`^ConfigMap ${ns}/guarded: forbidden: `));
  } finally {
    weak.close();
  }
});

test("a kind installed by a CRD at runtime is found by rediscovery, and its status is a subresource", async () => {
  // Resolve a kind of the group before it exists, so the cached discovery must be refreshed later.
  await assert.rejects(client.path(Widget), NoKindMatchError);
  await client.create({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  } as KubeObject);
  const path = await eventually(
    "rediscovery to find Widget",
    async () => {
      try {
        return await client.path(Widget, { namespace: ns });
      } catch (error) {
        if (error instanceof NoKindMatchError) return undefined;
        throw error;
      }
    },
    { timeoutMs: 30_000 },
  );
  assert.equal(path, `/apis/${group}/v1/namespaces/${ns}/widgets`);

  const widget = await eventually(
    "the Widget resource to be served",
    () =>
      client
        .create<WidgetObject>({
          ...Widget,
          metadata: { name: "w1", namespace: ns },
          spec: { size: 1 },
          status: { phase: "ignored" },
        })
        .catch((error: unknown) => (isNotFound(error) ? undefined : Promise.reject(error))),
    { timeoutMs: 30_000 },
  );
  // The main resource ignores status: only the subresource writes it.
  assert.equal(widget.status, undefined);
  const applied = await client.applyStatus<WidgetObject>({
    ...Widget,
    metadata: { name: "w1", namespace: ns },
    spec: { size: 99 },
    status: { phase: "Ready" },
  });
  assert.deepEqual(applied.status, { phase: "Ready" });
  assert.deepEqual(applied.spec, { size: 1 });
  const patched = await client.patchStatus<WidgetObject>(
    Widget,
    { namespace: ns, name: "w1" },
    { status: { replicas: 3 } },
  );
  assert.deepEqual(patched.status, { phase: "Ready", replicas: 3 });
  const replaced = await client.replaceStatus<WidgetObject>({
    ...patched,
    status: { phase: "Done" },
  });
  assert.deepEqual(replaced.status, { phase: "Done" });
});

test("an unknown kind is a NoKindMatchError naming the kind", async () => {
  await assert.rejects(
    client.get({ apiVersion: "v1", kind: "Gizmo" }, { name: "x" }),
    /no resource for kind Gizmo in v1/,
  );
});
