/**
 * The real port against real Valkey: every test of admin.test.ts, run again
 * with Valkey 8.0.1 (Debian bookworm-backports, unpacked into the build cache
 * by the set-up) as its `redis-server`. That file starts members as
 * `redis-server …` and sentinels as `redis-server <file> --sentinel`; here
 * the name is a link to valkey-server, as in the official valkey image (its
 * `make install` links every redis-* name), which is what the operator's
 * start scripts will find in a `valkey` image. So one file says what the
 * port needs, and both servers answer it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, test } from "node:test";
import { checkSystemPackages } from "@ballast/dev";
import { eventually, freePort } from "@ballast/dev/testkit";
import { Redis } from "ioredis";

const valkeyServer = checkSystemPackages().find((c) => c.package === "valkey-server");
if (!valkeyServer?.found) {
  throw new Error(
    `Valkey is not unpacked at ${valkeyServer?.check ?? "the build cache"}: run \`bash dev/toolchain/backports.sh\` (npm test's set-up does)`,
  );
}
const bin = mkdtempSync(join(tmpdir(), "valkey-as-redis-"));
symlinkSync(valkeyServer.found, join(bin, "redis-server"));
// Before admin.test.ts spawns anything: it finds `redis-server` on PATH.
process.env.PATH = `${bin}${delimiter}${process.env.PATH ?? ""}`;
after(() => rmSync(bin, { recursive: true, force: true }));

test("the redis-server these tests start is Valkey 8.0.1, whose INFO also says redis_version 7.2.4", async () => {
  const version = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  assert.match(version.stdout, /^Valkey server v=8\.0\.1 /);

  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "valkey-info-"));
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
    { stdio: "ignore" },
  );
  const c = new Redis({ host: "127.0.0.1", port, lazyConnect: true, retryStrategy: () => null });
  c.on("error", () => {});
  try {
    const info = await eventually(
      "valkey-server answering INFO",
      async () => {
        try {
          if (c.status !== "ready") await c.connect();
          return await c.info("server");
        } catch {
          c.disconnect();
          return undefined;
        }
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    // Clients that gate features on redis_version see 7.2.4; the real version is beside it.
    assert.match(info, /^redis_version:7\.2\.4\r?$/m);
    assert.match(info, /^valkey_version:8\.0\.1\r?$/m);
    assert.match(info, /^server_name:valkey\r?$/m);
  } finally {
    c.disconnect();
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

await import("./admin.test.ts");
