/**
 * The system packages the local cluster and its images need, as
 * `dev/toolchain/system-packages.txt` lists them. The set-up that `npm run
 * demo` and `npm test` run (`dev/toolchain/system-packages.sh`) installs from
 * the same file and `ballast dev doctor` reports from it, so they cannot
 * disagree; "present" here means what the script's `command -v` (a command)
 * or `[[ -x ]]` (an absolute path) finds, and a test holds the two to it.
 */
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { toolchainDir } from "./paths.ts";

export interface SystemPackage {
  /** A command looked up on PATH, or an absolute path that must be executable. */
  check: string;
  /** The Debian package that provides it. */
  package: string;
  /** What Ballast uses it for, worded to follow "needed to". */
  purpose: string;
}

export const systemPackagesFile = join(toolchainDir, "system-packages.txt");

/** One entry per line `<check> <package> <purpose…>`; `#` comments and blank lines skipped. */
export function parseSystemPackages(text: string): SystemPackage[] {
  const entries: SystemPackage[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [check, pkg, ...purpose] = line.split(/\s+/);
    if (!check || !pkg || purpose.length === 0) {
      throw new Error(
        `system-packages.txt line ${index + 1} needs "<command or path> <package> <purpose>", not "${line}"`,
      );
    }
    entries.push({ check, package: pkg, purpose: purpose.join(" ") });
  }
  return entries;
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

export function checkSystemPackages(
  env: NodeJS.ProcessEnv = process.env,
  list: readonly SystemPackage[] = readSystemPackages(),
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
