import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseTraceLine, readTrace } from "./trace.ts";

/** Trace line → `group|resource|verb|name` as the authorizer sees it. */
function checks(cases: [line: string, check: string | undefined][]): void {
  for (const [line, expected] of cases) {
    const a = parseTraceLine(line);
    const got = a && [a.group, a.resource, a.verb, a.name ?? ""].join("|");
    assert.equal(got, expected, line);
  }
}

test("parseTraceLine() derives the verb from the method, the name and ?watch", () => {
  checks([
    ["GET /api/v1/namespaces/ns/pods 200", "|pods|list|"],
    ["GET /api/v1/namespaces/ns/pods?watch=true&resourceVersion=5 200", "|pods|watch|"],
    ["GET /api/v1/pods?watch=1 200", "|pods|watch|"],
    [
      "GET /apis/ballast.dev/v1alpha1/namespaces/ns/kafkaclusters/a 200",
      "ballast.dev|kafkaclusters|get|a",
    ],
    ["POST /api/v1/namespaces/ns/pods 201", "|pods|create|"],
    [
      "PUT /apis/coordination.k8s.io/v1/namespaces/ns/leases/l 200",
      "coordination.k8s.io|leases|update|l",
    ],
    ["DELETE /api/v1/namespaces/ns/pods/p 200", "|pods|delete|p"],
    ["DELETE /api/v1/namespaces/ns/pods 200", "|pods|deletecollection|"],
  ]);
});

test("parseTraceLine() names subresources resource/subresource", () => {
  checks([
    ["PATCH /api/v1/namespaces/ns/pods/p/status?fieldManager=x 200", "|pods/status|patch|p"],
    [
      "PUT /apis/ballast.dev/v1alpha1/namespaces/ns/kafkaclusters/a/finalizers 200",
      "ballast.dev|kafkaclusters/finalizers|update|a",
    ],
  ]);
});

test("parseTraceLine() reads a cluster-scoped object and a Namespace itself", () => {
  checks([
    [
      "PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/kafkaclusters.ballast.dev 201",
      "apiextensions.k8s.io|customresourcedefinitions|patch|kafkaclusters.ballast.dev",
    ],
    ["GET /api/v1/namespaces/ns 200", "|namespaces|get|ns"],
    ["GET /api/v1/namespaces 200", "|namespaces|list|"],
    ["PUT /api/v1/namespaces/ns/finalize 200", "|namespaces/finalize|update|ns"],
  ]);
});

test("parseTraceLine() takes a list's name from a metadata.name field selector, as the authorizer does", () => {
  checks([
    [
      "GET /api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name%3Dcfg&watch=1 200",
      "|configmaps|watch|cfg",
    ],
    [
      "GET /api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name%3Dcfg%2Cx%3Dy 200",
      "|configmaps|list|",
    ],
  ]);
});

test("parseTraceLine() ignores non-resource URLs", () => {
  checks([
    ["GET /version 200", undefined],
    ["GET /api/v1 200", undefined],
    ["GET /apis 200", undefined],
    ["GET /apis/ballast.dev/v1alpha1 200", undefined],
  ]);
});

test("readTrace() reads every line with its status, and no file as no requests", () => {
  const dir = mkdtempSync(join(tmpdir(), "trace-"));
  try {
    assert.deepEqual(readTrace(join(dir, "missing.log")), []);
    const file = join(dir, "t.log");
    writeFileSync(file, "GET /version 200\nPOST /api/v1/namespaces/ns/pods 403\n");
    const [only, ...rest] = readTrace(file);
    assert.deepEqual(rest, []);
    assert.equal(only?.status, 403);
    assert.equal(only?.line, "POST /api/v1/namespaces/ns/pods 403");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
