/**
 * The runtime must not load undici (and http2, worker_threads, web streams
 * with it): ~11 MiB of RSS in every operator process. See _http.ts.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const undici = "NativeModule internal/deps/undici/undici";

/** The built-in modules a fresh Node process has loaded after running `source`. */
async function modulesLoadedBy(source: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [
    "--input-type=module",
    "--eval",
    `${source}\nprocess.stdout.write(JSON.stringify(process.moduleLoadList));`,
  ]);
  return JSON.parse(stdout) as string[];
}

test("importing the runtime loads no undici", async () => {
  const index = new URL("./index.ts", import.meta.url).href;
  const loaded = await modulesLoadedBy(`await import(${JSON.stringify(index)});`);
  assert.ok(loaded.includes("NativeModule https"), "the runtime loads node:https");
  assert.ok(!loaded.includes(undici), "the runtime loaded undici");
});

test("control: a named import from node:http does load undici (why _http.ts exists)", async () => {
  // If this starts failing, Node no longer reads node:http's lazy exports
  // for ES imports, and _http.ts can go back to plain imports.
  const loaded = await modulesLoadedBy(`import { Agent } from "node:http"; void Agent;`);
  assert.ok(loaded.includes(undici));
});
