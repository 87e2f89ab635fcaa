/**
 * The ACL port and the users' file on real servers: Debian's redis-server
 * 7.0.15 and Valkey 8.0.1 (unpacked into the build cache by the set-up),
 * each started with the operator's password. What applications then can
 * and cannot do as each user is asked of the server itself.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { checkSystemPackages } from "@ballast/dev";
import { eventually, freePort } from "@ballast/dev/testkit";
import { Redis } from "ioredis";
import { RedisAcl } from "./acl.ts";
import { type DesiredUser, usersFile } from "./plan.ts";

const operatorPassword = "operator-pw-0123";
const valkey = checkSystemPackages().find((c) => c.package === "valkey-server")?.found;
if (!valkey) throw new Error("Valkey is not unpacked: run `bash dev/toolchain/backports.sh`");
const servers: { engine: string; program: string }[] = [
  { engine: "redis 7.0", program: "redis-server" },
  { engine: "valkey 8.0", program: valkey },
];

const children: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A server started from a redis.conf holding `extra` (e.g. the users' file), as a pod's script does. */
async function start(program: string, extra = ""): Promise<number> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "redis-acl-"));
  dirs.push(dir);
  const conf = join(dir, "redis.conf");
  writeFileSync(
    conf,
    `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsave ""\nrequirepass ${operatorPassword}\n${extra}`,
  );
  const child = spawn(program, [conf], { stdio: "ignore" });
  children.push(child);
  await eventually(
    "server answers",
    async () =>
      (await as("default", operatorPassword, port, ["PING"])) === "PONG" ? true : undefined,
    { timeoutMs: 10_000, intervalMs: 100 },
  );
  return port;
}

/** Runs one command as `user`; the reply, or the error's message. */
async function as(user: string, password: string, port: number, command: string[]) {
  const c = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    retryStrategy: () => null,
  });
  c.on("error", () => {});
  try {
    await c.connect();
    await c.call("AUTH", [user, password]);
    const [name, ...args] = command;
    return String(await c.call(name ?? "PING", args));
  } catch (err) {
    return `ERR: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    c.disconnect();
  }
}

const app: DesiredUser = { name: "app", rules: "~app:* +@read +@write", password: "app-pw-9876" };
const reader: DesiredUser = { name: "reader", rules: "~* +@read", password: "reader-pw-5432" };

for (const { engine, program } of servers) {
  describe(`users on ${engine}`, () => {
    test("apply: each user can do what its rules grant and nothing else; a rule change takes away; a dropped user is deleted", async () => {
      const port = await start(program);
      const target = { address: { host: "127.0.0.1", port }, what: "member 0" };
      const acl = new RedisAcl(operatorPassword, [app, reader]);
      assert.equal(await acl.check(target, [app, reader]), undefined);
      await acl.apply(target, [app, reader], []);
      assert.equal(await as("app", app.password, port, ["SET", "app:1", "v"]), "OK");
      assert.match(await as("app", app.password, port, ["SET", "other:1", "v"]), /NOPERM/);
      assert.match(await as("app", "wrong", port, ["PING"]), /WRONGPASS/);
      assert.equal(await as("reader", reader.password, port, ["GET", "app:1"]), "v");
      assert.match(await as("reader", reader.password, port, ["SET", "app:2", "v"]), /NOPERM/);
      // Narrowed: reset first, so +@write is gone.
      const narrowed = { ...app, rules: "~app:* +@read" };
      await acl.apply(target, [narrowed], ["reader"]);
      assert.match(await as("app", app.password, port, ["SET", "app:1", "w"]), /NOPERM/);
      assert.equal(await as("app", app.password, port, ["GET", "app:1"]), "v");
      assert.match(await as("reader", reader.password, port, ["PING"]), /WRONGPASS|invalid/i);
      // The operator's own user is untouched.
      assert.equal(await as("default", operatorPassword, port, ["SET", "x", "1"]), "OK");
    });

    test("check: a rule the server refuses is named with its user and the server's reason; nothing is left behind", async () => {
      const port = await start(program);
      const target = { address: { host: "127.0.0.1", port }, what: "member 0" };
      const acl = new RedisAcl(operatorPassword, [app]);
      const bad = { name: "batch", rules: "~* +@nosuchcategory", password: "batch-pw-1111" };
      const refused = await acl.check(target, [app, bad]);
      assert.equal(refused?.user, "batch");
      assert.match(refused?.message ?? "", /nosuchcategory|Unknown|category/i);
      assert.doesNotMatch(refused?.message ?? "", /pw/);
      const users = await as("default", operatorPassword, port, ["ACL", "USERS"]);
      assert.equal(users, "default", "no probe user left, the real ones not created");
    });

    test("the users' file, appended to redis.conf, starts a server on which the users log in (digests only in it)", async () => {
      const file = usersFile([app, reader]);
      assert.doesNotMatch(file, /app-pw|reader-pw/);
      const port = await start(program, file);
      assert.equal(await as("app", app.password, port, ["SET", "app:1", "v"]), "OK");
      assert.equal(await as("reader", reader.password, port, ["GET", "app:1"]), "v");
      assert.match(await as("reader", reader.password, port, ["SET", "app:1", "w"]), /NOPERM/);
    });
  });
}
