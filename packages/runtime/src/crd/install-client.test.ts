/**
 * installCrds(client, crds) against the real API server: the KubeClient
 * form, which applies under the client's field manager with force.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestCluster } from "@ballast/dev/testkit";
import Type from "typebox";
import { createNamespaces, deleteNamespaces } from "../_test-support.ts";
import { KubeClient } from "../client/client.ts";
import { ignoreNotFound } from "../client/errors.ts";
import type { KubeObject } from "../client/types.ts";
import { defineResource } from "./define.ts";
import { installCrds } from "./install.ts";
import type { CustomResourceDefinition } from "./types.ts";

const group = "install-client-test.ballast.dev";
const suffix = String(process.pid);
const namespace = `crd-install-client-${suffix}`;
const CRD = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" };

let cluster: TestCluster;
let client: KubeClient;
let other: KubeClient;

function widget(version: 1 | 2) {
  return defineResource({
    group,
    version: "v1",
    kind: "Widget",
    plural: `widgets${suffix}`,
    scope: "Namespaced",
    description: "A widget to install and upgrade.",
    spec: Type.Object({
      size: Type.Integer({ minimum: 1 }),
      ...(version === 2 ? { color: Type.Optional(Type.String({ maxLength: 16 })) } : {}),
    }),
    printerColumns: [
      { name: "Size", type: "integer", jsonPath: ".spec.size" },
      ...(version === 2
        ? [{ name: "Color", type: "string" as const, jsonPath: ".spec.color" }]
        : []),
    ],
  });
}

before(async () => {
  ({ cluster, client } = await createNamespaces([namespace], { fieldManager: "installer" }));
  other = await KubeClient.fromKubeconfig(cluster.kubeconfig, {
    fieldManager: "earlier-installer",
  });
});

after(async () => {
  await client.delete(CRD, { name: widget(1).crdName }).catch(ignoreNotFound);
  await deleteNamespaces(client, [namespace]);
  other.close();
});

test("installCrds(client) creates a CRD, then upgrades one another manager applied, forcing its fields", async () => {
  const v1 = widget(1);
  // Installed first by a different field manager, so the upgrade below
  // changes fields someone else owns: without force it would be a 409.
  await installCrds(other, [v1], { timeoutMs: 30_000 });
  const created = await client.get<CustomResourceDefinition>(CRD, { name: v1.crdName });
  const established = created.status?.conditions?.find((c) => c.type === "Established");
  assert.equal(established?.status, "True");
  await client.create({
    apiVersion: v1.apiVersion,
    kind: v1.kind,
    metadata: { name: "a", namespace },
    spec: { size: 1 },
  });

  const v2 = widget(2);
  await installCrds(client, [v2], { timeoutMs: 30_000 });
  const upgraded = await client.get<CustomResourceDefinition & KubeObject>(CRD, {
    name: v2.crdName,
  });
  assert.equal(upgraded.status?.conditions?.find((c) => c.type === "Established")?.status, "True");
  const served = upgraded.spec.versions[0];
  assert.deepEqual(
    served?.additionalPrinterColumns?.map((c) => c.name),
    ["Size", "Color", "Age"],
  );
  assert.ok(served?.schema.openAPIV3Schema.properties?.spec?.properties?.color);
  const mine = upgraded.metadata.managedFields?.find((m) => m.manager === "installer");
  assert.equal(mine?.operation, "Apply", JSON.stringify(upgraded.metadata.managedFields));

  // The new column and field are in use a moment after the CRD is accepted
  // (nothing in its status says when), so this polls: kubectl's table comes
  // from the API server's printer columns, and the new field is kept, not pruned.
  const deadline = Date.now() + 10_000;
  for (let i = 0; ; i++) {
    const made = await client.create({
      apiVersion: v2.apiVersion,
      kind: v2.kind,
      metadata: { name: `b${i}`, namespace },
      spec: { size: 2, color: "teal" },
    });
    const table = await cluster.kubectl("get", v2.plural, "-n", namespace, `b${i}`);
    assert.equal(table.code, 0, table.stderr);
    if (made.spec.color === "teal" && /COLOR/.test(table.stdout)) {
      assert.match(table.stdout, /^b\d+\s+2\s+teal\s+/m);
      break;
    }
    assert.ok(Date.now() < deadline, `the upgrade never took effect:\n${table.stdout}`);
    await sleep(100);
  }
});
