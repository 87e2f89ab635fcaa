import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { noopLogger } from "../reconcile/index.ts";
import {
  createLogger,
  InvalidLogLevelError,
  logLevelEnv,
  parseLogLevel,
  withFields,
} from "./index.ts";

function capture(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "debug",
    now: () => new Date("2026-01-02T03:04:05.000Z"),
    ...options,
    write: (line) => lines.push(JSON.parse(line)),
  });
  return { logger, lines };
}

describe("createLogger", () => {
  test("createLogger() writes one JSON object per line with time, level, msg and fields", () => {
    const raw: string[] = [];
    const logger = createLogger({
      level: "info",
      now: () => new Date("2026-01-02T03:04:05.000Z"),
      write: (line) => raw.push(line),
    });
    logger.info("reconciled", { key: "ns/a", durationMs: 12 });
    assert.equal(raw.length, 1);
    assert.equal(raw[0]?.includes("\n"), false);
    assert.deepEqual(JSON.parse(raw[0] ?? ""), {
      time: "2026-01-02T03:04:05.000Z",
      level: "info",
      msg: "reconciled",
      key: "ns/a",
      durationMs: 12,
    });
  });

  test("createLogger() drops lines below its level", () => {
    const { logger, lines } = capture({ level: "warn" });
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    assert.deepEqual(
      lines.map((l) => l.level),
      ["warn", "error"],
    );
    assert.equal(logger.enabled("info"), false);
    assert.equal(logger.enabled("error"), true);
  });

  test("createLogger() takes its level from the environment, and rejects a bad one by name", () => {
    const saved = process.env[logLevelEnv];
    try {
      process.env[logLevelEnv] = "ERROR";
      assert.equal(createLogger({ write: () => {} }).level, "error");
      process.env[logLevelEnv] = "loud";
      assert.throws(
        () => createLogger({ write: () => {} }),
        (e: unknown) => e instanceof InvalidLogLevelError && e.message.includes('"loud"'),
      );
    } finally {
      if (saved === undefined) delete process.env[logLevelEnv];
      else process.env[logLevelEnv] = saved;
    }
  });

  test("child() binds fields to every line without changing the parent", () => {
    const { logger, lines } = capture();
    const child = logger.child({ controller: "greeting" }).child({ key: "ns/a" });
    child.info("one", { extra: true });
    logger.info("two");
    assert.deepEqual(lines[0], {
      time: "2026-01-02T03:04:05.000Z",
      level: "info",
      msg: "one",
      controller: "greeting",
      key: "ns/a",
      extra: true,
    });
    assert.equal("controller" in (lines[1] ?? {}), false);
  });

  test("fields named like credentials are never printed, however deeply nested", () => {
    const raw: string[] = [];
    const logger = createLogger({ level: "debug", write: (line) => raw.push(line) });
    logger.info("request", {
      password: "hunter2",
      user: { name: "ada", apiKey: "k-123", nested: [{ refresh_token: "t-456" }] },
      headers: { Authorization: "Bearer abc.def" },
      clientSecret: "s-789",
      error: Object.assign(new Error("failed"), { token: "t-000" }),
    });
    const line = raw[0] ?? "";
    for (const secret of ["hunter2", "k-123", "t-456", "abc.def", "s-789", "t-000"]) {
      assert.equal(line.includes(secret), false, `${secret} leaked: ${line}`);
    }
    const parsed = JSON.parse(line);
    assert.equal(parsed.password, "[REDACTED]");
    assert.equal(parsed.user.name, "ada");
  });

  test("errors keep name, message, extra fields and cause; cycles do not throw", () => {
    const { logger, lines } = capture();
    const cause = Object.assign(new Error("409 conflict"), { code: 409 });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    logger.error("failed", { error: new TypeError("bad", { cause }), cyclic, n: 10n });
    const line = lines[0] ?? {};
    const error = line.error as Record<string, unknown>;
    assert.equal(error.name, "TypeError");
    assert.equal(error.message, "bad");
    assert.deepEqual((error.cause as Record<string, unknown>).code, 409);
    assert.deepEqual(line.cyclic, { a: 1, self: "[Circular]" });
    assert.equal(line.n, "10");
  });

  test("a field cannot overwrite time, level or msg", () => {
    const { logger, lines } = capture();
    logger.warn("real", { msg: "fake", level: "debug" });
    assert.equal(lines[0]?.msg, "real");
    assert.equal(lines[0]?.level, "warn");
  });
});

describe("withFields", () => {
  test("withFields() binds fields on a logger that has no child()", () => {
    const seen: unknown[] = [];
    const plain = {
      ...noopLogger,
      info: (msg: string, fields?: unknown) => seen.push([msg, fields]),
    };
    withFields(plain, { key: "a" }).info("x", { n: 1 });
    assert.deepEqual(seen, [["x", { key: "a", n: 1 }]]);
  });
});

describe("parseLogLevel", () => {
  test("parseLogLevel() accepts every level in any case", () => {
    for (const level of ["debug", "INFO", " warn ", "Error", "silent"]) {
      assert.equal(parseLogLevel(level), level.trim().toLowerCase());
    }
  });
});
