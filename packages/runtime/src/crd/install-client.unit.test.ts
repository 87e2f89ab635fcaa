/**
 * installCrds(client, …) with a fake client: what it asks of the client, and
 * how a 404 from `get` is read.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ApplyOptions, ReadOptions } from "../client/client.ts";
import { KubeApiError } from "../client/errors.ts";
import type { ResourceType } from "../client/types.ts";
import { sampleResource } from "./_sample.ts";
import { CrdInstallError } from "./errors.ts";
import { type CrdClient, installCrds } from "./install.ts";
import type { CustomResourceDefinition } from "./types.ts";

const Cache = sampleResource("example.ballast.dev", "cacheclusters", "cc");

function fakeClient(read: (name: string) => CustomResourceDefinition | undefined) {
  const calls: { applied: [unknown, ApplyOptions][]; read: [ResourceType, string][] } = {
    applied: [],
    read: [],
  };
  const client = {
    apply: async (object: unknown, options: ApplyOptions = {}) => {
      calls.applied.push([object, options]);
      return object;
    },
    get: async (type: ResourceType, key: { name: string }, _options?: ReadOptions) => {
      calls.read.push([type, key.name]);
      const found = read(key.name);
      if (found) return found;
      throw new KubeApiError(
        { code: 404, reason: "NotFound", message: `${key.name} not found` },
        404,
        { kind: type.kind, name: key.name },
      );
    },
  } as unknown as CrdClient;
  return { client, calls };
}

test("installCrds(client) applies with force and reads the CRD back by name", async () => {
  const crd = Cache.crd();
  const { client, calls } = fakeClient(() => ({
    ...crd,
    status: {
      conditions: [
        { type: "NamesAccepted", status: "True" },
        { type: "Established", status: "True" },
      ],
      acceptedNames: structuredClone(crd.spec.names),
    },
  }));
  await installCrds(client, [Cache]);
  assert.equal(calls.applied.length, 1);
  assert.deepEqual(calls.applied[0]?.[0], crd);
  assert.equal(calls.applied[0]?.[1].force, true);
  assert.equal(calls.applied[0]?.[1].fieldManager, undefined, "the client's own field manager");
  assert.deepEqual(calls.read[0], [
    { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" },
    crd.metadata.name,
  ]);
});

test("installCrds(client) reads a 404 as a missing CRD and times out saying so", async () => {
  const { client } = fakeClient(() => undefined);
  await assert.rejects(installCrds(client, [Cache], { timeoutMs: 200 }), (error: unknown) => {
    assert.ok(error instanceof CrdInstallError, String(error));
    assert.match(error.message, /was not ready after 0\.2s: it does not exist/);
    return true;
  });
});
