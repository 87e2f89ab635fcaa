import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "./cli.ts";
import { loadKinds, parseKindName } from "./kinds.ts";

const kinds = await loadKinds();

test("loadKinds() has every operator's kinds, each with the operator reconciling it", () => {
  assert.deepEqual(
    kinds.all.map((k) => [k.definition.kind, k.operator.name]),
    [
      ["KafkaCluster", "kafka"],
      ["KafkaTopic", "kafka"],
      ["ZooKeeperEnsemble", "zookeeper"],
      ["RedisReplication", "redis"],
      ["RedisCluster", "redis"],
      ["PostgresCluster", "postgres"],
      ["Backup", "postgres"],
      ["ScheduledBackup", "postgres"],
    ],
  );
});

test("loadKinds() rolls only kinds under their operator's restart annotation", () => {
  assert.deepEqual(
    kinds.rollable.map((k) => [k.definition.kind, k.restartAnnotation]),
    [
      ["KafkaCluster", "kafka.ballast.dev/restart-requested"],
      ["ZooKeeperEnsemble", "zookeeper.ballast.dev/restart-requested"],
      ["RedisReplication", "redis.ballast.dev/restart-requested"],
      ["RedisCluster", "redis.ballast.dev/restart-requested"],
      ["PostgresCluster", "postgres.ballast.dev/restart-requested"],
    ],
  );
});

test("parseKindName() accepts the kind, singular, plural and short names in any case", () => {
  for (const word of ["KafkaCluster", "kafkacluster", "kafkaclusters", "kc", "KC"]) {
    const { kind, name } = parseKindName(`${word}/events`, kinds.all);
    assert.equal(kind.definition.kind, "KafkaCluster", word);
    assert.equal(name, "events");
  }
  assert.equal(parseKindName("kt/orders", kinds.all).kind.definition.kind, "KafkaTopic");
});

test("parseKindName() names what is wrong: no argument, no name, a kind it does not accept", () => {
  assert.throws(() => parseKindName(undefined, kinds.all), /e\.g\. kafkacluster\/events/);
  assert.throws(() => parseKindName("kafkacluster/", kinds.all), UsageError);
  assert.throws(
    () => parseKindName("kafkatopic/orders", kinds.rollable),
    /unknown kind "kafkatopic": expected one of kafkacluster\|kafkaclusters\|kc/,
  );
});
