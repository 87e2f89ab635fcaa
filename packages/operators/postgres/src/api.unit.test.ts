import assert from "node:assert/strict";
import { test } from "node:test";
import type { JSONSchemaProps } from "@ballast/runtime";
import { failoverDelayMs, ownedParameters, PostgresCluster, synchronousOf } from "./api.ts";

const spec = PostgresCluster.openAPIV3Schema.properties?.spec as JSONSchemaProps;
const status = PostgresCluster.openAPIV3Schema.properties?.status as JSONSchemaProps;
const at = (schema: JSONSchemaProps | undefined, ...path: string[]) =>
  path.reduce<JSONSchemaProps | undefined>((s, p) => s?.properties?.[p], schema);
const rules = (schema: JSONSchemaProps | undefined) =>
  (schema?.["x-kubernetes-validations"] ?? []).map((r) => r.rule);
const messages = (schema: JSONSchemaProps | undefined) =>
  (schema?.["x-kubernetes-validations"] ?? []).map((r) => r.message);

const minimal = {
  apiVersion: "ballast.dev/v1alpha1",
  kind: "PostgresCluster",
  metadata: { name: "db", namespace: "default" },
  spec: { version: "15", instances: 3, storage: { size: "1Gi" } },
};

test("PostgresCluster is a namespaced ballast.dev/v1alpha1 kind, short name pgc, with a status subresource and printer columns", () => {
  const crd = PostgresCluster.crd();
  assert.equal(crd.metadata.name, "postgresclusters.ballast.dev");
  assert.equal(crd.spec.scope, "Namespaced");
  assert.deepEqual(crd.spec.names.shortNames, ["pgc"]);
  const [v] = crd.spec.versions;
  assert.equal(v?.name, "v1alpha1");
  assert.deepEqual(v?.subresources, { status: {} });
  assert.deepEqual(
    v?.additionalPrinterColumns?.map((c) => [c.name, c.jsonPath]),
    [
      ["Ready", ".status.readyInstances"],
      ["Instances", ".spec.instances"],
      ["Primary", ".status.primary.id"],
      ["Failover", ".status.election.phase"],
      ["Switchover", ".status.switchover.phase"],
      ["Operation", ".status.operation.summary"],
      ["Healthy", '.status.conditions[?(@.type=="Ready")].status'],
      ["Age", ".metadata.creationTimestamp"],
    ],
  );
});

test("PostgresCluster's defaults: a 3 s failover delay, synchronous off", () => {
  const result = PostgresCluster.validate(minimal);
  assert.ok(result.ok, JSON.stringify(result.errors));
  assert.equal(result.value.spec.failoverDelaySeconds, 3);
  assert.equal(failoverDelayMs(result.value.spec), 3000);
  assert.equal(synchronousOf(result.value.spec), "off");
  assert.deepEqual(synchronousOf({ ...result.value.spec, synchronous: { any: 1 } }), { any: 1 });
});

test("PostgresCluster's schema refuses what it can check without CEL: no instance, ten, another major, a parameter value that is an object, unknown fields", () => {
  const bad = PostgresCluster.validate({
    ...minimal,
    spec: {
      ...minimal.spec,
      version: "16.2",
      instances: 0,
      failoverDelaySeconds: 0,
      postgresql: { parameters: { work_mem: { mb: 4 } } },
      colour: "blue",
    },
  });
  assert.equal(bad.ok, false);
  const paths = bad.ok ? [] : bad.errors.map((e) => e.path);
  for (const p of [
    "spec.version",
    "spec.instances",
    "spec.failoverDelaySeconds",
    "spec.postgresql.parameters.work_mem",
    "spec.colour",
  ])
    assert.ok(paths.includes(p), `${p} in ${paths.join(", ")}`);
  const ten = PostgresCluster.validate({ ...minimal, spec: { ...minimal.spec, instances: 10 } });
  assert.equal(ten.ok, false);
});

test("PostgresCluster's CEL rules: synchronous any < instances, owned and malformed parameter keys, one bootstrap kind, one recovery target, bootstrap fixed", () => {
  assert.deepEqual(rules(spec), [
    "!has(self.synchronous) || self.synchronous.any < self.instances",
  ]);
  assert.match(
    messages(spec)[0] ?? "",
    /^spec\.synchronous\.any must be less than spec\.instances/,
  );

  const parameters = at(spec, "postgresql", "parameters");
  const [keys, owned] = rules(parameters);
  assert.match(keys ?? "", /matches/);
  for (const key of [
    "port",
    "listen_addresses",
    "data_directory",
    "hba_file",
    "primary_conninfo",
    "primary_slot_name",
    "synchronous_standby_names",
    "wal_level",
    "hot_standby",
    "wal_log_hints",
    "archive_mode",
    "archive_command",
    "restore_command",
    "cluster_name",
    "recovery_target_time",
  ]) {
    assert.ok((ownedParameters as readonly string[]).includes(key), key);
    assert.ok(owned?.includes(`'${key}'`), `the owned-key rule lists ${key}`);
  }
  for (const free of ["max_connections", "shared_buffers", "work_mem", "max_wal_senders"])
    assert.ok(!owned?.includes(`'${free}'`), `${free} is the user's`);
  assert.match(
    messages(parameters)[1] ?? "",
    /^spec\.postgresql\.parameters sets a key the operator owns; remove it \(owned: port, /,
  );

  const bootstrap = at(spec, "bootstrap");
  assert.deepEqual(rules(bootstrap), ["has(self.initdb) != has(self.recovery)", "self == oldSelf"]);
  assert.match(messages(bootstrap)[0] ?? "", /exactly one of initdb or recovery/);
  const target = at(bootstrap, "recovery", "target");
  assert.deepEqual(rules(target), [
    "[has(self.time), has(self.lsn), has(self.xid)].filter(b, b).size() == 1",
  ]);
  assert.match(messages(target)[0] ?? "", /exactly one of time, lsn or xid/);

  assert.match(
    (PostgresCluster.openAPIV3Schema["x-kubernetes-validations"] ?? [])[0]?.rule ?? "",
    /size\(self\.metadata\.name\) <= 51/,
  );
});

test("PostgresCluster's status holds the plans' election and switchover records", () => {
  const election = at(status, "election");
  assert.deepEqual(at(election, "phase")?.enum, ["fencing", "promoting", "repointing"]);
  assert.deepEqual(Object.keys(election?.properties ?? {}).sort(), [
    "from",
    "phase",
    "startedAt",
    "timeline",
    "to",
  ]);
  const switchover = at(status, "switchover");
  assert.deepEqual(at(switchover, "phase")?.enum, [
    "checkpointing",
    "stopping",
    "promoting",
    "rejoining",
  ]);
  const ok = PostgresCluster.validate({
    ...minimal,
    status: {
      primary: { id: 0, timeline: 1 },
      election: {
        phase: "promoting",
        from: 0,
        to: 2,
        timeline: 1,
        startedAt: "2026-12-02T14:00:00Z",
      },
      instances: [
        { id: 0, pod: "db-0", role: "primary", timeline: 1, lsn: "0/3000060", ready: true },
      ],
      readyInstances: 1,
    },
  });
  assert.ok(ok.ok, JSON.stringify(ok.ok ? [] : ok.errors));
});

test("PostgresCluster's fields describe themselves for kubectl explain", () => {
  const undocumented: string[] = [];
  const walk = (schema: JSONSchemaProps | undefined, path: string) => {
    if (!schema) return;
    // requests/limits come from @ballast/stateful's ComputeResources, as Kubernetes names them.
    const standard = /\.resources\.(requests|limits)$/.test(path);
    if (path && !schema.description && !standard) undocumented.push(path);
    for (const [name, child] of Object.entries(schema.properties ?? {}))
      walk(child, `${path}.${name}`);
    if (schema.items && !Array.isArray(schema.items))
      walk(schema.items as JSONSchemaProps, `${path}[]`);
  };
  walk(spec, "");
  assert.deepEqual(undocumented, []);
});
