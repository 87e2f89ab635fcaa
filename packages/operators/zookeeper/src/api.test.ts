/**
 * What the API server itself refuses of a ZooKeeperEnsemble, on the real
 * API server with the operator's CRD installed (server-side dry run:
 * nothing is stored, no operator is needed). Each refusal names the field
 * and what to do.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { type Admission, admission } from "@ballast/e2e-kit";
import { crds } from "./operator.ts";

const ns = "zookeeper-api-admission";
let api: Admission;

before(async () => {
  api = await admission(ns, crds);
});

function ensemble(spec: Record<string, unknown> = {}, name = "zk") {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "ZooKeeperEnsemble",
    metadata: { name, namespace: ns },
    spec: { version: "3.9.5", replicas: 3, storage: { size: "1Gi" }, ...spec },
  };
}

const dryRunCreate = (object: unknown) => api.dryRun("create", object);

async function refused(spec: Record<string, unknown>, message: RegExp): Promise<void> {
  const result = await dryRunCreate(ensemble(spec));
  assert.notEqual(result.code, 0, `accepted: ${JSON.stringify(spec)}`);
  assert.match(result.stderr, message);
}

test("a valid ensemble is accepted (the refusals below are about their field)", async () => {
  const result = await dryRunCreate(ensemble({ config: { tickTime: 2000, maxClientCnxns: 100 } }));
  assert.equal(result.code, 0, result.stderr);
});

test("an even or zero replicas is refused, naming the counts allowed", async () => {
  for (const replicas of [0, 2, 4, 9])
    await refused(
      { replicas },
      /spec\.replicas: Unsupported value: \d+: supported values: "1", "3", "5", "7"/,
    );
});

test("a zoo.cfg key the operator owns is refused, the superuser's included", async () => {
  for (const key of [
    "skipACL",
    "DigestAuthenticationProvider.superDigest",
    "dataDir",
    "reconfigEnabled",
  ])
    await refused(
      { config: { [key]: "x" } },
      /spec\.config sets a key the operator owns; remove it \(owned: .*skipACL/,
    );
  await refused(
    { config: { "server.9": "h:2888:3888" } },
    /spec\.config cannot set server\.N, group\.N or weight\.N: membership is the operator's, changed through spec\.replicas/,
  );
});

test("a version without dynamic reconfiguration or not a release number is refused", async () => {
  for (const version of ["3.4.14", "3.7.2", "latest", "3.9"])
    await refused({ version }, /spec\.version in body should match/);
});

test("a malformed heap or storage size is refused", async () => {
  await refused({ jvm: { heap: "256 MB" } }, /spec\.jvm\.heap in body should match/);
  await refused({ storage: { size: "lots" } }, /spec\.storage\.size/);
});
