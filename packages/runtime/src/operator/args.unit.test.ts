import assert from "node:assert/strict";
import { test } from "node:test";
import { OperatorArgsError, parseOperatorArgs } from "./args.ts";

const parse = (args: string[], env: Record<string, string> = {}) =>
  parseOperatorArgs({ args, env, defaultLeaseName: "ballast-kafka-operator" });

test("parseOperatorArgs() defaults: all namespaces, ports 8080/8081, no leader election, info", () => {
  assert.deepEqual(parse([]), {
    installCrds: false,
    namespaces: [],
    kubeconfig: undefined,
    metricsPort: 8080,
    healthPort: 8081,
    leaderElection: false,
    logLevel: "info",
    traceFile: undefined,
    help: false,
  });
});

test("parseOperatorArgs() takes --namespace repeated and comma-separated, each once", () => {
  const { namespaces } = parse(["--namespace", "a,b", "--namespace=c", "--namespace", "a"]);
  assert.deepEqual(namespaces, ["a", "b", "c"]);
});

test("parseOperatorArgs() turns leader election on from POD_NAMESPACE, else LEADER_ELECTION_NAMESPACE", () => {
  assert.deepEqual(
    parse([], { POD_NAMESPACE: "ops", LEADER_ELECTION_NAMESPACE: "x" }).leaderElection,
    {
      leaseName: "ballast-kafka-operator",
      namespace: "ops",
    },
  );
  assert.deepEqual(
    parse(["--lease-name", "r-ballast-kafka"], { LEADER_ELECTION_NAMESPACE: "x" }).leaderElection,
    {
      leaseName: "r-ballast-kafka",
      namespace: "x",
    },
  );
});

test("parseOperatorArgs() reads ports, log level, trace file, --install-crds and --kubeconfig", () => {
  const got = parse(["--install-crds", "--kubeconfig", "/k"], {
    METRICS_PORT: "0",
    HEALTH_PORT: "9000",
    BALLAST_LOG_LEVEL: "DEBUG",
    BALLAST_TRACE_REQUESTS: "/tmp/trace",
  });
  assert.equal(got.installCrds, true);
  assert.equal(got.kubeconfig, "/k");
  assert.equal(got.metricsPort, 0);
  assert.equal(got.healthPort, 9000);
  assert.equal(got.logLevel, "debug");
  assert.equal(got.traceFile, "/tmp/trace");
});

test("parseOperatorArgs() refuses, naming the bad value: unknown flags, bad ports, bad log levels", () => {
  assert.throws(() => parse(["--namespaces", "a"]), OperatorArgsError);
  assert.throws(() => parse(["extra"]), OperatorArgsError);
  assert.throws(
    () => parse([], { METRICS_PORT: "80a" }),
    /\$METRICS_PORT must be a TCP port.*"80a"/,
  );
  assert.throws(() => parse([], { HEALTH_PORT: "70000" }), /\$HEALTH_PORT/);
  assert.throws(
    () => parse([], { BALLAST_LOG_LEVEL: "loud" }),
    (e: Error) => {
      assert.ok(e instanceof OperatorArgsError);
      assert.match(e.message, /loud/);
      return true;
    },
  );
  assert.throws(() => parse(["--lease-name="]), /--lease-name must not be empty/);
});
