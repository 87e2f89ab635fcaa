/**
 * Builds the controller-runtime reference (bench/reference) with `go build`
 * into the per-user cache, keyed by a hash of its sources, so only the first
 * run on a machine pays for compiling controller-runtime and client-go.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "@ballast/dev";

export const referenceDir = join(dirname(fileURLToPath(import.meta.url)), "reference");

export class ReferenceBuildError extends Error {
  override name = "ReferenceBuildError";
}

export function referenceBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash("sha256");
  for (const file of ["go.mod", "go.sum", "main.go"])
    hash.update(readFileSync(join(referenceDir, file)));
  return join(cacheDir(env), "bench", `reference-${hash.digest("hex").slice(0, 16)}`);
}

export async function ensureReference(onBuild?: () => void): Promise<string> {
  const path = referenceBinaryPath();
  if (existsSync(path)) return path;
  onBuild?.();
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.partial-${process.pid}`;
  let output = "";
  const child = spawn("go", ["build", "-o", partial, "."], {
    cwd: referenceDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", (error) =>
      reject(
        new ReferenceBuildError("could not run `go` (is Go 1.26+ on PATH?)", { cause: error }),
      ),
    );
    child.on("close", resolve);
  });
  if (code !== 0) {
    throw new ReferenceBuildError(
      `go build in ${referenceDir} failed (exit ${code}): ${output.slice(-2000)}`,
    );
  }
  // Rename last, so an interrupted build never leaves a binary that looks finished.
  renameSync(partial, path);
  return path;
}
