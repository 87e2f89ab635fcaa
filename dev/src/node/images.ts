/**
 * Container images, mapped to how they run on the local nodes.
 *
 * There is no container runtime here: an image is a name for "this program,
 * from a registry package, with this default entrypoint and environment". An
 * image with no mapping is an image that cannot be pulled: the pod gets
 * ErrImagePull with a message that lists what is known — never a silent fake.
 *
 * - `busybox`, `alpine`: the host's BusyBox applets (below).
 * - `redis`, `valkey`, `postgres`: Debian's packages (images-debian/).
 * - `apache/kafka`, `zookeeper`: jars from Maven Central, run by the host's
 *   Java (images/).
 * - `versitygw`, `versity/versitygw`: an S3 server built from its Go module
 *   at the tag's version (images-go/).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../paths.ts";
import { installCommandFor } from "../system-packages.ts";
import { kafka } from "./images/kafka.ts";
import { zookeeper } from "./images/zookeeper.ts";
import { postgres, redis, valkey } from "./images-debian/index.ts";
import { versitygw } from "./images-go/versitygw.ts";

export interface ImageRuntime {
  /** The image's ENTRYPOINT and CMD, used when the container gives none. */
  entrypoint: string[];
  cmd: string[];
  /** Host directories prepended to the container's PATH (mounted into it). */
  path: string[];
  env: Record<string, string>;
  /**
   * Pieces of the image's filesystem: host directories or files that appear
   * at `target` in the container (e.g. a Kafka installation at /opt/kafka).
   * Read-only unless `writable`.
   */
  files?: { source: string; target: string; writable?: boolean }[];
  /** The image's WORKDIR, used when the container sets no workingDir. */
  workingDir?: string;
}

export interface ImageSpec {
  /** Repository names this mapping answers to, without registry or tag. */
  names: string[];
  describe: string;
  /**
   * Builds or checks what the image needs (cached across runs, like the
   * cluster's binaries); throws an ImagePullError that says what is missing.
   * `tag` is the image's tag ("latest" when it has none).
   */
  prepare(tag: string): Promise<ImageRuntime>;
}

import { ImagePullError } from "./image-error.ts";

export { ImagePullError };

/** `docker.io/library/busybox:1.36@sha256:…` → `busybox`. */
export function repositoryOf(image: string): string {
  let name = image.split("@")[0] ?? image;
  const lastSlash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  if (colon > lastSlash) name = name.slice(0, colon);
  const parts = name.split("/");
  // A first part with a dot or colon, or "localhost", is a registry host.
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    parts.shift();
  }
  if (parts.length === 2 && parts[0] === "library") parts.shift();
  return parts.join("/");
}

/** A directory of BusyBox applet links, built once from Debian's busybox. */
function busyboxApplets(): string {
  const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => existsSync(p));
  if (!busybox) {
    throw new ImagePullError(
      `this image runs on the host's BusyBox, which is not installed: run \`${installCommandFor("busybox")}\``,
    );
  }
  const dir = join(cacheDir(), "images", "busybox", "bin");
  if (existsSync(dir) && readdirSync(dir).length > 0) return dir;
  const list = spawnSync(busybox, ["--list"], { encoding: "utf8" });
  const staging = `${dir}.${process.pid}`;
  mkdirSync(staging, { recursive: true });
  for (const applet of list.stdout.split("\n").filter(Boolean)) {
    symlinkSync(busybox, join(staging, applet));
  }
  mkdirSync(join(dir, ".."), { recursive: true });
  try {
    renameSync(staging, dir);
  } catch {
    // Another node built it first.
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

const busybox: ImageSpec = {
  names: ["busybox", "alpine"],
  describe: "BusyBox from Debian's busybox package (sh, httpd, wget, nc, …)",
  prepare: async () => ({
    entrypoint: [],
    cmd: ["sh"],
    path: [busyboxApplets()],
    env: {},
  }),
};

export const images: ImageSpec[] = [busybox, redis, valkey, postgres, kafka, zookeeper, versitygw];

/** `busybox:1.36` → `1.36`; no tag → `latest`. */
export function tagOf(image: string): string {
  const name = image.split("@")[0] ?? image;
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(colon + 1) : "latest";
}

/** Resolves an image to how it runs, or throws an ImagePullError saying why not. */
export async function resolveImage(image: string): Promise<ImageRuntime> {
  const repository = repositoryOf(image);
  const spec = images.find((s) => s.names.includes(repository));
  if (!spec) {
    const known = images.flatMap((s) => s.names).join(", ");
    throw new ImagePullError(
      `image "${image}" has no local mapping (known: ${known}); add one in dev/src/node/images.ts`,
    );
  }
  return spec.prepare(tagOf(image));
}
