/**
 * Go commands for the local nodes' images, built from their Go modules with
 * `go install <package>@<version>` and cached by version beside the cluster's
 * own binaries: `<cache>/bin/<name>-<version>/<name>`. A machine builds each
 * version once (minutes on two cores); every later run, clone or cluster
 * finds it there.
 *
 * Two ways in:
 *
 * - `ensureGoCommand()` waits for the build, for callers that can (the test
 *   kit builds before it starts a pod, so the pod starts at once).
 * - `goCommandForImage()` never waits: a node asks it every two seconds while
 *   a pod is ErrImagePull, so it starts the build in the background and
 *   answers with an ImagePullError that says a build is under way, as a
 *   kubelet says "Pulling image" while a large image downloads.
 *
 * The build goes into a staging directory renamed into place when complete,
 * so a killed build never leaves a binary a later run would trust; builds
 * take a lock between processes (several nodes and test files may ask at
 * once), and die with the process that started them.
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DevClusterError } from "../../errors.ts";
import { cacheDir } from "../../paths.ts";
import { downloadFailure, requireTool, withLock } from "../../toolchain.ts";
import { ImagePullError } from "../image-error.ts";

export interface GoCommand {
  /** The binary's name, and its cache directory's: `versitygw`. */
  name: string;
  /** The main package: `github.com/versity/versitygw/cmd/versitygw`. */
  pkg: string;
  /** The module version the package is built at: `v1.8.0`. */
  version: string;
  /** `-X` linker settings (a release's version string, which `go install` leaves unset). */
  linkerVars?: Record<string, string>;
  /** How long a cold build takes on two cores, for the waiting message: `about 3.5 min`. */
  coldBuild?: string;
}

/** Where the command's binary is cached (it may not exist yet). */
export function goCommandPath(command: GoCommand, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), "bin", `${command.name}-${command.version}`, command.name);
}

function logPath(command: GoCommand, env: NodeJS.ProcessEnv): string {
  return join(cacheDir(env), "logs", `build-${command.name}-${command.version}.log`);
}

export interface EnsureGoCommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Told before a build starts, so a caller can say why it is waiting. */
  onBuild?: (command: GoCommand) => void;
}

/** The binary's path, built first when it is not cached; throws a DevClusterError naming the fix. */
export async function ensureGoCommand(
  command: GoCommand,
  options: EnsureGoCommandOptions = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const path = goCommandPath(command, env);
  if (existsSync(path)) return path;
  requireTool("go", env);
  options.onBuild?.(command);
  const key = `go-${command.name}-${command.version}`;
  await withLock(join(cacheDir(env), "locks", key), async () => {
    // Another process may have built it while we waited for the lock.
    if (!existsSync(path)) await build(command, join(path, ".."), env);
  });
  return path;
}

interface Pending {
  startedAt: number;
  settled: boolean;
  error?: unknown;
  /** Until when a failed build is not tried again (as ImagePullBackOff). */
  until?: number;
  failures: number;
}

const pending = new Map<string, Pending>();
const backOffMs = (failures: number) => Math.min(10_000 * 2 ** (failures - 1), 300_000);

/**
 * The binary's path when it is cached; otherwise starts (or keeps) its build
 * in the background and throws an ImagePullError saying so, or, after a
 * failed build, that failure, until its back-off ends.
 */
export function goCommandForImage(
  command: GoCommand,
  image: string,
  now: () => number = Date.now,
): string {
  // A copy: the build runs on after this returns, and must not see later changes.
  const env = { ...process.env };
  const path = goCommandPath(command, env);
  if (existsSync(path)) return path;
  // By path: a caller with another cache (BALLAST_CACHE_DIR) has its own build.
  let state = pending.get(path);
  if (!state || (state.settled && now() >= (state.until ?? 0))) {
    state = startBuild(command, image, env, state?.failures ?? 0, now);
    pending.set(path, state);
  }
  if (state.settled) throw state.error;
  const seconds = Math.round((now() - state.startedAt) / 1000);
  throw new ImagePullError(
    `image "${image}": building ${command.pkg}@${command.version} with \`go install\` (${seconds}s so far${command.coldBuild ? `; a first build takes ${command.coldBuild}` : ""}); the pod starts when it is done. Log: ${logPath(command, env)}`,
  );
}

function startBuild(
  command: GoCommand,
  image: string,
  env: NodeJS.ProcessEnv,
  failures: number,
  now: () => number,
): Pending {
  const state: Pending = { startedAt: now(), settled: false, failures };
  ensureGoCommand(command, { env }).then(
    () => pending.delete(goCommandPath(command, env)),
    (error: unknown) => {
      state.settled = true;
      state.failures += 1;
      state.until = now() + backOffMs(state.failures);
      const why =
        error instanceof DevClusterError ? `${error.message} ${error.fix}` : String(error);
      state.error = new ImagePullError(`image "${image}": ${why}`, { cause: error });
    },
  );
  return state;
}

/** The module proxy's answers for a version it does not have. */
const unknownVersion =
  /unknown revision|invalid version|no matching versions|not found: .*@|This module version is not available/i;

async function build(command: GoCommand, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const log = logPath(command, env);
  mkdirSync(join(log, ".."), { recursive: true });
  const staging = `${dir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const ldflags = [
    "-s",
    "-w",
    ...Object.entries(command.linkerVars ?? {}).map(([name, value]) => `-X=${name}=${value}`),
  ].join(" ");
  const output = createWriteStream(log);
  let tail = "";
  // setpriv: the build dies with the process that wanted it (a stopped node
  // or test run leaves no compiler behind; Go's build cache keeps its work).
  // nice: a node builds while its cluster runs, and the cluster comes first.
  const child = spawn(
    "setpriv",
    [
      ...["--pdeathsig", "KILL", "--", "nice", "-n", "10", "go", "install", "-trimpath"],
      ...["-ldflags", ldflags, `${command.pkg}@${command.version}`],
    ],
    {
      // `pkg@version` ignores the current module; the cache is a neutral place to run.
      cwd: cacheDir(env),
      env: { ...env, GOBIN: staging, CGO_ENABLED: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const collect = (chunk: Buffer) => {
    output.write(chunk);
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const code = await new Promise<number | null>((resolveExit) => {
    child.on("error", () => resolveExit(127));
    child.on("close", resolveExit);
  });
  await new Promise<void>((done) => output.end(done));
  try {
    if (code === 0 && existsSync(join(staging, command.name))) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
      return;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const lines = tail
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const lastLine = lines.at(-1) ?? `exit code ${code}`;
  if (unknownVersion.test(tail)) {
    // go's own line names the proxy's answer; the server's text follows it.
    const answer = lines.filter((line) => unknownVersion.test(line) || /: 4\d\d /.test(line));
    throw new DevClusterError(
      `${command.pkg}@${command.version} is not served by the Go module proxy: ${answer.join(" ").slice(-400)}`,
      `Use a released version the proxy serves (\`go list -m -versions ${command.pkg.split("/").slice(0, 3).join("/")}\` lists them). Full log: ${log}`,
    );
  }
  if (downloadFailure.test(tail)) {
    throw new DevClusterError(
      `Building ${command.name} ${command.version} failed because its Go modules could not be downloaded: ${lastLine}`,
      `Check that the Go module proxy is reachable from this machine, then try again; modules already downloaded are kept. Full log: ${log}`,
    );
  }
  throw new DevClusterError(
    `Building ${command.name} ${command.version} with \`go install\` failed: ${lastLine}`,
    `Read the full log at ${log}. If the module needs a newer Go than this machine's, upgrade Go.`,
  );
}
