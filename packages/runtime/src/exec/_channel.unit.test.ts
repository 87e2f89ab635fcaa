import assert from "node:assert/strict";
import { test } from "node:test";
import { Channel, canCloseStdin, outcomeOf, stdinChunkBytes, stdinMessages } from "./_channel.ts";

test("stdinMessages() prefixes each chunk with channel 0 and ends with v5's close of stdin", () => {
  const messages = stdinMessages(Buffer.from("hi\n"), true);
  assert.deepEqual(messages, [Buffer.from([0, 104, 105, 10]), Buffer.from([255, 0])]);
});

test("stdinMessages() splits large input into whole messages, never fragments", () => {
  const data = Buffer.alloc(stdinChunkBytes * 2 + 5, 1);
  const messages = stdinMessages(data, false);
  assert.deepEqual(
    messages.map((m) => [m[0], m.length - 1]),
    [
      [Channel.stdin, stdinChunkBytes],
      [Channel.stdin, stdinChunkBytes],
      [Channel.stdin, 5],
    ],
  );
  assert.ok(Buffer.concat(messages.map((m) => m.subarray(1))).equals(data));
});

test("stdinMessages() of empty input only closes stdin", () => {
  assert.deepEqual(stdinMessages(new Uint8Array(0), true), [Buffer.from([255, 0])]);
});

test("canCloseStdin() only for v5", () => {
  assert.equal(canCloseStdin("v5.channel.k8s.io"), true);
  assert.equal(canCloseStdin("v4.channel.k8s.io"), false);
});

test("outcomeOf() reads Success as exit code 0", () => {
  assert.deepEqual(outcomeOf('{"metadata":{},"status":"Success"}'), {
    type: "exited",
    exitCode: 0,
  });
});

test("outcomeOf() reads NonZeroExitCode's ExitCode cause", () => {
  const status = {
    metadata: {},
    status: "Failure",
    message: "command terminated with non-zero exit code: exit status 3",
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: "3" }] },
  };
  assert.deepEqual(outcomeOf(JSON.stringify(status)), { type: "exited", exitCode: 3 });
});

test("outcomeOf() takes NonZeroExitCode without a usable ExitCode cause as a failure", () => {
  for (const causes of [
    [],
    [{ reason: "ExitCode", message: "" }],
    [{ reason: "ExitCode", message: "x" }],
  ]) {
    const outcome = outcomeOf(
      JSON.stringify({ status: "Failure", reason: "NonZeroExitCode", details: { causes } }),
    );
    assert.equal(outcome.type, "failed", JSON.stringify(causes));
  }
});

test("outcomeOf() passes any other Failure on as its Status", () => {
  const status = {
    metadata: {},
    status: "Failure",
    message: 'Internal error occurred: container "db" is not running',
    reason: "InternalError",
    code: 500,
  };
  const outcome = outcomeOf(JSON.stringify(status));
  assert.equal(outcome.type, "failed");
  assert.ok(outcome.type === "failed");
  assert.equal(outcome.status.kind, "Status");
  assert.equal(outcome.status.code, 500);
  assert.equal(outcome.status.reason, "InternalError");
  assert.equal(outcome.status.message, status.message);
});

test("outcomeOf() takes plain text (the v1-v3 error channel) as a failure message", () => {
  assert.deepEqual(outcomeOf("container not found\n"), {
    type: "failed",
    status: { kind: "Status", status: "Failure", message: "container not found" },
  });
});
