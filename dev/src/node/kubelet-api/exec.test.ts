import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ExecRequestError,
  exitStatus,
  expectedChannels,
  failureStatus,
  parseExecOptions,
} from "./exec.ts";
import { NotFoundError } from "./runtime.ts";

const query = (s: string) => new URLSearchParams(s);

describe("parseExecOptions()", () => {
  it("reads the API server's input/output/error names and the API's stdin/stdout/stderr", () => {
    assert.deepEqual(
      parseExecOptions(query("command=sh&command=-c&command=id&input=1&output=1&error=1")),
      {
        stdin: true,
        stdout: true,
        stderr: true,
        tty: false,
        command: ["sh", "-c", "id"],
      },
    );
    assert.deepEqual(parseExecOptions(query("command=ls&stdout=true")), {
      stdin: false,
      stdout: true,
      stderr: false,
      tty: false,
      command: ["ls"],
    });
  });

  it("folds stderr into stdout for a terminal", () => {
    const options = parseExecOptions(query("command=sh&output=1&error=1&tty=1"));
    assert.equal(options.stderr, false);
    assert.deepEqual(expectedChannels(options), ["error", "stdout", "resize"]);
  });

  it("rejects a request without a command or without any channel", () => {
    assert.throws(() => parseExecOptions(query("output=1")), ExecRequestError);
    assert.throws(
      () => parseExecOptions(query("command=ls")),
      /at least 1 of stdin, stdout, stderr/,
    );
  });
});

describe("exitStatus()", () => {
  it("reports success, a non-zero code, and a signal as 128 + its number", () => {
    assert.deepEqual(exitStatus({ code: 0, signal: null }), { metadata: {}, status: "Success" });
    const failed = exitStatus({ code: 3, signal: null }) as {
      reason: string;
      details: { causes: { reason: string; message: string }[] };
    };
    assert.equal(failed.reason, "NonZeroExitCode");
    assert.deepEqual(failed.details.causes, [{ reason: "ExitCode", message: "3" }]);
    const killed = exitStatus({ code: null, signal: "SIGKILL" }) as typeof failed;
    assert.deepEqual(killed.details.causes, [{ reason: "ExitCode", message: "137" }]);
  });
});

describe("failureStatus()", () => {
  it("keeps NotFound distinct from other start failures", () => {
    assert.deepEqual(failureStatus(new NotFoundError("no pod x")), {
      metadata: {},
      status: "Failure",
      message: "no pod x",
      reason: "NotFound",
      code: 404,
    });
    assert.equal((failureStatus(new Error("spawn sh EACCES")) as { code: number }).code, 500);
  });
});
