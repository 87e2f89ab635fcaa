/**
 * `versitygw:<tag>` (also `versity/versitygw`, the upstream image's name): the
 * Versity S3 Gateway, a real S3 server that checks SigV4 signatures, speaks
 * TLS and stores buckets and objects as plain files (its posix backend,
 * metadata in xattrs), built with `go install` from its Go module at the
 * version the tag names and cached like the cluster's binaries
 * (`<cache>/bin/versitygw-<version>/`). `latest` or no tag is
 * `defaultVersitygwVersion`.
 *
 * As in the upstream image (v1.8.0): ENTRYPOINT `docker-entrypoint.sh`, no
 * CMD; with arguments they are versitygw's, without them the command comes
 * from VGW_BACKEND, VGW_ARGS, VGW_BACKEND_ARG and VGW_BACKEND_ARGS (see
 * versitygw/docker-entrypoint.sh); versitygw itself reads
 * ROOT_ACCESS_KEY_ID / ROOT_SECRET_ACCESS_KEY, VGW_PORT (default :7070),
 * VGW_CERT / VGW_KEY (TLS), VGW_REGION and the rest of its VGW_* variables.
 * Unlike it, the binary is on PATH, not at /usr/local/bin (the host's).
 *
 * The first pod on a machine waits in ErrImagePull, with a message that says
 * the build is under way (about 3.5 minutes on two cores), then starts; the
 * test kit's startObjectStore() builds before it creates the pod.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ImagePullError } from "../image-error.ts";
import type { ImageRuntime, ImageSpec } from "../images.ts";
import { installScriptDir } from "../script-dir.ts";
import { type GoCommand, goCommandForImage } from "./go-command.ts";

/** The version `versitygw:latest` runs, and the test kit's default. */
export const defaultVersitygwVersion = "v1.8.0";

/** The port versitygw listens on unless VGW_PORT or --port says otherwise. */
export const versitygwPort = 7070;

/** The Go command for one release: `v1.8.0` or `1.8.0`. */
export function versitygwCommand(version: string = defaultVersitygwVersion): GoCommand {
  const v = version.startsWith("v") ? version : `v${version}`;
  return {
    name: "versitygw",
    pkg: "github.com/versity/versitygw/cmd/versitygw",
    version: v,
    // What `versitygw --version` prints; the upstream Makefile sets it the same way.
    linkerVars: { "main.Version": v },
    coldBuild: "about 3.5 minutes on two cores",
  };
}

/** `v1.8.0`, `1.8.0`, `v1.9.0-rc1`; `latest` is the default version. */
function versionOfTag(tag: string): string {
  if (tag === "latest") return defaultVersitygwVersion;
  if (!/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(tag)) {
    throw new ImagePullError(
      `image "versity/versitygw:${tag}": the tag must be a release version such as ${defaultVersitygwVersion} (it names the Go module version to build) or latest`,
    );
  }
  return tag.startsWith("v") ? tag : `v${tag}`;
}

const here = join(dirname(fileURLToPath(import.meta.url)), "versitygw");

/** The image's scripts (its entrypoint), where containers can run them. */
function installScripts(): string {
  return installScriptDir("versitygw-scripts", [here]);
}

export const versitygw: ImageSpec = {
  names: ["versitygw", "versity/versitygw"],
  describe:
    "the Versity S3 Gateway built with `go install` from github.com/versity/versitygw at the tag's version (latest: v1.8.0), cached like the cluster's binaries; upstream entrypoint (VGW_BACKEND, VGW_BACKEND_ARG, … or versitygw's own arguments), port 7070, TLS from VGW_CERT/VGW_KEY",
  prepare: async (tag: string): Promise<ImageRuntime> => {
    const version = versionOfTag(tag);
    const binary = goCommandForImage(versitygwCommand(version), `versity/versitygw:${tag}`);
    return {
      entrypoint: ["docker-entrypoint.sh"],
      cmd: [],
      // The binary's cache directory holds only the binary: mounted as it is.
      path: [installScripts(), dirname(binary)],
      env: {},
    };
  },
};
