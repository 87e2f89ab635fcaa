/**
 * The system packages the local cluster and its images need, as
 * `dev/toolchain/system-packages.txt` lists them. The set-up that `npm run
 * demo` and `npm test` run (`dev/toolchain/system-packages.sh`) installs from
 * the same file and `ballast dev doctor` reports from it, so they cannot
 * disagree; "present" here means what the script's `command -v` (a command)
 * or `[[ -x ]]` (an absolute path) finds, and a test holds the two to it.
 * The same goes for `backports.txt`: packages from Debian bookworm-backports
 * that `backports.sh` unpacks into the build cache, never installs.
 */
import { createHash } from "node:crypto";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { cacheDir, toolchainDir } from "./paths.ts";

export interface SystemPackage {
  /** A command looked up on PATH, or an absolute path that must be executable. */
  check: string;
  /** The Debian package that provides it. */
  package: string;
  /** What Ballast uses it for, worded to follow "needed to". */
  purpose: string;
  /**
   * Set for a package unpacked from a Debian suite outside the machine's apt
   * sources (`backports.txt`) rather than installed: `check` is then a path in
   * the cache directory the set-up unpacks it into.
   */
  from?: { suite: string; version: string };
}

export const systemPackagesFile = join(toolchainDir, "system-packages.txt");

/** One entry per line `<check> <package> <purpose…>`; `#` comments and blank lines skipped. */
export function parseSystemPackages(text: string): SystemPackage[] {
  return columns(text, "system-packages.txt", "<command or path> <package> <purpose>").map(
    ([check, pkg, purpose]) => ({ check, package: pkg, purpose }),
  );
}

/** The lines of one of the two lists as [first, second, the rest], or an error naming the line. */
function columns(text: string, file: string, usage: string): [string, string, string][] {
  const rows: [string, string, string][] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [first, second, ...rest] = line.split(/\s+/);
    if (!first || !second || rest.length === 0) {
      throw new Error(`${file} line ${index + 1} needs "${usage}", not "${line}"`);
    }
    rows.push([first, second, rest.join(" ")]);
  }
  return rows;
}

export function readSystemPackages(file: string = systemPackagesFile): SystemPackage[] {
  return parseSystemPackages(readFileSync(file, "utf8"));
}

function executableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Where `check` is: an absolute path if executable, else the first executable file of that name on `env.PATH`. */
export function locate(check: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (isAbsolute(check)) return executableFile(check) ? check : undefined;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const path = join(dir || ".", check);
    if (executableFile(path)) return path;
  }
  return undefined;
}

export interface PackageCheck extends SystemPackage {
  /** Where it was found; absent when missing. */
  found?: string;
}

/** The suite `backports.txt` fetches from. */
export const backportsSuite = "bookworm-backports";
export const backportsFile = join(toolchainDir, "backports.txt");

export interface BackportsPackage {
  /** A file the package puts in `usr/bin`. */
  check: string;
  package: string;
  /** The exact Debian version (backports keeps only its newest). */
  version: string;
  purpose: string;
}

/** One entry per line `<file in usr/bin> <package>=<version> <purpose…>`, as backports.sh reads them. */
export function parseBackports(text: string): BackportsPackage[] {
  return columns(text, "backports.txt", "<file in usr/bin> <package>=<version> <purpose>").map(
    ([check, spec, purpose]) => {
      const eq = spec.indexOf("=");
      if (eq <= 0 || eq === spec.length - 1) {
        throw new Error(`backports.txt needs <package>=<version> for ${check}, not "${spec}"`);
      }
      return { check, package: spec.slice(0, eq), version: spec.slice(eq + 1), purpose };
    },
  );
}

export function readBackports(file: string = backportsFile): BackportsPackage[] {
  return parseBackports(readFileSync(file, "utf8"));
}

/**
 * The cache directory `backports.sh` unpacks `entries` into: named by the
 * sha256 of their `package=version` lines, so a new version is a new
 * directory and a running pod keeps the one it started from.
 */
export function backportsRoot(
  entries: readonly BackportsPackage[] = readBackports(),
  env: NodeJS.ProcessEnv = process.env,
): string {
  const lines = entries.map((e) => `${e.package}=${e.version}\n`).join("");
  const hash = createHash("sha256").update(lines).digest("hex").slice(0, 12);
  return join(cacheDir(env), "debian", backportsSuite, hash);
}

/** `backports.txt` as list entries, each `check` the absolute path it is unpacked to. */
export function readBackportsPackages(
  env: NodeJS.ProcessEnv = process.env,
  file: string = backportsFile,
): SystemPackage[] {
  const entries = readBackports(file);
  const bin = join(backportsRoot(entries, env), "usr", "bin");
  return entries.map((e) => ({
    check: join(bin, e.check),
    package: e.package,
    purpose: e.purpose,
    from: { suite: backportsSuite, version: e.version },
  }));
}

/** Everything the local cluster needs: system-packages.txt, then backports.txt. */
export function readAllPackages(env: NodeJS.ProcessEnv = process.env): SystemPackage[] {
  return [...readSystemPackages(), ...readBackportsPackages(env)];
}

export function checkSystemPackages(
  env: NodeJS.ProcessEnv = process.env,
  list: readonly SystemPackage[] = readAllPackages(env),
): PackageCheck[] {
  return list.map((entry) => {
    const found = locate(entry.check, env);
    return found === undefined ? { ...entry } : { ...entry, found };
  });
}

/** The packages with something missing, once each, in the list's order. */
export function missingSystemPackages(checks: readonly PackageCheck[]): string[] {
  return [...new Set(checks.filter((c) => c.found === undefined).map((c) => c.package))];
}

const isRoot = () => process.getuid?.() === 0;

/** `apt-get install -y <packages>`, behind `sudo` unless we are root. */
export function aptInstallCommand(packages: readonly string[], root: boolean = isRoot()): string {
  return `${root ? "" : "sudo "}apt-get install -y ${packages.join(" ")}`;
}

/** The whole fix for a fresh machine: the package index first, then the install. */
export function aptUpdateAndInstallCommand(
  packages: readonly string[],
  root: boolean = isRoot(),
): string {
  return `${root ? "" : "sudo "}apt-get update && ${aptInstallCommand(packages, root)}`;
}

/** What unpacks the backports.txt packages into the cache; needs no root. */
export const backportsCommand = "bash dev/toolchain/backports.sh";

/**
 * What provides `packages`: `apt-get install` for Debian's own, then
 * backports.sh for those of backports.txt (which apt here cannot install).
 */
export function installCommand(
  packages: readonly string[],
  root: boolean = isRoot(),
  list: readonly SystemPackage[] = readAllPackages(),
): string {
  return commandFor(packages, list, (apt) => aptInstallCommand(apt, root));
}

/** installCommand() for a fresh machine: the package index first. */
export function updateAndInstallCommand(
  packages: readonly string[],
  root: boolean = isRoot(),
  list: readonly SystemPackage[] = readAllPackages(),
): string {
  return commandFor(packages, list, (apt) => aptUpdateAndInstallCommand(apt, root));
}

function commandFor(
  packages: readonly string[],
  list: readonly SystemPackage[],
  apt: (packages: string[]) => string,
): string {
  const unpacked = new Set(list.filter((e) => e.from).map((e) => e.package));
  const fromApt = packages.filter((p) => !unpacked.has(p));
  const parts = fromApt.length > 0 ? [apt(fromApt)] : [];
  if (packages.some((p) => unpacked.has(p))) parts.push(backportsCommand);
  return parts.join(" && ");
}

/** The package the list names for `check` (a command or path), if any. */
export function packageFor(
  check: string,
  list: readonly SystemPackage[] = readSystemPackages(),
): string | undefined {
  return list.find((entry) => entry.check === check)?.package;
}

/** `apt-get install -y <the package that provides check>`, for messages where it is missing. */
export function installCommandFor(check: string): string {
  return aptInstallCommand([packageFor(check) ?? check]);
}

/** "Install Debian's maven (`apt-get install -y maven`) …": the fix for a missing listed command. */
export function installFix(check: string): string {
  const pkg = packageFor(check);
  if (!pkg) return `Install what provides \`${check}\` and put it on PATH.`;
  return `Install Debian's ${pkg} (\`${aptInstallCommand([pkg])}\`); \`npm run demo\` and \`npm test\` install it themselves when run as root.`;
}
