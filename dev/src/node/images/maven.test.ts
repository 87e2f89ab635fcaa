import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ImagePullError } from "../image-error.ts";
import { dependency, javaHome, mavenImage } from "./maven.ts";

const cache = mkdtempSync(join(tmpdir(), "ballast-maven-test-"));
const saved = { PATH: process.env.PATH, BALLAST_CACHE_DIR: process.env.BALLAST_CACHE_DIR };
after(() => {
  process.env.PATH = saved.PATH;
  if (saved.BALLAST_CACHE_DIR === undefined) delete process.env.BALLAST_CACHE_DIR;
  else process.env.BALLAST_CACHE_DIR = saved.BALLAST_CACHE_DIR;
  rmSync(cache, { recursive: true, force: true });
});

/** Runs `fn` with nothing on PATH and an empty cache, so no tool can be found. */
async function withoutTools<T>(fn: () => Promise<T>): Promise<T> {
  process.env.PATH = join(cache, "empty-bin");
  process.env.BALLAST_CACHE_DIR = cache;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved.PATH;
  }
}

const spec = {
  key: "demo-1.0.0",
  image: "demo:1.0.0",
  dependencies: dependency("org.example", "demo", "1.0.0"),
  main: { groupId: "org.example", artifactId: "demo", version: "1.0.0" },
  layout: () => ({}),
};

test("mavenImage() without mvn on PATH fails with an ImagePullError that says how to install Maven", async () => {
  await withoutTools(async () => {
    await assert.rejects(mavenImage(spec), (error: unknown) => {
      assert.ok(error instanceof ImagePullError);
      assert.match(error.message, /`mvn` is not on PATH/);
      assert.match(error.message, /apt-get install -y maven/);
      return true;
    });
  });
});

test("mavenImage() answers from its back-off after a failure instead of running Maven again", async () => {
  let now = 1_000_000;
  const clock = () => now;
  const again = { ...spec, key: "demo-2.0.0" };
  const first = await withoutTools(() => mavenImage(again, clock).catch((e: unknown) => e));
  assert.ok(first instanceof ImagePullError);
  // With Maven back on PATH it would try again — but not within the back-off.
  now += 5_000;
  assert.equal(await mavenImage(again, clock).catch((e: unknown) => e), first);
});

test("javaHome() without java on PATH fails with an ImagePullError naming the fix", async () => {
  await withoutTools(async () => {
    assert.throws(
      () => javaHome(),
      (error: unknown) => {
        assert.ok(error instanceof ImagePullError);
        assert.match(error.message, /`java` is not on PATH/);
        assert.match(error.message, /openjdk-17-jre-headless/);
        return true;
      },
    );
  });
});

test("javaHome() finds the Java installation the host's java belongs to", () => {
  const home = javaHome();
  assert.match(home, /^\//);
  assert.doesNotMatch(home, /\/bin\/java$/);
});
