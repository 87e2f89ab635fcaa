import assert from "node:assert/strict";
import { test } from "node:test";
import { check } from "../admin/errors.ts";
import { topicRefusal } from "./refusal.ts";

const orders = { name: "orders", partitions: 6, replicas: 5 };

function kafkaError(code: number, message: string | null): unknown {
  try {
    check(code, message, "CreateTopics", 'topic "orders"');
  } catch (err) {
    return err;
  }
  assert.fail("check() did not throw");
}

test("topicRefusal() of INVALID_REPLICATION_FACTOR gives Kafka's code and message and says to lower spec.replicas", () => {
  const kafka =
    "Unable to replicate the partition 5 time(s): The target replication factor of 5 cannot be reached because only 3 broker(s) are registered.";
  const r = topicRefusal(kafkaError(38, kafka), "create", orders);
  assert.equal(r.reason, "TopicRejected");
  assert.ok(r.needsChange);
  assert.equal(
    r.message,
    `Kafka refused to create topic orders: INVALID_REPLICATION_FACTOR: ${kafka}; spec.replicas (5) must be at most the number of brokers: lower it or add brokers`,
  );
});

test("topicRefusal() of INVALID_CONFIG names Kafka's message and says to fix spec.config", () => {
  const r = topicRefusal(
    kafkaError(40, "Invalid value abc for configuration retention.ms: Not a number of type LONG"),
    "configure",
    orders,
  );
  assert.equal(r.reason, "TopicRejected");
  assert.match(
    r.message,
    /^Kafka refused to configure topic orders: INVALID_CONFIG: Invalid value abc/,
  );
  assert.match(r.message, /fix the key or value in spec\.config/);
});

test("topicRefusal() of a transient Kafka error or a lost connection is TopicChangeFailed, retried with backoff", () => {
  const moving = topicRefusal(kafkaError(41, null), "grow", orders);
  assert.equal(moving.reason, "TopicChangeFailed");
  assert.equal(moving.needsChange, false);
  assert.match(moving.message, /NOT_CONTROLLER; retrying$/);
  const lost = topicRefusal(new Error("connect ECONNREFUSED 10.0.0.1:9092"), "create", orders);
  assert.equal(lost.reason, "TopicChangeFailed");
  assert.match(lost.message, /ECONNREFUSED.*; retrying$/);
});
