/**
 * An image's scripts, copied executable into the build cache under a name
 * derived from their content: the directory is mounted into containers,
 * whose users may not reach this checkout. A change of a script makes a
 * new directory, and running containers keep the one they started with.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../paths.ts";

/**
 * More of an image's PATH directory than its scripts: `add` fills the new
 * directory (after the scripts are copied), and `key` names what it adds, so
 * another `key` makes another directory.
 */
export interface ExtraFiles {
  key: string;
  add(dir: string): void;
}

/** Copies every file of `sources` (and `extra`) into one cached directory `<name>-<hash>` and returns it. */
export function installScriptDir(
  name: string,
  sources: readonly string[],
  extra?: ExtraFiles,
): string {
  const files = sources.flatMap((dir) =>
    readdirSync(dir)
      .sort()
      .map((file) => ({ file, path: join(dir, file) })),
  );
  const hash = createHash("sha256");
  for (const { file, path } of files) hash.update(file).update("\0").update(readFileSync(path));
  if (extra) hash.update("\0extra\0").update(extra.key);
  const dir = join(cacheDir(), "images", `${name}-${hash.digest("hex").slice(0, 12)}`);
  if (existsSync(dir)) return dir;
  const staging = `${dir}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const { file, path } of files) {
    copyFileSync(path, join(staging, file));
    chmodSync(join(staging, file), 0o755);
  }
  extra?.add(staging);
  chmodSync(staging, 0o755);
  try {
    renameSync(staging, dir);
  } catch {
    // Another node installed the same scripts first.
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}
