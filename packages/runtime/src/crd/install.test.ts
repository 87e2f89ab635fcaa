/**
 * installCrds() against the real API server, with `apply` and `get` built on
 * the test kit's bare `api()` (server-side apply is a PATCH with the
 * apply-patch content type).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { TestCluster } from "@ballast/dev/testkit";
import Type from "typebox";
import { createNamespaces, deleteNamespaces } from "../_test-support.ts";
import type { KubeClient } from "../client/client.ts";
import { defineResource } from "./define.ts";
import { CrdInstallError } from "./errors.ts";
import { type InstallCrdsOptions, installCrds } from "./install.ts";
import type { CustomResourceDefinition } from "./types.ts";

const group = "install-test.ballast.dev";
const suffix = String(process.pid);
const namespace = `crd-install-${suffix}`;
const crdsPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const created = new Set<string>();

let cluster: TestCluster;
let client: KubeClient;

function api(): Pick<InstallCrdsOptions, "apply" | "get"> {
  return {
    apply: async (crd) => {
      created.add(crd.metadata.name);
      const { status, body } = await cluster.api<{ message?: string }>(
        `${crdsPath}/${crd.metadata.name}?fieldManager=ballast&force=true`,
        { method: "PATCH", body: crd, contentType: "application/apply-patch+yaml" },
      );
      if (status >= 300) throw new Error(`HTTP ${status}: ${body.message ?? JSON.stringify(body)}`);
    },
    get: async (name) => {
      const { status, body } = await cluster.api<CustomResourceDefinition>(`${crdsPath}/${name}`);
      if (status === 404) return undefined;
      if (status !== 200) throw new Error(`HTTP ${status}: ${JSON.stringify(body)}`);
      return body;
    },
  };
}

function thing(options: { shortNames: string[]; withColor: boolean; plural?: string }) {
  return defineResource({
    group,
    version: "v1",
    kind: options.plural ? "OtherThing" : "Thing",
    plural: options.plural ?? `things${suffix}`,
    shortNames: options.shortNames,
    scope: "Namespaced",
    description: "A thing to install.",
    spec: Type.Object({
      size: Type.Integer({ minimum: 1 }),
      ...(options.withColor ? { color: Type.Optional(Type.String({ maxLength: 16 })) } : {}),
    }),
  });
}

before(async () => {
  ({ cluster, client } = await createNamespaces([namespace]));
});

after(async () => {
  await deleteNamespaces(client, [namespace]);
  for (const name of created) await cluster.api(`${crdsPath}/${name}`, { method: "DELETE" });
});

test("installCrds() creates a CRD, then upgrades it; on return its resources and new names work", async () => {
  const v1 = thing({ shortNames: [`th${suffix}`], withColor: false });
  await installCrds([v1], { ...api(), timeoutMs: 30_000 });
  const path = `/apis/${group}/v1/namespaces/${namespace}/${v1.plural}`;
  const first = await cluster.api(path, {
    method: "POST",
    body: { apiVersion: v1.apiVersion, kind: v1.kind, metadata: { name: "a" }, spec: { size: 1 } },
  });
  assert.equal(first.status, 201, JSON.stringify(first.body));

  const v2 = thing({ shortNames: [`th${suffix}`, `tg${suffix}`], withColor: true });
  await installCrds([v2], { ...api(), timeoutMs: 30_000 });
  const { body } = await cluster.api<CustomResourceDefinition>(`${crdsPath}/${v2.crdName}`);
  assert.deepEqual(body.status?.acceptedNames?.shortNames?.sort(), [`tg${suffix}`, `th${suffix}`]);
  const get = await cluster.kubectl("get", `tg${suffix}`, "-n", namespace, "-o", "name");
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /\/a$/m);
  // The API server swaps in an upgraded schema a moment after it accepts the
  // CRD, with nothing in the status to wait for; until then the new field
  // would be pruned. So this part polls.
  const deadline = Date.now() + 10_000;
  for (let i = 0; ; i++) {
    const second = await cluster.api<{ spec: { color?: string } }>(path, {
      method: "POST",
      body: {
        apiVersion: v2.apiVersion,
        kind: v2.kind,
        metadata: { name: `b${i}` },
        spec: { size: 2, color: "teal" },
      },
    });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    if (second.body.spec.color === "teal") break;
    assert.ok(Date.now() < deadline, "the upgraded schema never took effect");
    await new Promise((r) => setTimeout(r, 100));
  }
});

test("installCrds() times out with the API server's reason when names conflict", async () => {
  const taken = thing({ shortNames: [`tk${suffix}`], withColor: false, plural: `takens${suffix}` });
  await installCrds([taken], { ...api(), timeoutMs: 30_000 });
  const clash = defineResource({
    group,
    version: "v1",
    kind: "Clash",
    plural: `clashes${suffix}`,
    shortNames: [`tk${suffix}`],
    scope: "Namespaced",
    description: "Takes a short name already in use.",
    spec: Type.Object({}),
  });
  await assert.rejects(installCrds([clash], { ...api(), timeoutMs: 3000 }), (error: unknown) => {
    assert.ok(error instanceof CrdInstallError, String(error));
    assert.equal(error.crd, clash.crdName);
    assert.match(error.message, /was not ready after 3s/);
    assert.match(error.message, /NamesAccepted=False \(ShortNamesConflict: .*tk\d+.*\)/);
    return true;
  });
});

test("installCrds() reports the API server's refusal of a non-structural schema", async () => {
  const bad = thing({ shortNames: [], withColor: false, plural: `bads${suffix}` }).crd();
  const root = bad.spec.versions[0]?.schema.openAPIV3Schema;
  assert.ok(root?.properties?.spec);
  delete root.properties.spec.type;
  await assert.rejects(installCrds([bad], { ...api(), timeoutMs: 5000 }), (error: unknown) => {
    assert.ok(error instanceof CrdInstallError, String(error));
    assert.match(
      error.message,
      new RegExp(`applying CRD bads${suffix}\\.${group} failed: HTTP 422`),
    );
    assert.match(error.message, /properties\[spec\]\.type: Required value/);
    return true;
  });
});
