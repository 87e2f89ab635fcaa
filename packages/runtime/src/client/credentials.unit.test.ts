import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  CredentialError,
  type ExecConfig,
  ExecCredentials,
  parseExecCredential,
  type RunPlugin,
  TokenFileCredentials,
} from "./credentials.ts";

const v1 = "client.authentication.k8s.io/v1";
const plugin = { apiVersion: v1, command: "login" } as const;

function credential(status: Record<string, unknown>, apiVersion: string = v1): string {
  return JSON.stringify({ apiVersion, kind: "ExecCredential", status });
}

test("parseExecCredential() takes a token, a client certificate and an expiry", () => {
  assert.deepEqual(
    parseExecCredential(
      credential({
        token: "abc",
        clientCertificateData: "CERT",
        clientKeyData: "KEY",
        expirationTimestamp: "2030-01-02T03:04:05Z",
      }),
      plugin,
    ),
    {
      material: { token: "abc", cert: "CERT", key: "KEY" },
      expiresAt: Date.parse("2030-01-02T03:04:05Z"),
    },
  );
  // No expiry: good until the server refuses it.
  assert.equal(
    parseExecCredential(credential({ token: "abc" }), plugin).expiresAt,
    Number.POSITIVE_INFINITY,
  );
});

test("parseExecCredential() rejects output that is not a usable ExecCredential, naming the command", () => {
  const cases: [string, RegExp][] = [
    ["Please log in first", /login printed no ExecCredential JSON/],
    [JSON.stringify({ kind: "Status" }), /kind "Status", not "ExecCredential"/],
    [
      credential({ token: "x" }, "client.authentication.k8s.io/v1beta1"),
      /apiVersion "client.authentication.k8s.io\/v1beta1", but the kubeconfig asked for client.authentication.k8s.io\/v1/,
    ],
    [JSON.stringify({ apiVersion: v1, kind: "ExecCredential" }), /without status/],
    [credential({}), /neither status.token nor a client certificate/],
    [credential({ clientCertificateData: "CERT" }), /only one of/],
    [credential({ token: 7 }), /a number as status.token/],
    [credential({ token: "x", expirationTimestamp: "tomorrow" }), /not an RFC 3339 time/],
  ];
  for (const [stdout, message] of cases) {
    assert.throws(
      () => parseExecCredential(stdout, plugin),
      (error: Error) =>
        error instanceof CredentialError &&
        error.name === "CredentialError" &&
        message.test(error.message),
      stdout,
    );
  }
});

/** A fake plugin: answers from `outputs` in turn, records each run's environment. */
function fakePlugin(outputs: string[]) {
  const runs: NodeJS.ProcessEnv[] = [];
  const run: RunPlugin = async (_command, _args, env) => {
    runs.push(env);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const stdout = outputs[Math.min(runs.length - 1, outputs.length - 1)] ?? "";
    return { code: 0, stdout, stderr: "" };
  };
  return { runs, run };
}

const execConfig: ExecConfig = {
  apiVersion: v1,
  command: "login",
  args: [],
  env: [{ name: "REGION", value: "eu" }],
  cluster: { server: "https://k" },
};

test("ExecCredentials runs the plugin once, keeps the answer until expirationTimestamp, then runs it again", async () => {
  let now = Date.parse("2030-01-01T00:00:00Z");
  const { runs, run } = fakePlugin([
    credential({ token: "one", expirationTimestamp: "2030-01-01T00:10:00Z" }),
    credential({ token: "two" }),
  ]);
  const credentials = new ExecCredentials(execConfig, { now: () => now, run, env: { HOME: "/h" } });
  // Requests arriving together share one run.
  const answers = await Promise.all([credentials.get(), credentials.get(), credentials.get()]);
  assert.deepEqual(
    answers.map((a) => a.token),
    ["one", "one", "one"],
  );
  now += 9 * 60_000;
  assert.equal((await credentials.get()).token, "one");
  assert.equal(runs.length, 1);
  now += 60_000;
  assert.equal((await credentials.get()).token, "two");
  assert.equal(runs.length, 2);

  const env = runs[0] ?? {};
  assert.equal(env.HOME, "/h");
  assert.equal(env.REGION, "eu");
  assert.deepEqual(JSON.parse(env.KUBERNETES_EXEC_INFO ?? ""), {
    apiVersion: v1,
    kind: "ExecCredential",
    spec: { interactive: false, cluster: { server: "https://k" } },
  });
});

test("ExecCredentials runs the plugin again on refresh (a 401), even before the expiry", async () => {
  const { runs, run } = fakePlugin([
    credential({ token: "stale" }),
    credential({ token: "fresh" }),
  ]);
  const credentials = new ExecCredentials(execConfig, { run });
  assert.equal((await credentials.get()).token, "stale");
  assert.equal((await credentials.get()).token, "stale");
  assert.equal((await credentials.get(true)).token, "fresh");
  assert.equal(runs.length, 2);
});

test("ExecCredentials reports a failing plugin with its exit code and stderr, and a missing one with its install hint", async () => {
  const failing = new ExecCredentials(execConfig, {
    run: async () => ({ code: 3, stdout: "", stderr: "token expired, run `login --sso`\n" }),
  });
  await assert.rejects(failing.get(), {
    name: "CredentialError",
    message: "exec plugin login exited with code 3: token expired, run `login --sso`",
  });
  const missing = new ExecCredentials(
    { ...execConfig, command: "/nonexistent/login", installHint: "Install login from example.com" },
    { env: {} },
  );
  await assert.rejects(missing.get(), (error: Error) => {
    assert.ok(error instanceof CredentialError);
    assert.match(error.message, /\/nonexistent\/login could not be started.*ENOENT/);
    assert.match(error.message, /Install login from example\.com/);
    return true;
  });
});

test("ExecCredentials does not keep a failure: the next request runs the plugin again", async () => {
  let calls = 0;
  const credentials = new ExecCredentials(execConfig, {
    run: async () => {
      calls++;
      return calls === 1
        ? { code: 1, stdout: "", stderr: "network down" }
        : { code: 0, stdout: credential({ token: "ok" }), stderr: "" };
    },
  });
  await assert.rejects(credentials.get(), /network down/);
  assert.equal((await credentials.get()).token, "ok");
});

const dir = mkdtempSync(join(tmpdir(), "credentials-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("TokenFileCredentials re-reads the file once maxAgeMs has passed, or at once on refresh", async () => {
  const path = join(dir, "token");
  writeFileSync(path, "first\n");
  let now = 0;
  const credentials = new TokenFileCredentials(path, { maxAgeMs: 60_000, now: () => now });
  assert.deepEqual(await credentials.get(), { token: "first" });
  writeFileSync(path, "second");
  now = 59_000;
  assert.deepEqual(await credentials.get(), { token: "first" });
  now = 60_000;
  assert.deepEqual(await credentials.get(), { token: "second" });
  writeFileSync(path, "third");
  assert.deepEqual(await credentials.get(true), { token: "third" });
});

test("TokenFileCredentials names a missing or empty token file", async () => {
  const missing = join(dir, "missing");
  await assert.rejects(new TokenFileCredentials(missing).get(), {
    name: "CredentialError",
    message: new RegExp(`cannot read token file ${missing}`),
  });
  const empty = join(dir, "empty");
  writeFileSync(empty, "\n");
  await assert.rejects(new TokenFileCredentials(empty).get(), {
    message: `token file ${empty} is empty`,
  });
});
