/**
 * The shell scripts of the local Debian-package images (entrypoints, PATH
 * wrappers), installed where containers can run them.
 *
 * A checkout may lose execute bits or sit where an unprivileged container user
 * cannot read it, so each image's scripts are copied, mode 0755, into the
 * build cache under a name derived from their content: an edited script gets a
 * new directory, and running containers keep the one they started with.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ExtraFiles, installScriptDir } from "../script-dir.ts";

export type { ExtraFiles };

const here = dirname(fileURLToPath(import.meta.url));

/** Copies `<image>/` and `common/` of this folder (and `extra`) into one cached directory and returns it. */
export function installScripts(image: string, extra?: ExtraFiles): string {
  return installScriptDir(image, [join(here, image), join(here, "common")], extra);
}
