/**
 * Where the local cluster keeps things.
 *
 * - The build cache is per user and outside any clone (`~/.cache/ballast`, or
 *   `$BALLAST_CACHE_DIR`), so a fresh clone on the same machine — which is what
 *   CI is — reuses binaries that took many minutes to build.
 * - A cluster's own state (data, certificates, logs, kubeconfig) lives in the
 *   directory it was started for: `.ballast/` of the checkout for `ballast dev
 *   up`, a temporary directory for the test kit.
 */
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BALLAST_CACHE_DIR) return resolve(env.BALLAST_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(xdg, "ballast");
}

/** The repository's dev/ folder: the toolchain scripts live under it. */
export const devRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = resolve(devRoot, "..");
export const toolchainDir = join(devRoot, "toolchain");

/** `.ballast/` of the checkout the command runs in. */
export function workDir(cwd: string = process.cwd()): string {
  return join(cwd, ".ballast");
}
