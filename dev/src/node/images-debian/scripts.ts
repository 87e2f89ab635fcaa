/**
 * The shell scripts of the local Debian-package images (entrypoints, PATH
 * wrappers), installed where containers can run them.
 *
 * A checkout may lose execute bits or sit where an unprivileged container user
 * cannot read it, so each image's scripts are copied, mode 0755, into the
 * build cache under a name derived from their content: an edited script gets a
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
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../paths.ts";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * More of an image's PATH directory than its scripts: `add` fills the new
 * directory (after the scripts are copied), and `key` names what it adds, so
 * another `key` makes another directory.
 */
export interface ExtraFiles {
  key: string;
  add(dir: string): void;
}

/** Copies `<image>/` and `common/` of this folder (and `extra`) into one cached directory and returns it. */
export function installScripts(image: string, extra?: ExtraFiles): string {
  const sources = [join(here, image), join(here, "common")].flatMap((dir) =>
    readdirSync(dir)
      .sort()
      .map((name) => ({ name, path: join(dir, name) })),
  );
  const hash = createHash("sha256");
  for (const { name, path } of sources) hash.update(name).update("\0").update(readFileSync(path));
  if (extra) hash.update("\0extra\0").update(extra.key);
  const dir = join(cacheDir(), "images", `${image}-${hash.digest("hex").slice(0, 12)}`);
  if (existsSync(dir)) return dir;
  const staging = `${dir}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const { name, path } of sources) {
    copyFileSync(path, join(staging, name));
    chmodSync(join(staging, name), 0o755);
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
