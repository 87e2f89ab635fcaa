import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { defaultConfig } from "../resources.ts";
import {
  type ConfigType,
  configProblems,
  configTypeOf,
  describeConfigProblem,
  knownTypes,
  typeProblem,
} from "./validate.ts";

const bits: Record<"short" | "int" | "long", bigint> = { short: 15n, int: 31n, long: 63n };

test("typeProblem() accepts exactly the integers of the key's width, as Java's parse methods do", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("short", "int", "long" as const),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
      fc.constantFrom("plain", "blanks", "plus"),
      (type, n, form) => {
        // Kafka trims the value; Java's parsers take a leading "+".
        const text = form === "blanks" ? ` ${n} ` : form === "plus" && n >= 0n ? `+${n}` : `${n}`;
        const fits = n >= -(2n ** bits[type]) && n <= 2n ** bits[type] - 1n;
        assert.equal(
          typeProblem(type, text) === undefined,
          fits,
          `${type} ${JSON.stringify(text)}`,
        );
      },
    ),
  );
});

test("typeProblem() refuses words, fractions and empty values for numbers, and anything but true/false for booleans", () => {
  fc.assert(
    fc.property(
      fc.string().filter((s) => !/^\s*[+-]?\d+\s*$/.test(s)),
      (text) => {
        for (const type of ["short", "int", "long"] as const)
          assert.notEqual(typeProblem(type, text), undefined, `${type} ${JSON.stringify(text)}`);
      },
    ),
  );
  fc.assert(
    fc.property(fc.string(), (text) => {
      const ok = /^(true|false)$/i.test(text.trim());
      assert.equal(typeProblem("boolean", text) === undefined, ok, JSON.stringify(text));
    }),
  );
  for (const good of ["1", "-2.5", "1e3", ".5", "3.", "NaN", "2d"])
    assert.equal(typeProblem("double", good), undefined, good);
  for (const bad of ["", "a week", "1,5", "0x10"])
    assert.notEqual(typeProblem("double", bad), undefined, bad);
  for (const anything of ["", "a week", "x,y"])
    for (const type of ["string", "list", "class", "password", "unknown"] as ConfigType[])
      assert.equal(typeProblem(type, anything), undefined);
});

test("configProblems() flags min ISR and replication factors above the brokers or below 1, and only those", () => {
  const keys = [
    "min.insync.replicas",
    "default.replication.factor",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
  ];
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.dictionary(fc.constantFrom(...keys), fc.integer({ min: -2, max: 12 })),
      (brokers, values) => {
        const config = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
        const problems = configProblems(config, { brokers, types: knownTypes });
        const expected = Object.entries(values)
          .filter(([, v]) => v < 1 || v > brokers)
          .map(([k]) => k)
          .sort();
        assert.deepEqual(
          problems.map((p) => p.key),
          expected,
        );
        for (const p of problems) assert.equal(p.value, config[p.key]);
      },
    ),
  );
});

test("configProblems() never flags the operator's own defaults, for any number of brokers", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100 }), (brokers) => {
      assert.deepEqual(configProblems(defaultConfig(brokers), { brokers, types: knownTypes }), []);
    }),
  );
});

test("configProblems() checks each value against the type the brokers report, naming key, value and reason", () => {
  const types = new Map<string, ConfigType>([
    ["log.retention.hours", "int"],
    ["log.cleaner.enable", "boolean"],
    ["compression.type", "string"],
  ]);
  const problems = configProblems(
    {
      "log.retention.hours": "a week",
      "log.cleaner.enable": "yes",
      "compression.type": "zstd",
      "some.plugin.setting": "anything",
      "min.insync.replicas": "7",
    },
    { brokers: 3, types: new Map([...knownTypes, ...types]) },
  );
  assert.deepEqual(problems.map(describeConfigProblem), [
    'spec.config log.cleaner.enable="yes" is not a boolean (true or false)',
    'spec.config log.retention.hours="a week" is not a number of type int',
    'spec.config min.insync.replicas="7" exceeds the 3 broker(s) of spec.brokers: every acks=all write would be refused',
  ]);
});

test("configTypeOf() reads DescribeConfigs' config_type ids", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 42].map(configTypeOf), [
    "unknown",
    "boolean",
    "string",
    "int",
    "short",
    "long",
    "double",
    "list",
    "class",
    "password",
    "unknown",
  ]);
});
