/**
 * Images that run Debian's packages of the data systems our operators manage,
 * with the parts of the official images' behaviour those operators depend on
 * (entrypoints, defaults, users). Nothing is installed here: a missing package
 * is an ImagePullError naming the `apt-get install` that fixes it (the set-up
 * of `npm run demo` and `npm test` installs them, from
 * dev/toolchain/system-packages.txt).
 *
 * - `redis`: Debian's redis-server and redis-tools, any tag.
 * - `valkey` (and `valkey/valkey`, the official image's name): Valkey 8.0
 *   from Debian bookworm-backports, any tag, unpacked into the build cache by
 *   the set-up (dev/toolchain/backports.txt) rather than installed; with the
 *   official image's redis-* names for the same programs.
 * - `postgres`: Debian's PostgreSQL 15, any tag (a tag asking for another
 *   major still runs 15, and the container's log says so).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import {
  aptInstallCommand,
  backportsCommand,
  backportsRoot,
  installCommandFor,
  locate,
  packageFor,
  readBackports,
  readBackportsPackages,
} from "../../system-packages.ts";
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

/** The Valkey major that bookworm-backports' valkey-server is. */
export const valkeyMajor = "8";

/**
 * The official image's programs, as its `make install` names them: one
 * binary that picks its mode from its own name, under valkey-* and redis-*
 * names. valkey-server and valkey-sentinel (and their redis-* links) are this
 * folder's wrappers; the rest run the unpacked binaries directly.
 */
const valkeyBinaries = ["valkey-check-rdb", "valkey-cli", "valkey-benchmark"] as const;
const valkeyLinks: Record<string, string> = {
  "bin/valkey-server": "valkey-check-rdb",
  "bin/valkey-check-aof": "valkey-check-rdb",
  "redis-server": "valkey-server",
  "redis-sentinel": "valkey-sentinel",
  "valkey-cli": "bin/valkey-cli",
  "redis-cli": "bin/valkey-cli",
  "valkey-benchmark": "bin/valkey-benchmark",
  "redis-benchmark": "bin/valkey-benchmark",
  "valkey-check-rdb": "bin/valkey-check-rdb",
  "redis-check-rdb": "bin/valkey-check-rdb",
  "valkey-check-aof": "bin/valkey-check-aof",
  "redis-check-aof": "bin/valkey-check-aof",
};

/**
 * Copies the unpacked binaries into the image's PATH directory, with every
 * name as a link relative to it: the directory is mounted into containers,
 * whose users may not reach the build cache itself.
 */
function addValkeyPrograms(unpacked: string): (dir: string) => void {
  return (dir) => {
    mkdirSync(join(dir, "bin"));
    for (const name of valkeyBinaries) copyFileSync(join(unpacked, name), join(dir, "bin", name));
    for (const [name, target] of Object.entries(valkeyLinks)) symlinkSync(target, join(dir, name));
  };
}

export const valkey: ImageSpec = {
  names: ["valkey", "valkey/valkey"],
  describe:
    "Debian bookworm-backports' valkey-server, valkey-sentinel and valkey-tools (8.0) for any tag, unpacked into the build cache; official entrypoint (/data, VALKEY_EXTRA_FLAGS), protected mode off by default, redis-* names too; runs as Debian's redis user",
  prepare: async (tag: string): Promise<ImageRuntime> => {
    const packages = readBackportsPackages();
    const absent = packages.filter((p) => p.package.startsWith("valkey-") && !locate(p.check));
    if (absent.length > 0) {
      const what = absent.map((p) => `${p.package} ${p.from?.version}`).join(", ");
      throw new ImagePullError(
        `this image runs Debian bookworm-backports' ${what}, which ${absent.length === 1 ? "is" : "are"} not unpacked into the build cache: run \`${backportsCommand}\``,
      );
    }
    if (!userExists("redis")) {
      throw await missing(
        "as the redis user that Debian's redis-server package creates",
        "apt-get install --reinstall redis-server",
      );
    }
    const unpacked = join(backportsRoot(readBackports()), "usr", "bin");
    const server = spawnSync(join(unpacked, "valkey-server"), ["--version"], { encoding: "utf8" });
    const version = /v=(\S+)/.exec(server.stdout ?? "")?.[1];
    if (server.status !== 0 || !version) {
      // Its libraries are bookworm's, the ones redis-tools depends on.
      throw new ImagePullError(
        `this image runs ${unpacked}/valkey-server, which does not start here (${(server.stderr || String(server.error)).trim()}): run \`${installCommandFor("redis-cli")}\` for its libraries`,
      );
    }
    const major = /^(\d+)/.exec(tag)?.[1];
    return {
      entrypoint: ["docker-entrypoint.sh"],
      cmd: ["valkey-server"],
      path: [installScripts("valkey", { key: unpacked, add: addValkeyPrograms(unpacked) })],
      env: {
        VALKEY_VERSION: version,
        ...(major && major !== valkeyMajor ? { BALLAST_REQUESTED_TAG: tag } : {}),
      },
      workingDir: "/data",
    };
  },
};
