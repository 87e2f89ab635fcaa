/**
 * The test kit never leaves a cluster behind: not when the test process ends
 * normally, not on SIGINT, and not even on SIGKILL, when no handler can run.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { type ClusterState, isRunning } from "@ballast/dev";

interface Held {
  dir: string;
  processes: ClusterState["processes"];
}

async function holdCluster(): Promise<{ child: ReturnType<typeof spawn>; held: Held }> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "fixtures", "hold-cluster.ts")],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (line.startsWith("{")) return { child, held: JSON.parse(line) as Held };
  }
  throw new Error("the fixture exited before its cluster was up");
}

async function allGone(processes: Held["processes"], timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processes.some(isRunning)) return [];
    await new Promise((r) => setTimeout(r, 100));
  }
  return processes.filter(isRunning).map((p) => `${p.name} (pid ${p.pid})`);
}

test("a SIGKILLed test process takes its cluster's processes with it", async () => {
  const { child, held } = await holdCluster();
  assert.equal(held.processes.length, 4);
  assert.ok(held.processes.every(isRunning), "the cluster must be running before the kill");
  child.kill("SIGKILL");
  assert.deepEqual(await allGone(held.processes), [], "orphans survived SIGKILL");
  // No handler could run, so the data directory is the one thing left.
  rmSync(held.dir, { recursive: true, force: true });
});

test("SIGINT stops the cluster and removes its data directory", async () => {
  const { child, held } = await holdCluster();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.kill("SIGINT");
  assert.equal(await exited, 130);
  assert.deepEqual(await allGone(held.processes), [], "orphans survived SIGINT");
  assert.equal(existsSync(held.dir), false, "the data directory must be removed");
});
