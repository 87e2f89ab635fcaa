/**
 * `ballast dev …` as a user runs it: separate processes, real clusters, and
 * the failures a user meets (busy port, crashed run, missing toolchain, no
 * module proxy), each of which must give one clear message and leave nothing
 * running.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  type ClusterState,
  checkSystemPackages,
  isRunning,
  readSystemPackages,
  repoRoot,
} from "@ballast/dev";

const bin = join(repoRoot, "packages", "cli", "bin", "ballast.js");
const home = mkdtempSync(join(tmpdir(), "ballast-cli-test-"));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function ballast(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, BALLAST_HOME: home, ...env }, timeout: 300_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const stateOf = (name: string): ClusterState =>
  JSON.parse(readFileSync(join(home, "clusters", name, "state.json"), "utf8")) as ClusterState;

/** Processes of every cluster this file started, to prove none outlives it. */
const seen: ClusterState["processes"] = [];

after(async () => {
  for (const name of ["one", "two", "crash", "busy"])
    await ballast(["dev", "down", "--name", name]);
  rmSync(home, { recursive: true, force: true });
  const orphans = seen.filter(isRunning);
  assert.deepEqual(
    orphans.map((p) => p.name),
    [],
    "no process of a stopped cluster may survive",
  );
});

test("dev up starts a cluster that kubectl reaches; dev status reports it; dev down leaves no process", async () => {
  const up = await ballast(["dev", "up", "--name", "one", "--nodes", "1"]);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /Cluster "one" is up .*1 node\(s\)/);
  assert.match(up.stdout, /export KUBECONFIG=/);
  const state = stateOf("one");
  seen.push(...state.processes);
  assert.deepEqual(state.processes.map((p) => p.name).sort(), [
    "addons",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-proxy",
    "kube-scheduler",
    "node-1",
  ]);
  assert.deepEqual(state.nodes, ["one-node-1"]);

  const kubectl = join(home, "bin", "kubectl");
  const kubeconfig = join(home, "one.kubeconfig");
  const nodes = await new Promise<Run>((resolve) =>
    execFile(
      kubectl,
      [`--kubeconfig=${kubeconfig}`, "get", "--raw", "/readyz"],
      (e, stdout, stderr) => resolve({ code: e ? 1 : 0, stdout, stderr }),
    ),
  );
  assert.equal(nodes.code, 0, nodes.stderr);
  assert.equal(nodes.stdout.trim(), "ok");

  const status = await ballast(["dev", "status", "--name", "one"]);
  assert.equal(status.code, 0, status.stdout);
  assert.match(status.stdout, /Cluster "one": running/);
  assert.match(status.stdout, new RegExp(state.server.replace(/\./g, "\\.")));

  const down = await ballast(["dev", "down", "--name", "one"]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(state.processes.filter(isRunning), [], "dev down must stop every process");

  const after = await ballast(["dev", "status", "--name", "one"]);
  assert.equal(after.code, 3);
  assert.match(after.stdout, /not running/);
});

test("two clusters run side by side on different ports", async () => {
  const [one, two] = await Promise.all([
    ballast(["dev", "up", "--name", "one", "--nodes", "1"]),
    ballast(["dev", "up", "--name", "two", "--nodes", "1"]),
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  const a = stateOf("one");
  const b = stateOf("two");
  seen.push(...a.processes, ...b.processes);
  assert.notEqual(a.server, b.server);
  assert.equal(new Set([...Object.values(a.ports), ...Object.values(b.ports)]).size, 10);
  assert.notEqual(a.networkOctet, b.networkOctet, "each cluster has its own pod network");
  for (const name of ["one", "two"]) {
    assert.equal((await ballast(["dev", "status", "--name", name])).code, 0);
  }
  await ballast(["dev", "down", "--name", "one"]);
  await ballast(["dev", "down", "--name", "two"]);
  assert.deepEqual([...a.processes, ...b.processes].filter(isRunning), []);
});

test("a port in use gives one clear message and starts nothing", async () => {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  try {
    const up = await ballast([
      "dev",
      "up",
      "--name",
      "busy",
      "--nodes",
      "0",
      "--port",
      String(address.port),
    ]);
    assert.equal(up.code, 1);
    assert.match(
      up.stderr,
      new RegExp(`Port 127\\.0\\.0\\.1:${address.port} \\(--port\\) is already in use`),
    );
    assert.match(up.stderr, /→ .*leave --port out/);
    const status = await ballast(["dev", "status", "--name", "busy"]);
    assert.equal(status.code, 3, "nothing may be running after the refusal");
  } finally {
    server.close();
  }
});

test("a data directory left by a crashed run is reported with the fix, which works", async () => {
  const up = await ballast(["dev", "up", "--name", "crash", "--nodes", "0"]);
  assert.equal(up.code, 0, up.stderr);
  const state = stateOf("crash");
  seen.push(...state.processes);
  // A crash: every process dies at once, nothing is cleaned up.
  for (const p of state.processes) process.kill(p.pid, "SIGKILL");
  await new Promise((r) => setTimeout(r, 300));

  const again = await ballast(["dev", "up", "--name", "crash"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no longer running/);
  assert.match(again.stderr, /→ Run `npx ballast dev down`/);

  const status = await ballast(["dev", "status", "--name", "crash"]);
  assert.equal(status.code, 1);
  assert.match(status.stdout, /DEGRADED/);

  assert.equal((await ballast(["dev", "down", "--name", "crash"])).code, 0);
  const fresh = await ballast(["dev", "up", "--name", "crash", "--nodes", "0"]);
  assert.equal(fresh.code, 0, fresh.stderr);
  seen.push(...stateOf("crash").processes);
  assert.equal((await ballast(["dev", "down", "--name", "crash"])).code, 0);
});

test("a missing Go toolchain is named, with the fix, when a binary must be built", async () => {
  const emptyCache = mkdtempSync(join(tmpdir(), "ballast-empty-cache-"));
  try {
    // No nodes: a cluster with nodes checks for nft (in /usr/sbin) first.
    const up = await ballast(["dev", "up", "--name", "nogo", "--nodes", "0"], {
      BALLAST_CACHE_DIR: emptyCache,
      // node itself is run by absolute path; PATH keeps the basics only.
      PATH: "/usr/bin:/bin",
    });
    assert.equal(up.code, 1);
    assert.match(up.stderr, /The go toolchain was not found/);
    assert.match(up.stderr, /→ Install Go 1\.26 or newer/);
    assert.equal((await ballast(["dev", "status", "--name", "nogo"])).code, 3);
  } finally {
    rmSync(emptyCache, { recursive: true, force: true });
  }
});

test("a failed Go module download is named, with the fix", async () => {
  const emptyCache = mkdtempSync(join(tmpdir(), "ballast-empty-cache-"));
  const emptyModCache = mkdtempSync(join(tmpdir(), "ballast-empty-gomod-"));
  try {
    const up = await ballast(["dev", "up", "--name", "noproxy"], {
      BALLAST_CACHE_DIR: emptyCache,
      GOMODCACHE: emptyModCache,
      // Nothing listens on port 9 of loopback: the download is refused at once.
      GOPROXY: "http://127.0.0.1:9",
      GOSUMDB: "off",
    });
    assert.equal(up.code, 1);
    assert.match(up.stderr, /Go modules could not be downloaded/);
    assert.match(up.stderr, /GOPROXY=http:\/\/127\.0\.0\.1:9/);
    assert.equal((await ballast(["dev", "status", "--name", "noproxy"])).code, 3);
  } finally {
    // Go marks module files read-only; make them removable first.
    await new Promise((r) => execFile("chmod", ["-R", "u+w", emptyModCache], r));
    rmSync(emptyCache, { recursive: true, force: true });
    rmSync(emptyModCache, { recursive: true, force: true });
  }
});

test("dev doctor on a machine set up by dev/setup.sh finds Go and every system package", async () => {
  const doctor = await ballast(["dev", "doctor"]);
  assert.equal(doctor.code, 0, doctor.stdout);
  assert.doesNotMatch(doctor.stdout, /MISSING/);
  for (const { package: pkg } of readSystemPackages()) {
    assert.match(doctor.stdout, new RegExp(`ok\\s+${pkg}\\s+/`), pkg);
  }
  assert.match(doctor.stdout, /ok\s+go\s+go version/);
});

test("dev doctor lists each missing package with the command that installs it, as the set-up script finds them", async () => {
  // A PATH with every listed command but busybox's and Maven's (and no Go).
  const bin = mkdtempSync(join(tmpdir(), "ballast-doctor-bin-"));
  try {
    for (const c of checkSystemPackages()) {
      if (c.found && !c.check.startsWith("/") && !["busybox", "mvn"].includes(c.check)) {
        symlinkSync(c.found, join(bin, c.check));
      }
    }
    const doctor = await ballast(["dev", "doctor"], { PATH: bin });
    assert.equal(doctor.code, 1);
    assert.match(doctor.stdout, /MISSING\s+go\s+The go toolchain was not found/);
    assert.match(doctor.stdout, /→ Install Go 1\.26 or newer/);
    assert.match(doctor.stdout, /MISSING\s+busybox\s+→ (sudo )?apt-get install -y busybox\n/);
    assert.match(doctor.stdout, /no busybox on PATH: needed to run busybox and alpine images/);
    assert.match(doctor.stdout, /MISSING\s+maven\s+→ (sudo )?apt-get install -y maven\n/);
    assert.match(doctor.stdout, /ok\s+openjdk-17-jre-headless\s+\S+\/java \(openjdk version/);

    // The same list the set-up installs from, and the same verdict.
    const setup = await new Promise<string>((resolve, reject) =>
      execFile(
        // By its path: the child's PATH is the test's, where bash is not.
        execFileSync("bash", ["-c", "command -v bash"], { encoding: "utf8" }).trim(),
        [join(repoRoot, "dev", "toolchain", "system-packages.sh"), "--missing"],
        { env: { PATH: bin } },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    const missing = setup.trim().split("\n").join(" ");
    assert.equal(missing, "busybox maven");
    assert.match(
      doctor.stdout,
      new RegExp(
        `Missing system packages: ${missing}\\. Install them all with:\n  (sudo )?apt-get update && (sudo )?apt-get install -y ${missing}\n`,
      ),
    );
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test("every command answers --help, and an unknown one is refused with the list", async () => {
  for (const command of ["dev up", "dev down", "dev status", "dev doctor"]) {
    const help = await ballast([...command.split(" "), "--help"]);
    assert.equal(help.code, 0, command);
    assert.match(help.stdout, new RegExp(`Usage: ballast ${command}`));
  }
  const unknown = await ballast(["dev", "sideways"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "dev sideways"/);
  assert.match(unknown.stderr, /dev up/);
  const badFlag = await ballast(["dev", "up", "--port", "seventy"]);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--port must be a TCP port number/);
});
