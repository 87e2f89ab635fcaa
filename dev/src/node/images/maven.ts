/**
 * Builds a JVM image's files from Maven Central, once per version, under
 * `<cache>/images/<name>-<version>/`:
 *
 * - `jars-<hash>/libs/`: the jars, from `mvn dependency:copy-dependencies` on a
 *   generated pom, so Maven resolves the transitive set a distribution is
 *   built from, and ~/.m2 caches downloads across versions. Slow the first
 *   time (tens of seconds), so built once per pom (the hash is the pom's).
 * - `layout-<hash>/`: the image's scripts and configuration, cheap to write
 *   and named by their content, so a change to the scripts in this repository
 *   takes effect without clearing the cache.
 *
 * Each goes into a staging directory renamed into place when complete: a
 * half-built image is never seen, and a crashed build leaves only a staging
 * directory behind. Nodes of several clusters (several processes) may ask for
 * the same image at once, so jar builds take a lock between processes; pods of
 * one node share one build through a promise.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { DevClusterError } from "../../errors.ts";
import { cacheDir } from "../../paths.ts";
import { requireTool, withLock } from "../../toolchain.ts";
import { ImagePullError } from "../image-error.ts";

export interface MavenImage {
  /** Names the cache entry and the lock: `kafka-3.9.1`. */
  key: string;
  /** The image as the user wrote it, for messages: `apache/kafka:3.9.1`. */
  image: string;
  /** The generated pom's `<dependencyManagement>` and `<dependencies>` bodies. */
  managed?: string;
  dependencies: string;
  /** The artifact whose absence means "this version does not exist". */
  main: { groupId: string; artifactId: string; version: string };
  /** The image's files besides the jars (bin/, config/, …), given the jars' directory. */
  layout(libs: string): Layout;
}

/** Relative path → contents; mode 0o644 unless given. */
export type Layout = Record<string, { text: string; mode?: number }>;

/** An executable file of a layout. */
export const executable = (text: string) => ({ text, mode: 0o755 });

export interface BuiltImage {
  /** The jars. */
  libs: string;
  /** The layout's root. */
  root: string;
}

const building = new Map<string, Promise<BuiltImage>>();

/**
 * Failed builds, remembered with a back-off as the kubelet's ImagePullBackOff
 * does: a pod waiting on a missing version asks again every two seconds, and
 * each Maven run costs seconds of CPU.
 */
const failures = new Map<string, { error: unknown; count: number; until: number }>();
const backOffMs = (count: number) => Math.min(10_000 * 2 ** (count - 1), 300_000);

/** The image's jars and layout, built if missing. */
export function mavenImage(spec: MavenImage, now: () => number = Date.now): Promise<BuiltImage> {
  const failed = failures.get(spec.key);
  if (failed && now() < failed.until) return Promise.reject(failed.error);
  let pending = building.get(spec.key);
  if (!pending) {
    pending = prepare(spec).then(
      (built) => {
        failures.delete(spec.key);
        return built;
      },
      (error: unknown) => {
        building.delete(spec.key);
        const count = (failures.get(spec.key)?.count ?? 0) + 1;
        failures.set(spec.key, { error, count, until: now() + backOffMs(count) });
        throw error;
      },
    );
    // Kept once built: the node then answers from memory, without rescanning jars.
    building.set(spec.key, pending);
  }
  return pending;
}

async function prepare(spec: MavenImage): Promise<BuiltImage> {
  const base = join(cacheDir(), "images", spec.key);
  const text = pom(spec);
  const jars = join(base, `jars-${hash(text)}`);
  if (!existsSync(jars)) await buildJars(spec, text, jars);
  const libs = join(jars, "libs");
  const files = spec.layout(libs);
  const root = join(base, `layout-${hash(JSON.stringify(Object.entries(files).sort()))}`);
  if (!existsSync(root)) writeLayout(root, files);
  return { libs, root };
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

function writeLayout(root: string, files: Layout): void {
  const staging = `${root}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  for (const [path, file] of Object.entries(files)) {
    const target = join(staging, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.text, { mode: file.mode ?? 0o644 });
    // writeFileSync's mode is filtered by the umask; the image's modes are not.
    chmodSync(target, file.mode ?? 0o644);
  }
  try {
    renameSync(staging, root);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    // Another process wrote the same layout first: same name, same content.
    if (!existsSync(root)) throw error;
  }
}

/** Java runs every container of these images; its home becomes the image's JAVA_HOME. */
export function javaHome(): string {
  requireAsImage("java");
  // Resolved on the host because containers see the host's filesystem, and a
  // java found only through the node's PATH would be missing from theirs.
  const found = spawnSync("sh", ["-c", 'readlink -f "$(command -v java)"'], { encoding: "utf8" });
  const java = found.stdout.trim();
  return java.endsWith("/bin/java") ? java.slice(0, -"/bin/java".length) : "/usr";
}

/** The shared toolchain check, reported as an image that cannot be pulled. */
function requireAsImage(tool: "java" | "mvn"): void {
  try {
    requireTool(tool);
  } catch (error) {
    if (error instanceof DevClusterError) {
      throw new ImagePullError(`${error.message} ${error.fix}`, { cause: error });
    }
    throw error;
  }
}

function requireMaven(): void {
  requireAsImage("mvn");
}

async function buildJars(spec: MavenImage, pomText: string, dir: string): Promise<void> {
  requireMaven();
  await withLock(join(cacheDir(), "locks", `image-${spec.key}`), async () => {
    // Another process may have built it while we waited for the lock.
    if (existsSync(dir)) return;
    const staging = `${dir}.staging-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      writeFileSync(join(staging, "pom.xml"), pomText);
      await copyDependencies(spec, staging, join(staging, "libs"));
      renameSync(staging, dir);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      // A version that does not exist leaves no empty directory behind.
      try {
        rmdirSync(dirname(dir));
      } catch {
        // Not empty: other builds of this image live there.
      }
      throw error;
    }
  });
}

function pom(spec: MavenImage): string {
  const managed = spec.managed
    ? `  <dependencyManagement><dependencies>\n${spec.managed}\n  </dependencies></dependencyManagement>\n`
    : "";
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by Ballast's local nodes: the jars of image ${spec.image}. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.ballast.images</groupId>
  <artifactId>${spec.key}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
${managed}  <dependencies>
${spec.dependencies}
  </dependencies>
</project>
`;
}

/** One `<dependency>` line for a generated pom (no version: managed). */
export function dependency(groupId: string, artifactId: string, version?: string): string {
  const v = version ? `<version>${version}</version>` : "";
  return `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId>${v}</dependency>`;
}

async function copyDependencies(spec: MavenImage, staging: string, libs: string): Promise<void> {
  const logDir = join(cacheDir(), "logs");
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `image-${spec.key}.log`);
  const log = createWriteStream(logPath);
  let tail = "";
  // Dies with the node, as the node's containers do: a stopped node leaves no download behind.
  const child = spawn(
    "setpriv",
    [
      ...["--pdeathsig", "KILL", "--", "mvn"],
      "-B",
      "-q",
      // Plain text: the last lines become the pod's ErrImagePull message.
      "-Dstyle.color=never",
      "dependency:copy-dependencies",
      `-DoutputDirectory=${libs}`,
      "-DincludeScope=runtime",
    ],
    { cwd: staging, stdio: ["ignore", "pipe", "pipe"] },
  );
  const collect = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-8000);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const code = await new Promise<number | null>((resolveExit) => {
    child.on("error", () => resolveExit(127));
    child.on("close", resolveExit);
  });
  await new Promise<void>((done) => log.end(done));
  if (code === 0) return;

  const { groupId, artifactId, version } = spec.main;
  const artifact = new RegExp(
    `${escapeRegExp(groupId)}:${escapeRegExp(artifactId)}:(jar|pom):${escapeRegExp(version)}`,
  );
  // Maven words it "Could not find artifact …" the first time and "… was not
  // found in … during a previous attempt" once the miss is cached in ~/.m2.
  if (artifact.test(tail) && /Could not find artifact|was not found in/.test(tail)) {
    throw new ImagePullError(
      `image "${spec.image}": version ${version} is not on Maven Central (${groupId}:${artifactId}:${version} not found); use a released version`,
    );
  }
  const errorLine = tail.split("\n").find((line) => line.startsWith("[ERROR]")) ?? tail.trim();
  throw new ImagePullError(
    `image "${spec.image}": downloading its jars with Maven failed: ${errorLine.slice(0, 400)} (full log: ${logPath})`,
  );
}

function escapeRegExp(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
