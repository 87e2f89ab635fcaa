import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  configHash,
  diffConfig,
  operatorOwnedKeys,
  parseProperties,
  renderProperties,
  validateUserConfig,
} from "./config.ts";

test("validateUserConfig() tells the user to remove keys the operator assigns", () => {
  assert.deepEqual(validateUserConfig({ "node.id": "3", "log.retention.ms": "1000" }), [
    "spec.config sets node.id, which the operator assigns; remove it",
  ]);
  for (const key of operatorOwnedKeys) {
    assert.equal(validateUserConfig({ [key]: "x" }).length, 1, key);
  }
});

test("validateUserConfig() rejects keys that are not dotted lowercase names and accepts empty values", () => {
  const problems = validateUserConfig({
    "Log.Retention.MS": "1",
    "log..dirs": "1",
    "bad key": "1",
    "": "1",
    "num.partitions": "",
    "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": "x",
  });
  assert.equal(problems.length, 4);
  assert.match(problems.join("\n"), /"Log\.Retention\.MS" is not a Kafka setting name/);
  assert.ok(problems.every((p) => p.endsWith("fix or remove it")));
});

const arbConfig = fc.dictionary(
  fc.constantFrom("a", "b", "c", "d", "e", "f"),
  fc.constantFrom("1", "2", ""),
);
const arbDynamic = fc
  .subarray(["a", "b", "c", "d", "e", "f"])
  .map((keys): ReadonlySet<string> => new Set(keys));

test("diffConfig() puts every changed key in exactly one bucket and unchanged keys in none", () => {
  fc.assert(
    fc.property(arbConfig, arbConfig, arbDynamic, (desired, applied, dynamicKeys) => {
      const diff = diffConfig(desired, applied, dynamicKeys);
      for (const key of ["a", "b", "c", "d", "e", "f"]) {
        const changed =
          Object.hasOwn(desired, key) !== Object.hasOwn(applied, key) ||
          desired[key] !== applied[key];
        const buckets =
          Number(Object.hasOwn(diff.dynamic.set, key)) +
          Number(diff.dynamic.delete.includes(key)) +
          Number(diff.restart.includes(key));
        assert.equal(buckets, changed ? 1 : 0, key);
        if (!changed) continue;
        if (!dynamicKeys.has(key)) assert.ok(diff.restart.includes(key));
        else if (Object.hasOwn(desired, key)) assert.equal(diff.dynamic.set[key], desired[key]);
        else assert.ok(diff.dynamic.delete.includes(key));
      }
      assert.deepEqual(diff.restart, [...diff.restart].sort());
    }),
  );
});

test("diffConfig() of a config against itself is empty", () => {
  fc.assert(
    fc.property(arbConfig, arbDynamic, (config, dynamicKeys) => {
      assert.deepEqual(diffConfig(config, { ...config }, dynamicKeys), {
        dynamic: { set: {}, delete: [] },
        restart: [],
      });
    }),
  );
});

test("diffConfig() tells a live change from one that needs a restart", () => {
  const diff = diffConfig(
    { "log.retention.ms": "2", "num.io.threads": "16", "new.key": "x" },
    { "log.retention.ms": "1", "num.io.threads": "8", "old.key": "y" },
    new Set(["log.retention.ms", "old.key"]),
  );
  assert.deepEqual(diff, {
    dynamic: { set: { "log.retention.ms": "2" }, delete: ["old.key"] },
    restart: ["new.key", "num.io.threads"],
  });
});

test("renderProperties() writes sorted key=value lines, escaping as java.util.Properties does", () => {
  assert.equal(
    renderProperties({
      "z.last": "plain value",
      "a key": " leading, = : # ! \\ tail",
      "multi.line": "one\ntwo",
      "unicode.é": "naïve ✓",
    }),
    [
      "a\\ key=\\ leading, \\= \\: \\# \\! \\\\ tail",
      "multi.line=one\\ntwo",
      "unicode.\\u00e9=na\\u00efve \\u2713",
      "z.last=plain value",
      "",
    ].join("\n"),
  );
  assert.equal(renderProperties({}), "");
});

test("parseProperties() reads comments, continuations and every separator form", () => {
  const text = [
    "# a comment \\",
    "! another",
    "",
    "   spaced.key   =   value with  spaces  ",
    "colon:value",
    "blank separator",
    "continued = one, \\",
    "     two, \\",
    "\tthree",
    "escaped\\=key=a\\tb\\u0041",
    "dup=first",
    "dup=second",
    "novalue",
  ].join("\r\n");
  assert.deepEqual(parseProperties(text), {
    "spaced.key": "value with  spaces  ",
    colon: "value",
    blank: "separator",
    continued: "one, two, three",
    "escaped=key": "a\tbA",
    dup: "second",
    novalue: "",
  });
});

test("parseProperties() undoes renderProperties(), which writes only printable ASCII, for any string map", () => {
  // Any UTF-16 code units, lone surrogates included. (fc.string's "binary"
  // unit builds a reverse mapping of all of Unicode first, which costs seconds.)
  const arbText = fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 })
    .map((units) => String.fromCharCode(...units));
  const arbTricky = fc
    .array(
      fc.constantFrom(" ", "\\", "=", ":", "#", "!", "\n", "\r", "\t", "\f", "a", "é", "\u0000"),
      {
        maxLength: 8,
      },
    )
    .map((chars) => chars.join(""));
  const arbKey = fc.oneof(arbText, arbTricky, fc.constant("__proto__"));
  const arbMap = fc
    .array(fc.tuple(arbKey, fc.oneof(arbText, arbTricky)), { maxLength: 8 })
    .map((pairs) => Object.fromEntries(pairs));
  fc.assert(
    fc.property(arbMap, (entries) => {
      const text = renderProperties(entries);
      // Printable ASCII only: Java reads .properties files as ISO-8859-1.
      assert.match(text, /^[\x20-\x7e\n]*$/);
      assert.deepEqual(parseProperties(text), entries);
    }),
    { numRuns: 500 },
  );
});

test("configHash() is 16 hex digits that change exactly when the rendered file changes", () => {
  const a = configHash({ "log.retention.ms": "1", "num.io.threads": "8" });
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.equal(a, configHash({ "num.io.threads": "8", "log.retention.ms": "1" }));
  assert.notEqual(a, configHash({ "log.retention.ms": "2", "num.io.threads": "8" }));
});
