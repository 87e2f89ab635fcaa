import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleResource } from "./_sample.ts";
import { CrdInstallError } from "./errors.ts";
import { installCrds, notReady } from "./install.ts";
import type { CustomResourceDefinition, CustomResourceDefinitionCondition } from "./types.ts";

const Cache = sampleResource("example.ballast.dev", "cacheclusters", "cc");

function withStatus(
  crd: CustomResourceDefinition,
  conditions: CustomResourceDefinitionCondition[],
  accepted = crd.spec.names,
): CustomResourceDefinition {
  return { ...crd, status: { conditions, acceptedNames: structuredClone(accepted) } };
}

const ready: CustomResourceDefinitionCondition[] = [
  { type: "NamesAccepted", status: "True", reason: "NoConflicts" },
  { type: "Established", status: "True", reason: "InitialNamesAccepted" },
];

/** A fake API: `apply` records, `get` answers the next of `answers` (the last one repeats). */
function fakeApi(answers: (CustomResourceDefinition | undefined | Error)[]) {
  const applied: CustomResourceDefinition[] = [];
  let reads = 0;
  return {
    applied,
    reads: () => reads,
    apply: async (crd: CustomResourceDefinition) => {
      applied.push(crd);
    },
    get: async (_name: string) => {
      const answer = answers[Math.min(reads++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

test("installCrds() applies each CRD and returns once it is Established with its names", async () => {
  const crd = Cache.crd();
  const api = fakeApi([
    undefined,
    withStatus(crd, [{ type: "Established", status: "False", reason: "Installing" }]),
    new Error("connection reset"),
    withStatus(crd, ready),
  ]);
  await installCrds([Cache], { ...api, timeoutMs: 5000 });
  assert.equal(api.applied.length, 1);
  assert.deepEqual(api.applied[0], crd);
  assert.equal(api.reads(), 4);
});

test("installCrds() fails on timeout with the CRD's condition messages", async () => {
  const crd = Cache.crd();
  const conflict = withStatus(crd, [
    {
      type: "NamesAccepted",
      status: "False",
      reason: "ShortNamesConflict",
      message: '"cc" is already in use',
    },
    { type: "Established", status: "False", reason: "NotAccepted" },
  ]);
  const api = fakeApi([conflict]);
  await assert.rejects(installCrds([crd], { ...api, timeoutMs: 200 }), (error: unknown) => {
    assert.ok(error instanceof CrdInstallError);
    assert.equal(error.name, "CrdInstallError");
    assert.equal(error.crd, "cacheclusters.example.ballast.dev");
    assert.match(
      error.message,
      /CRD cacheclusters\.example\.ballast\.dev was not ready after 0\.2s/,
    );
    assert.match(
      error.message,
      /NamesAccepted=False \(ShortNamesConflict: "cc" is already in use\)/,
    );
    return true;
  });
});

test("installCrds() waits for an upgrade's new names, not just the old True conditions", async () => {
  const crd = Cache.crd();
  const old = { ...crd.spec.names, shortNames: [] };
  const api = fakeApi([withStatus(crd, ready, old)]);
  await assert.rejects(
    installCrds([crd], { ...api, timeoutMs: 150 }),
    /accepted names differ: shortNames \[\] \(want \[cc\]\)/,
  );
});

test("installCrds() reports a CRD the API server refuses, keeping the cause", async () => {
  const refusal = new Error("spec.validation.openAPIV3Schema: must be structural");
  await assert.rejects(
    installCrds([Cache], {
      apply: async () => {
        throw refusal;
      },
      get: async () => undefined,
    }),
    (error: unknown) =>
      error instanceof CrdInstallError &&
      error.cause === refusal &&
      /applying CRD cacheclusters\.example\.ballast\.dev failed: .*must be structural/.test(
        error.message,
      ),
  );
});

test("installCrds() stops waiting when its signal aborts", async () => {
  const api = fakeApi([undefined]);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(
    installCrds([Cache], { ...api, timeoutMs: 60_000, signal: controller.signal }),
    /waiting for CRD cacheclusters\.example\.ballast\.dev was aborted/,
  );
});

test("notReady() is undefined only when both conditions hold and the names match", () => {
  const crd = Cache.crd();
  assert.equal(notReady(crd, withStatus(crd, ready)), undefined);
  assert.match(notReady(crd, undefined) ?? "", /does not exist/);
  assert.match(
    notReady(crd, withStatus(crd, [ready[0] as CustomResourceDefinitionCondition])) ?? "",
    /^Established=\(not reported\)$/,
  );
  const renamed = { ...crd.spec.names, kind: "Other" };
  assert.match(
    notReady(crd, withStatus(crd, ready, renamed)) ?? "",
    /kind "Other" \(want "CacheCluster"\)/,
  );
});
