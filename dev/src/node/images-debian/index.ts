/**
 * Images that run Debian's packages of the data systems our operators manage,
 * with the parts of the official images' behaviour those operators depend on
 * (entrypoints, defaults, users). Nothing is installed here: a missing package
 * is an ImagePullError naming the `apt-get install` that fixes it (the set-up
 * of `npm run demo` and `npm test` installs them, from
 * dev/toolchain/system-packages.txt).
 *
 * - `redis`: Debian's redis-server and redis-tools, any tag.
 * - `postgres`: Debian's PostgreSQL 15, any tag (a tag asking for another
 *   major still runs 15, and the container's log says so).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { aptInstallCommand, installCommandFor, packageFor } from "../../system-packages.ts";
import { ImagePullError } from "../image-error.ts";
import type { ImageRuntime, ImageSpec } from "../images.ts";
import { installScripts } from "./scripts.ts";

/** Debian bookworm's PostgreSQL major. */
export const postgresMajor = "15";
const postgresBin = `/usr/lib/postgresql/${postgresMajor}/bin`;

async function missing(what: string, fix: string): Promise<Error> {
  return new ImagePullError(`this image runs ${what}, which is not installed: run \`${fix}\``);
}

function userExists(name: string): boolean {
  return spawnSync("id", ["-u", name]).status === 0;
}

/** `Redis server v=7.0.15 sha=…` → `7.0.15`; `PostgreSQL 15.18 (Debian …)` → `15.18`. */
function versionOf(binary: string, args: string[], pattern: RegExp): string {
  const out = spawnSync(binary, args, { encoding: "utf8" }).stdout ?? "";
  return pattern.exec(out)?.[1] ?? "unknown";
}

export const redis: ImageSpec = {
  names: ["redis"],
  describe:
    "Debian's redis-server and redis-tools (7.0 on bookworm) for any tag; official entrypoint (runs as the redis user, /data), protected mode off by default",
  prepare: async (): Promise<ImageRuntime> => {
    if (!existsSync("/usr/bin/redis-server") || !existsSync("/usr/bin/redis-cli")) {
      throw await missing(
        "Debian's redis-server",
        aptInstallCommand(["redis-server", "redis-cli"].map((check) => packageFor(check) ?? check)),
      );
    }
    if (!userExists("redis")) {
      throw await missing(
        "as the redis user that Debian's redis-server package creates",
        "apt-get install --reinstall redis-server",
      );
    }
    return {
      entrypoint: ["docker-entrypoint.sh"],
      cmd: ["redis-server"],
      path: [installScripts("redis")],
      env: {
        REDIS_VERSION: versionOf("/usr/bin/redis-server", ["--version"], /v=(\S+)/),
      },
      workingDir: "/data",
    };
  },
};

export const postgres: ImageSpec = {
  names: ["postgres"],
  describe: `Debian's PostgreSQL ${postgresMajor} (postgresql-${postgresMajor}) for any tag; official entrypoint (POSTGRES_* variables, initdb, runs as the postgres user); socket in the container's /tmp`,
  prepare: async (tag: string): Promise<ImageRuntime> => {
    if (!existsSync(`${postgresBin}/postgres`) || !existsSync(`${postgresBin}/psql`)) {
      throw await missing(
        `Debian's PostgreSQL ${postgresMajor}`,
        installCommandFor(`${postgresBin}/postgres`),
      );
    }
    if (!userExists("postgres")) {
      throw await missing(
        "as the postgres user that Debian's postgresql-common package creates",
        "apt-get install --reinstall postgresql-common",
      );
    }
    const major = /^(\d+)/.exec(tag)?.[1];
    return {
      entrypoint: ["docker-entrypoint.sh"],
      cmd: ["postgres"],
      // The official image puts PostgreSQL's bin on PATH; Debian's /usr/bin
      // has only version-picking wrappers, so its bin goes before them.
      path: [installScripts("postgres"), postgresBin],
      env: {
        PG_MAJOR: postgresMajor,
        PG_VERSION: versionOf(`${postgresBin}/postgres`, ["--version"], /PostgreSQL\)? (\S+)/),
        PGDATA: "/var/lib/postgresql/data",
        // The server's socket is in the container's private /tmp (see the entrypoint).
        PGHOST: "/tmp",
        // The official image's en_US.utf8 is not generated on our machines.
        LANG: "C.UTF-8",
        ...(major && major !== postgresMajor ? { BALLAST_REQUESTED_TAG: tag } : {}),
      },
    };
  },
};
