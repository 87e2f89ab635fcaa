/**
 * What the API server itself refuses of a PostgresCluster, on the real API
 * server with its CRD installed: server-side dry runs of a create (nothing
 * is stored, no operator runs), and for the rule that compares with the
 * stored object, a real create then a dry-run update. Each refusal names
 * the field and what to do. The schema unit test (api.unit.test.ts) reads
 * the rules' text; this is what they do.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { TestCluster } from "@ballast/dev/testkit";
import { type Admission, admission } from "@ballast/e2e-kit";
import { PostgresCluster } from "./api.ts";
import { ScheduledBackup } from "./backup/scheduled-api.ts";
import * as resources from "./resources.ts";

const ns = "postgres-api-admission";
let k8s: TestCluster;
let api: Admission;

before(async () => {
  // No operator descriptor yet (operator.ts): the one kind, installed directly.
  api = await admission(ns, [PostgresCluster, ScheduledBackup]);
  k8s = api.k8s;
});

function cluster(spec: Record<string, unknown> = {}, name = "db") {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "PostgresCluster",
    metadata: { name, namespace: ns },
    spec: { version: "15.18", instances: 2, storage: { size: "1Gi" }, ...spec },
  };
}

const dryRun = (verb: "create" | "apply", object: unknown) => api.dryRun(verb, object);

const refused = (spec: Record<string, unknown>, message: RegExp, name?: string) =>
  api.refused(cluster(spec, name), message);

test("a full valid cluster is accepted (the refusals below are about their field)", async () => {
  const result = await dryRun(
    "create",
    cluster({
      instances: 3,
      synchronous: { any: 2 },
      failoverDelaySeconds: 5,
      postgresql: {
        parameters: {
          max_connections: 200,
          shared_buffers: "256MB",
          "pg_stat_statements.max": 500,
        },
      },
      bootstrap: { initdb: { database: "app", owner: "app" } },
      backup: {
        objectStore: {
          endpoint: "https://s3.backups.svc:9000",
          bucket: "pg-backups",
          credentialsSecret: "s3-creds",
        },
        retention: "30d",
      },
      roles: [{ name: "app", login: true, inRoles: ["pg_read_all_data"] }],
      databases: [
        { name: "app", owner: "app", grants: [{ role: "app", privileges: ["CONNECT", "CREATE"] }] },
      ],
    }),
  );
  assert.equal(result.code, 0, result.stderr);
  const pitr = await dryRun(
    "create",
    cluster({
      bootstrap: {
        recovery: { backup: { name: "nightly" }, target: { time: "2026-12-02T14:00:00Z" } },
      },
    }),
  );
  assert.equal(pitr.code, 0, pitr.stderr);
});

test("no instance, or ten, is refused", async () => {
  await refused({ instances: 0 }, /spec\.instances in body should be greater than or equal to 1/);
  await refused({ instances: 10 }, /spec\.instances in body should be less than or equal to 9/);
});

test("synchronous any 3 with 2 instances is refused: there is one standby", async () => {
  await refused(
    { instances: 2, synchronous: { any: 3 } },
    /spec\.synchronous\.any must be less than spec\.instances/,
  );
  await refused(
    { instances: 2, synchronous: { any: 2 } },
    /spec\.synchronous\.any must be less than spec\.instances/,
  );
  const one = await dryRun("create", cluster({ instances: 2, synchronous: { any: 1 } }));
  assert.equal(one.code, 0, one.stderr);
});

test("a parameter the operator owns is refused, naming the owned keys; a malformed key too", async () => {
  for (const key of [
    "port",
    "primary_conninfo",
    "synchronous_standby_names",
    "archive_command",
    "wal_level",
  ])
    await refused(
      { postgresql: { parameters: { [key]: "x" } } },
      /spec\.postgresql\.parameters sets a key the operator owns; remove it \(owned: port, listen_addresses/,
    );
  await refused(
    { postgresql: { parameters: { "Max Connections": 10 } } },
    /spec\.postgresql\.parameters keys are PostgreSQL setting names in lower case/,
  );
});

test("two bootstrap kinds are refused", async () => {
  await refused(
    { bootstrap: { initdb: {}, recovery: { backup: { name: "nightly" } } } },
    /spec\.bootstrap takes exactly one of initdb or recovery/,
  );
});

test("a point-in-time recovery with two targets is refused", async () => {
  await refused(
    {
      bootstrap: {
        recovery: {
          backup: { name: "nightly" },
          target: { time: "2026-12-02T14:00:00Z", lsn: "0/3000060" },
        },
      },
    },
    /spec\.bootstrap\.recovery\.target takes exactly one of time, lsn or xid/,
  );
});

test("retention is days, weeks or a count of full backups; anything else is refused, naming the field", async () => {
  const backup = (retention: string) => ({
    backup: {
      objectStore: { endpoint: "https://s3:9000", bucket: "pg-backups", credentialsSecret: "s3" },
      retention,
    },
  });
  for (const ok of ["30d", "4w", "2 full"]) {
    const result = await dryRun("create", cluster(backup(ok)));
    assert.equal(result.code, 0, `${ok}: ${result.stderr}`);
  }
  for (const bad of ["30", "2 fulls", "0 full", "1m"])
    await refused(backup(bad), /spec\.backup\.retention in body should match/);
});

test("a ScheduledBackup with a six-field (seconds) schedule or a name too long for its runs is refused, saying what to do", async () => {
  const sb = (schedule: string, name = "nightly") => ({
    apiVersion: ScheduledBackup.apiVersion,
    kind: ScheduledBackup.kind,
    metadata: { name, namespace: ns },
    spec: { cluster: { name: "db" }, schedule },
  });
  await api.accepted(sb("0 2 * * *"));
  await api.accepted(sb("@daily"));
  await api.refused(
    sb("0 0 2 * * *"),
    /spec\.schedule is five cron fields in UTC .*a schedule with a seconds field .* drop the seconds/,
  );
  await api.refused(sb("0 2 * *"), /spec\.schedule is five cron fields/);
  await api.refused(
    sb("0 2 * * *", `n${"a".repeat(63)}`),
    /metadata\.name must be at most 63 characters: its Backups carry it as a label value/,
  );
});

test("another major version is refused", async () => {
  await refused({ version: "16.1" }, /spec\.version in body should match/);
});

test("a name too long for the objects derived from it is refused", async () => {
  await refused({}, /metadata\.name must be at most 51/, "a".repeat(52));
});

test("bootstrap cannot change once the cluster exists", async () => {
  const name = "born";
  const spec = { bootstrap: { initdb: { database: "app" } } };
  const created = await k8s.kubectlInput(cluster(spec, name), "create", "-f", "-");
  assert.equal(created.code, 0, created.stderr);
  const changed = await dryRun(
    "apply",
    cluster({ bootstrap: { initdb: { database: "other" } } }, name),
  );
  assert.notEqual(changed.code, 0, "bootstrap changed");
  assert.match(changed.stderr, /spec\.bootstrap cannot change once the cluster exists/);
});

test("the objects resources.ts makes for a cluster are accepted by the API server (dry run)", async () => {
  const r = {
    ...cluster({ instances: 3 }),
    metadata: { name: "db", namespace: ns, uid: "00000000-0000-0000-0000-000000000001" },
  } as unknown as PostgresCluster;
  const objects = [
    resources.configMap(r),
    resources.superuserSecret(r, "generated-1"),
    resources.replicationSecret(r, "generated-2"),
    resources.headlessService(r),
    resources.readWriteService(r),
    resources.readOnlyService(r),
    resources.readService(r),
    resources.disruptionBudget(r, 3),
    resources.claim(r, 1),
    resources.pod(r, 0, { hint: 0, primary: true, bootstrap: true }),
    resources.pod(r, 1, { hint: 0 }),
  ];
  for (const object of objects) {
    // No owner exists: the reference is dropped (it is not what this checks).
    const { ownerReferences: _none, ...metadata } = object.metadata as Record<string, unknown>;
    const result = await dryRun("create", { ...object, metadata });
    assert.equal(result.code, 0, `${object.kind} ${metadata.name}: ${result.stderr}`);
  }
});

test("storage cannot shrink once the cluster exists; it can grow, in any unit", async () => {
  const name = "sized";
  const created = await k8s.kubectlInput(
    cluster({ storage: { size: "2Gi" } }, name),
    "create",
    "-f",
    "-",
  );
  assert.equal(created.code, 0, created.stderr);
  const shrunk = await dryRun("apply", cluster({ storage: { size: "1500Mi" } }, name));
  assert.notEqual(shrunk.code, 0, "storage shrunk");
  assert.match(
    shrunk.stderr,
    /storage\.size cannot shrink once the cluster exists \(a volume cannot be made smaller\): set it back to at least its current size/,
  );
  for (const size of ["2048Mi", "3Gi"]) {
    const grown = await dryRun("apply", cluster({ storage: { size } }, name));
    assert.equal(grown.code, 0, `${size}: ${grown.stderr}`);
  }
});
