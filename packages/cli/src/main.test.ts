import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ballast } from "./_test-cli.ts";

// No cluster needed: these are the answers given before, or instead of, one.
const dir = mkdtempSync(join(tmpdir(), "ballast-cli-test-"));
let deadKubeconfig: string;
let deadServer: string;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  deadServer = `https://127.0.0.1:${await closedPort()}`;
  deadKubeconfig = join(dir, "dead.kubeconfig");
  writeFileSync(
    deadKubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "gone", cluster: { server: deadServer, "insecure-skip-tls-verify": true } },
      ],
      users: [{ name: "me", user: { token: "t" } }],
      contexts: [{ name: "gone", context: { cluster: "gone", user: "me" } }],
      "current-context": "gone",
    }),
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");

describe("ballast --help", () => {
  test("lists every command", async () => {
    const { code, stdout } = await ballast(["--help"]);
    assert.equal(code, 0);
    for (const command of [
      "install",
      "run",
      "status",
      "roll",
      "switchover",
      "psql",
      "dev up",
      "dev down",
    ]) {
      assert.match(stdout, new RegExp(`^  ${command}\\s{2,}\\S`, "m"), command);
    }
  });

  const options: Record<string, string[]> = {
    install: ["--kubeconfig <file>", "--context <name>", "--request-timeout <seconds>"],
    run: [
      "--operator <name>",
      "--install-crds",
      "-n, --namespace <ns>",
      "--metrics-port <port>",
      "--health-port <port>",
      "--leader-elect",
      "--lease-namespace <ns>",
      "--kubeconfig <file>",
      "--context <name>",
    ],
    status: [
      "-n, --namespace <ns>",
      "-o, --output <format>",
      "--kubeconfig <file>",
      "--context",
      "--request-timeout <seconds>",
    ],
    roll: ["-n, --namespace <ns>", "--kubeconfig <file>", "--context <name>", "--request-timeout"],
    switchover: ["--to <id>", "-n, --namespace <ns>", "--kubeconfig <file>", "--context <name>"],
    psql: [
      "-- PSQL_ARGS",
      "-n, --namespace <ns>",
      "--kubeconfig <file>",
      "--request-timeout <seconds>",
    ],
  };
  for (const [command, flags] of Object.entries(options)) {
    test(`${command} --help exits 0 and describes its options`, async () => {
      const { code, stdout, stderr } = await ballast([command, "--help"]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, new RegExp(`^Usage: ballast ${command}`, "m"));
      for (const flag of flags) assert.ok(stdout.includes(flag), `${command}: ${flag}\n${stdout}`);
    });
  }

  test("psql passes what follows -- to psql: its --help and -h are not ballast's", async () => {
    for (const psqlArgs of [["--help"], ["-h", "elsewhere", "-c", "SELECT 1"]]) {
      const { code, stdout, stderr } = await ballast([
        "psql",
        "main",
        "--kubeconfig",
        deadKubeconfig,
        "--",
        ...psqlArgs,
      ]);
      assert.equal(code, 1, stdout);
      assert.match(stderr, /^ballast psql: cannot reach the API server/, psqlArgs.join(" "));
    }
  });

  test("switchover --to takes an instance id; psql takes one cluster, then psql's arguments after --", async () => {
    const to = await ballast(["switchover", "main", "--to", "two"]);
    assert.equal(to.code, 2);
    assert.match(to.stderr, /--to takes an instance id \(0, 1, …\), not "two"/);
    const extra = await ballast(["psql", "main", "-c", "SELECT 1"]);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /Unknown option '-c'/);
    const words = await ballast(["psql", "main", "SELECT"]);
    assert.equal(words.code, 2);
    assert.match(words.stderr, /e\.g\. ballast psql main -- SELECT/);
    const kind = await ballast(["switchover", "kafkacluster/events"]);
    assert.equal(kind.code, 2);
    assert.match(
      kind.stderr,
      /unknown kind "kafkacluster": expected one of postgrescluster\|postgresclusters\|pgc/,
    );
  });

  test("an unknown command is named, with the list of commands", async () => {
    const { code, stderr } = await ballast(["deploy", "kafka"]);
    assert.equal(code, 2);
    assert.match(stderr, /unknown command "deploy kafka"/);
    assert.match(stderr, /^ {2}install/m);
  });
});

/** A kubeconfig for `server`, written into the test's directory. */
function kubeconfigFor(file: string, server: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "gone", cluster: { server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "me", user: { token: "t" } }],
      contexts: [{ name: "gone", context: { cluster: "gone", user: "me" } }],
      "current-context": "gone",
    }),
  );
  return path;
}

describe("connection errors", () => {
  test("a missing kubeconfig file is named", async () => {
    const missing = join(dir, "nope.kubeconfig");
    for (const args of [["status", "kc/events"], ["install"], ["roll", "kc/events"], ["run"]]) {
      const { code, stderr } = await ballast([...args, "--kubeconfig", missing]);
      assert.equal(code, 1, args.join(" "));
      assert.equal(stderr.trim(), `ballast ${args[0]}: kubeconfig ${missing}: no such file`);
    }
  });

  test("without --kubeconfig or $KUBECONFIG, the default file is named and the options suggested", async () => {
    const { code, stderr } = await ballast(["status", "kc/events"], { HOME: dir });
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`kubeconfig ${join(dir, ".kube", "config")}: no such file`));
    assert.match(stderr, /--kubeconfig or \$KUBECONFIG/);
    noStack(stderr);
  });

  test("a kubeconfig that is not YAML is named, in one line", async () => {
    const broken = join(dir, "broken.kubeconfig");
    writeFileSync(broken, "clusters: [\n  - name: x\n");
    const { code, stderr } = await ballast(["status", "kc/events", "--kubeconfig", broken]);
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`^ballast status: kubeconfig ${broken}: not valid YAML`));
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
  });

  test("a context the kubeconfig lacks is named with the ones it has", async () => {
    const args = ["status", "kc/events", "--kubeconfig", deadKubeconfig, "--context", "prod"];
    const { code, stderr } = await ballast(args);
    assert.equal(code, 1);
    assert.match(stderr, /context "prod" is not defined \(contexts: gone\)/);
  });

  test("an API server that does not answer is named, for every command", async () => {
    for (const args of [
      ["status", "kc/events"],
      ["install"],
      ["roll", "kc/events"],
      ["run", "--install-crds"],
      ["switchover", "main"],
      ["psql", "main"],
    ]) {
      const { code, stderr } = await ballast([...args, "--kubeconfig", deadKubeconfig]);
      assert.equal(code, 1, `${args.join(" ")}: ${stderr}`);
      assert.match(
        stderr,
        new RegExp(
          `^ballast ${args[0]}: cannot reach the API server at ${deadServer}/ \\(.*ECONNREFUSED`,
          "m",
        ),
      );
      noStack(stderr);
    }
  });

  test("an API server that accepts connections but never answers is given up on after --request-timeout", async () => {
    // Holds every connection open and says nothing, like a hung API server.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const kubeconfig = kubeconfigFor("silent.kubeconfig", `https://127.0.0.1:${port}`);
    try {
      for (const args of [
        ["status", "kc/events"],
        ["roll", "kc/events"],
        ["install"],
        ["switchover", "pgc/main"],
        ["psql", "pgc/main"],
      ]) {
        const started = Date.now();
        const { code, stderr } = await ballast([
          ...args,
          "--kubeconfig",
          kubeconfig,
          "--request-timeout",
          "1.5",
        ]);
        assert.equal(code, 1, `${args.join(" ")}: ${stderr}`);
        assert.match(
          stderr,
          new RegExp(
            `^ballast ${args[0]}: cannot reach the API server at https://127.0.0.1:${port}/ \\(no answer within 1.5s\\)`,
          ),
        );
        assert.ok(Date.now() - started < 15_000, "the process ends soon after the deadline");
      }
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });
});
