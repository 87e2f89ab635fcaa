import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { operatorRules } from "@ballast/runtime";
import { crds, kafka } from "./operator.ts";
import {
  clusterRules,
  type DeclaredRule,
  kafkaOperatorRules,
  leaderElectionRules,
  namespacedRules,
  toPolicyRule,
} from "./rbac.ts";

const all: DeclaredRule[] = [...namespacedRules, ...clusterRules, ...leaderElectionRules];
const rbacVerbs = new Set([
  "get",
  "list",
  "watch",
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
]);

test("kafkaOperatorRules is the three scopes' rules, without their reasons", () => {
  assert.deepEqual(kafkaOperatorRules, all.map(toPolicyRule));
  for (const rule of kafkaOperatorRules) assert.ok(!("why" in rule));
});

test("no rule uses a wildcard", () => {
  for (const rule of kafkaOperatorRules)
    for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs])
      assert.ok(!value.includes("*"), `wildcard in ${JSON.stringify(rule)}`);
});

test("every verb is an RBAC verb and every rule names something", () => {
  for (const rule of kafkaOperatorRules) {
    assert.ok(rule.apiGroups.length > 0 && rule.resources.length > 0 && rule.verbs.length > 0);
    for (const verb of rule.verbs) assert.ok(rbacVerbs.has(verb), `unknown verb ${verb}`);
  }
});

test("no group/resource/verb is granted twice", () => {
  const seen = new Set<string>();
  for (const rule of kafkaOperatorRules)
    for (const group of rule.apiGroups)
      for (const resource of rule.resources)
        for (const verb of rule.verbs) {
          const key = `${group}/${resource}:${verb}`;
          assert.ok(!seen.has(key), `${key} is declared twice`);
          seen.add(key);
        }
});

test("cluster-scoped kinds are only in clusterRules, and leases only in leaderElectionRules", () => {
  const clusterScoped = ["customresourcedefinitions", "namespaces", "nodes", "clusterroles"];
  for (const rule of [...namespacedRules, ...leaderElectionRules])
    for (const resource of rule.resources)
      assert.ok(!clusterScoped.includes(resource), `${resource} is cluster-scoped`);
  assert.deepEqual(
    [...new Set(clusterRules.flatMap((r) => r.resources))],
    ["customresourcedefinitions"],
  );
  assert.ok(!namespacedRules.some((r) => r.resources.includes("leases")));
});

test("every rule says which code needs it, naming files that exist", () => {
  const kafkaSrc = import.meta.dirname;
  const runtimeSrc = join(kafkaSrc, "../../../runtime/src");
  for (const rule of all) {
    const files = rule.why.match(/[\w/-]+\.ts/g) ?? [];
    assert.ok(files.length > 0, `${JSON.stringify(rule)}: why names no source file`);
    for (const file of files) {
      const found = [join(kafkaSrc, file), join(runtimeSrc, file)].some((p) => existsSync(p));
      assert.ok(found, `${rule.why}: ${file} does not exist`);
    }
  }
});

test("CRD get and patch are limited to the operator's own CRDs; only create is unnamed", () => {
  const own = crds.map((c) => c.crdName).sort();
  assert.deepEqual(own, ["kafkaclusters.ballast.dev", "kafkatopics.ballast.dev"]);
  const named = clusterRules.filter((r) => r.resourceNames);
  assert.deepEqual(
    named.map((r) => [r.verbs, r.resourceNames]),
    [[["get", "patch"], own]],
  );
  const unnamed = clusterRules.filter((r) => !r.resourceNames);
  assert.deepEqual(
    unnamed.map((r) => r.verbs),
    [["create"]],
  );
});

test("the three scopes are the descriptor's, as the runtime derives them", () => {
  const derived = operatorRules(kafka);
  assert.deepEqual(derived.namespaced, namespacedRules);
  assert.deepEqual(derived.cluster, clusterRules);
  assert.deepEqual(derived.leaderElection, leaderElectionRules);
});

test("the descriptor keeps the entry point's names: lease, field manager, restart annotation", () => {
  assert.equal(kafka.name, "kafka");
  assert.equal(kafka.leaseName, "ballast-kafka-operator");
  assert.equal(kafka.fieldManager, "ballast-kafka-operator");
  assert.equal(kafka.restart?.annotation, "kafka.ballast.dev/restart-requested");
  assert.deepEqual(
    kafka.restart?.kinds.map((k) => k.kind),
    ["KafkaCluster"],
  );
  assert.ok(existsSync(kafka.entry), kafka.entry);
  assert.equal(kafka.entry, join(import.meta.dirname, "main.ts"));
});
