/**
 * Builds the local cluster's binaries from Go modules and caches them by
 * version, outside the clone, so that only the first run on a machine pays for
 * the build (many minutes on two cores) and every later clone starts in seconds.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { DevClusterError } from "./errors.ts";
import { cacheDir, toolchainDir } from "./paths.ts";
import { installFix } from "./system-packages.ts";

export type BinaryName =
  | "etcd"
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kube-proxy"
  | "kubectl"
  | "helm";

export const controlPlaneBinaries: readonly BinaryName[] = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
];
/** Built only for clusters with a service proxy. */
export const serviceProxyBinaries: readonly BinaryName[] = ["kube-proxy"];
export const clientBinaries: readonly BinaryName[] = ["kubectl", "helm"];
export const allBinaries: readonly BinaryName[] = [
  ...controlPlaneBinaries,
  ...serviceProxyBinaries,
  ...clientBinaries,
];

export interface Versions {
  kubernetes: string;
  etcd: string;
  helm: string;
}

/** Reads dev/toolchain/versions.env, the one place versions are set. */
export function readVersions(): Versions {
  const text = readFileSync(join(toolchainDir, "versions.env"), "utf8");
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (match?.[1] && match[2]) values.set(match[1], match[2]);
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (!value) throw new Error(`dev/toolchain/versions.env has no ${key}`);
    return value;
  };
  return {
    kubernetes: get("KUBERNETES_VERSION"),
    etcd: get("ETCD_VERSION"),
    helm: get("HELM_VERSION"),
  };
}

function versionOf(name: BinaryName, versions: Versions): string {
  if (name === "etcd") return `etcd-${versions.etcd}`;
  if (name === "helm") return `helm-${versions.helm}`;
  return `kubernetes-${versions.kubernetes}`;
}

/** Where the cached binary for this version lives (it may not exist yet). */
export function binaryPath(
  name: BinaryName,
  versions: Versions = readVersions(),
  env: NodeJS.ProcessEnv = process.env,
): string {
  return join(cacheDir(env), "bin", versionOf(name, versions), name);
}

export interface Tool {
  command: string;
  versionArgs: string[];
  purpose: string;
  /** What to do when it is missing; for a command of system-packages.txt, its package's install. */
  fix?: string;
}

/**
 * Toolchains checked by name where they are used. Go is the machine's own;
 * the others are system packages, so their fix comes from
 * dev/toolchain/system-packages.txt, the list the set-up installs from.
 */
export const tools = {
  go: {
    command: "go",
    versionArgs: ["version"],
    purpose: "build the local cluster's Kubernetes, etcd and helm binaries from Go modules",
    fix: "Install Go 1.26 or newer (for example `apt-get install golang-go`, or Go's own archive) and put `go` on PATH, then run the command again.",
  },
  java: {
    command: "java",
    versionArgs: ["-version"],
    purpose: "run Kafka and ZooKeeper from their Maven Central jars on the local nodes",
  },
  mvn: {
    command: "mvn",
    versionArgs: ["-B", "--version"],
    purpose: "fetch Kafka's and ZooKeeper's jars from Maven Central for their images",
  },
} as const satisfies Record<string, Tool>;

export type ToolName = keyof typeof tools;

/** Throws a DevClusterError naming the fix when `tool` is not on PATH. */
export function requireTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): string {
  const tool: Tool = tools[name];
  const result = spawnSync(tool.command, tool.versionArgs, { env, encoding: "utf8" });
  if (result.error || result.status !== 0) {
    throw new DevClusterError(
      `The ${name} toolchain was not found: \`${tool.command}\` is not on PATH. Ballast needs it to ${tool.purpose}.`,
      tool.fix ?? installFix(tool.command),
    );
  }
  return `${result.stdout}${result.stderr}`.trim().split("\n")[0] ?? "";
}

export interface EnsureOptions {
  env?: NodeJS.ProcessEnv;
  /** Told before each build starts, so a CLI can say why it is waiting. */
  onBuild?: (name: BinaryName, version: string) => void;
}

/**
 * Returns the paths of the given binaries, building those missing from the
 * cache. Builds one at a time: on two cores, parallel Go builds only thrash.
 */
export async function ensureBinaries(
  names: readonly BinaryName[],
  options: EnsureOptions = {},
): Promise<Record<BinaryName, string>> {
  const env = options.env ?? process.env;
  const versions = readVersions();
  const paths = {} as Record<BinaryName, string>;
  for (const name of names) {
    const path = binaryPath(name, versions, env);
    if (!existsSync(path)) {
      requireTool("go", env);
      options.onBuild?.(name, versionOf(name, versions));
      await withLock(join(cacheDir(env), "locks", name), async () => {
        // Another process may have built it while we waited for the lock.
        if (!existsSync(path)) await build(name, path, env);
      });
    }
    paths[name] = path;
  }
  return paths;
}

/** What `go` prints when modules cannot be downloaded (also read by dev/src/node/images-go/). */
export const downloadFailure =
  /dial tcp|no such host|connection refused|i\/o timeout|TLS handshake|GOPROXY=off|module lookup disabled|reading https?:\/\/|unrecognized import path|: 4\d\d |: 5\d\d |verifying .*: checksum/i;

async function build(name: BinaryName, path: string, env: NodeJS.ProcessEnv): Promise<void> {
  const logDir = join(cacheDir(env), "logs");
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `build-${name}.log`);
  const log = createWriteStream(logPath);
  let stderrTail = "";
  const child = spawn("bash", [join(toolchainDir, "build.sh"), name, join(path, "..")], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.on("data", (chunk: Buffer) => {
    log.write(chunk);
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  });
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", resolveExit);
  });
  await new Promise<void>((done) => log.end(done));
  if (code === 0) return;

  const lines = stderrTail.trim().split("\n").filter(Boolean);
  const lastLine = lines.at(-1) ?? `exit code ${code}`;
  if (downloadFailure.test(stderrTail)) {
    throw new DevClusterError(
      `Building ${name} failed because its Go modules could not be downloaded: ${lastLine}`,
      `Check that the Go module proxy (GOPROXY=${env.GOPROXY ?? goEnv("GOPROXY", env)}) is reachable from this machine, then run the command again; modules already downloaded are kept. Full log: ${logPath}`,
    );
  }
  throw new DevClusterError(
    `Building ${name} with \`go build\` failed: ${lastLine}`,
    `Read the full log at ${logPath}. If the Go toolchain is older than dev/toolchain/kubernetes/go.mod asks for, upgrade Go.`,
  );
}

function goEnv(key: string, env: NodeJS.ProcessEnv): string {
  const result = spawnSync("go", ["env", key], { env, encoding: "utf8" });
  return result.stdout?.trim() || "unset";
}

/**
 * A lock between processes (tests run in several), made from mkdir, which is
 * atomic. A lock whose owner died is taken over instead of waited on forever.
 */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(join(lockDir, ".."), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(readFileSafe(join(lockDir, "pid")));
      if (owner && !isAlive(owner)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    writeFileSync(join(lockDir, "pid"), String(process.pid));
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
