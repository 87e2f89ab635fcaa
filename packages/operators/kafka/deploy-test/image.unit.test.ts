/**
 * The Dockerfile cannot be built here (no container engine), so what it
 * relies on is checked instead: it runs the file scripts/build.ts writes,
 * with the Node flags the benchmarks measured (OPERATOR_NODE_FLAGS), and it
 * copies files the build really produces.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { bundle, OPERATOR_NODE_FLAGS, operators } from "../../../../scripts/build.ts";
import { repoRoot, scratchDir } from "./_chart.ts";

const dockerfile = readFileSync(join(repoRoot, "deploy/docker/Dockerfile"), "utf8");

test("the image's entry point runs the operator bundle with OPERATOR_NODE_FLAGS", () => {
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.ok(line, "the Dockerfile has an exec-form ENTRYPOINT");
  assert.deepEqual(JSON.parse(line), ["node", ...OPERATOR_NODE_FLAGS, "operator.mjs"]);
});

test("the image copies the files scripts/build.ts writes, under the one name it runs", async () => {
  const out = scratchDir();
  await bundle(operators["kafka-operator"], join(out, "kafka-operator.mjs"));
  const copy = /^COPY --from=build (.+) \.\/$/m.exec(dockerfile)?.[1];
  assert.ok(copy, "the Dockerfile copies the bundle from the build stage");
  const files = copy.split(/\s+/).map((path) => path.replace(/^\/dist\//, ""));
  assert.deepEqual(files, ["operator.mjs", "operator.mjs.licenses.txt"]);
  // The build stage renames what scripts/build.ts writes for $OPERATOR to those names.
  for (const file of [`\${OPERATOR}-operator.mjs`, `\${OPERATOR}-operator.mjs.licenses.txt`])
    assert.ok(dockerfile.includes(`mv "/dist/${file}"`), `the build stage renames ${file}`);
  for (const file of ["kafka-operator.mjs", "kafka-operator.mjs.licenses.txt"])
    assert.ok(existsSync(join(out, file)), `the build wrote ${file}`);
  const licenses = readFileSync(join(out, "kafka-operator.mjs.licenses.txt"), "utf8");
  // Every bundled package is listed: e.g. the Kafka client and the metrics library.
  assert.match(licenses, /^@platformatic\/kafka@\S+ \(Apache-2\.0\)$/m);
  assert.match(licenses, /^prom-client@\S+ \(Apache-2\.0\)$/m);
});

test("every operator the registry lists is copied into the image's build stage", () => {
  for (const name of Object.keys(operators).map((n) => n.replace(/-operator$/, ""))) {
    assert.ok(
      dockerfile.includes(`COPY packages/operators/${name}/src packages/operators/${name}/src`),
      `the Dockerfile copies ${name}'s sources`,
    );
  }
});
