/**
 * The set-up script and `ballast dev doctor` read one list; these tests hold
 * them to the same answer and run the script's install path against a stub
 * apt-get on a PATH made for the test, so nothing is installed or removed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { toolchainDir } from "./paths.ts";
import {
  aptInstallCommand,
  aptUpdateAndInstallCommand,
  backportsRoot,
  checkSystemPackages,
  installCommand,
  locate,
  missingSystemPackages,
  parseBackports,
  parseSystemPackages,
  readAllPackages,
  readBackports,
  readSystemPackages,
  updateAndInstallCommand,
} from "./system-packages.ts";

const script = join(toolchainDir, "system-packages.sh");
const backportsScript = join(toolchainDir, "backports.sh");
const scratch = mkdtempSync(join(tmpdir(), "ballast-system-packages-"));
chmodSync(scratch, 0o755); // the unprivileged run must see its PATH
after(() => rmSync(scratch, { recursive: true, force: true }));

const list = readSystemPackages();
const isRoot = process.getuid?.() === 0;
const machineMissing = missingSystemPackages(checkSystemPackages());
const needsEverything =
  machineMissing.length > 0 &&
  `this machine lacks ${machineMissing.join(" ")} (dev/setup.sh installs them)`;

let dirs = 0;
/**
 * A PATH holding only links to the listed commands, less `without`, and an
 * apt-get stub that logs its calls and, for `install`, links the commands of
 * the packages in `provides`.
 */
function fakeMachine(without: string[], provides: string[] = []) {
  const dir = join(scratch, `machine-${++dirs}`);
  const bin = join(dir, "bin");
  const log = join(dir, "apt-get.log");
  mkdirSync(bin, { recursive: true });
  const link = (check: string) => {
    const real = locate(check);
    return real ? `${locate("ln")} -sf ${real} ${join(bin, check)}` : "";
  };
  for (const { check } of list) {
    if (!check.startsWith("/") && !without.includes(check) && locate(check)) {
      symlinkSync(locate(check) as string, join(bin, check));
    }
  }
  const installs = list.filter((e) => provides.includes(e.package) && !e.check.startsWith("/"));
  const stub = join(bin, "apt-get");
  const body = [
    "#!/bin/bash",
    `echo "$* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >>${log}`,
    `if [[ $1 == install ]]; then ${installs.map((e) => link(e.check)).join("; ") || ":"}; fi`,
  ];
  writeFileSync(stub, `${body.join("\n")}\n`, { mode: 0o755 });
  const env = { PATH: bin };
  const calls = () => {
    try {
      return readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  return { env, calls };
}

function run(env: Record<string, string>, args: string[] = [], asNobody = false) {
  const bash = locate("bash") as string;
  const argv = asNobody
    ? [
        locate("setpriv") as string,
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        bash,
        script,
        ...args,
      ]
    : [bash, script, ...args];
  const result = spawnSync(argv[0] as string, argv.slice(1), { env, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("parseSystemPackages() reads command, package and purpose, and rejects a line without a purpose", () => {
  assert.deepEqual(
    parseSystemPackages(
      "# comment\n\nbusybox   busybox   run busybox images\n/usr/bin/x  x-pkg  do x\n",
    ),
    [
      { check: "busybox", package: "busybox", purpose: "run busybox images" },
      { check: "/usr/bin/x", package: "x-pkg", purpose: "do x" },
    ],
  );
  assert.throws(() => parseSystemPackages("busybox busybox\n"), /line 1 needs .*"busybox busybox"/);
});

test("the list holds every package .ci/run used to install", () => {
  const packages = new Set(list.map((e) => e.package));
  for (const pkg of [
    "openssl",
    "util-linux",
    "iproute2",
    "busybox",
    "redis-server",
    "redis-tools",
    "postgresql-15",
    "openjdk-17-jre-headless",
    "maven",
  ]) {
    assert.ok(packages.has(pkg), pkg);
  }
});

test("system-packages.sh --missing and missingSystemPackages() agree on the same PATH", () => {
  const cases = [
    { PATH: process.env.PATH ?? "" },
    { PATH: join(scratch, "nothing-here") },
    fakeMachine(["busybox", "mvn", "nsenter"]).env,
  ];
  for (const env of cases) {
    const shell = run(env, ["--missing"]);
    assert.equal(shell.code, 0, shell.stderr);
    assert.deepEqual(
      shell.stdout.split("\n").filter(Boolean),
      missingSystemPackages(checkSystemPackages(env)),
      env.PATH,
    );
  }
});

test("parseBackports() reads file, package, exact version and purpose, and rejects a package without a version", () => {
  assert.deepEqual(
    parseBackports("# comment\nvalkey-cli  valkey-tools=8.0.1+dfsg1-1~bpo12+1  give valkey-cli\n"),
    [
      {
        check: "valkey-cli",
        package: "valkey-tools",
        version: "8.0.1+dfsg1-1~bpo12+1",
        purpose: "give valkey-cli",
      },
    ],
  );
  assert.throws(() => parseBackports("valkey-cli valkey-tools run it\n"), /valkey-tools/);
  assert.throws(() => parseBackports("valkey-cli valkey-tools=\n"), /backports\.txt line 1 needs/);
});

test("backportsRoot() is the directory backports.sh --root names, wherever the cache is", () => {
  // cacheDir() takes the home directory from this process, not from `env`.
  const cases: Record<string, string>[] = [
    { HOME: homedir() },
    {},
    { HOME: homedir(), XDG_CACHE_HOME: "/var/cache/xdg" },
    { HOME: "/home/someone", BALLAST_CACHE_DIR: "/srv/ballast-cache" },
  ];
  for (const env of cases) {
    const shell = spawnSync(locate("bash") as string, [backportsScript, "--root"], {
      env,
      encoding: "utf8",
    });
    assert.equal(shell.status, 0, shell.stderr);
    assert.equal(shell.stdout.trim(), backportsRoot(readBackports(), env), JSON.stringify(env));
  }
  // Another version is another directory: pods running on the old one keep it.
  const bumped = readBackports().map((e) => ({ ...e, version: `${e.version}.1` }));
  assert.notEqual(backportsRoot(bumped), backportsRoot(readBackports()));
});

test("system-packages.sh --missing lists the backports packages after the others, as missingSystemPackages() does", () => {
  const emptyCache = join(scratch, "empty-cache");
  mkdirSync(emptyCache, { recursive: true });
  const machine = fakeMachine(["busybox"]);
  const env = { ...machine.env, BALLAST_CACHE_DIR: emptyCache };
  const shell = run(env, ["--missing"]);
  assert.equal(shell.code, 0, shell.stderr);
  const expected = missingSystemPackages(checkSystemPackages(env));
  assert.deepEqual(shell.stdout.split("\n").filter(Boolean), expected);
  assert.deepEqual(expected, ["busybox", "valkey-server", "valkey-sentinel", "valkey-tools"]);
});

test("installCommand() installs Debian's packages with apt-get and leaves the backports ones to backports.sh", () => {
  const list = readAllPackages();
  assert.equal(
    installCommand(["busybox", "valkey-tools"], false, list),
    "sudo apt-get install -y busybox && bash dev/toolchain/backports.sh",
  );
  assert.equal(
    updateAndInstallCommand(["valkey-server", "maven", "valkey-tools"], true, list),
    "apt-get update && apt-get install -y maven && bash dev/toolchain/backports.sh",
  );
  assert.equal(installCommand(["valkey-server"], false, list), "bash dev/toolchain/backports.sh");
  assert.equal(installCommand(["busybox"], true, list), "apt-get install -y busybox");
});

test("aptInstallCommand() puts sudo in front unless root", () => {
  assert.equal(
    aptInstallCommand(["busybox", "maven"], false),
    "sudo apt-get install -y busybox maven",
  );
  assert.equal(aptInstallCommand(["busybox"], true), "apt-get install -y busybox");
  assert.equal(
    aptUpdateAndInstallCommand(["maven"], false),
    "sudo apt-get update && sudo apt-get install -y maven",
  );
});

test("system-packages.sh as root says nothing and calls no apt-get when nothing is missing", {
  skip: (!isRoot && "needs root") || needsEverything,
}, () => {
  const machine = fakeMachine([]);
  const result = run(machine.env);
  assert.deepEqual(result, { code: 0, stdout: "", stderr: "" });
  assert.deepEqual(machine.calls(), []);
});

test("system-packages.sh as root runs apt-get update once and installs only what is missing, noninteractively", {
  skip: (!isRoot && "needs root") || needsEverything,
}, () => {
  const machine = fakeMachine(["busybox", "mvn"], ["busybox", "maven"]);
  const result = run(machine.env);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(machine.calls(), [
    "update -qq DEBIAN_FRONTEND=noninteractive",
    "install -y -qq busybox maven DEBIAN_FRONTEND=noninteractive",
  ]);
  assert.match(result.stderr, /installing system packages: busybox maven/);
  // Installed now: a second run is silent and leaves apt-get alone.
  const again = run(machine.env);
  assert.deepEqual(again, { code: 0, stdout: "", stderr: "" });
  assert.equal(machine.calls().length, 2);
});

test("system-packages.sh as root fails naming a package whose install did not provide its command", {
  skip: (!isRoot && "needs root") || needsEverything,
}, () => {
  const machine = fakeMachine(["busybox"]);
  const result = run(machine.env);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /still missing .*: busybox\./);
});

test("system-packages.sh not as root fails with one message naming the packages and the sudo command", {
  skip: (!isRoot && "switching to an unprivileged user needs root") || needsEverything,
}, () => {
  const machine = fakeMachine(["busybox", "mvn"]);
  const result = run(machine.env, [], true);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "ballast setup: the local cluster needs system packages that are not installed: busybox maven. Install them as root, then run the command again:\n" +
      "  sudo apt-get update && sudo apt-get install -y busybox maven\n",
  );
  assert.deepEqual(machine.calls(), []);
});
