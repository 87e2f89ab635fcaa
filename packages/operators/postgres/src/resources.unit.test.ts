/**
 * The start script, run by /bin/sh with stand-ins for `initdb`,
 * `pg_basebackup` and `postgres` (each records its argv and environment;
 * `postgres` prints whether it would start in recovery): what an instance
 * does at every start. The script's paths are moved to a temporary
 * directory; the downward-API files (the operator's marker and upstream)
 * and the Secrets' files are written there by the test.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { PostgresCluster } from "./api.ts";
import {
  annotations,
  configMap,
  instanceHost,
  names,
  paths,
  pod,
  readOnlyService,
  readWriteService,
  servingGate,
  startScript,
} from "./resources.ts";

const r = {
  apiVersion: "ballast.dev/v1alpha1",
  kind: "PostgresCluster",
  metadata: { name: "pg", namespace: "ns", uid: "u" },
  spec: {
    version: "15",
    instances: 3,
    storage: { size: "1Gi" },
    failoverDelaySeconds: 3,
    postgresql: { parameters: { max_connections: 50, shared_buffers: "64MB" } },
  },
} as unknown as PostgresCluster;

// Every character a passfile or an SQL literal must escape.
const replicationPassword = "rep:l\\ic'a";
const superuserPassword = "su-per'secret";

const record = `echo "$(basename "$0") $*" >> "$STUB/argv"; env >> "$STUB/env"`;
const stubs: Record<string, string> = {
  initdb: `#!/bin/sh
${record}
while [ $# -gt 0 ]; do case "$1" in -D) dir=$2; shift 2;; *) shift;; esac; done
mkdir -p "$dir"; echo 15 > "$dir/PG_VERSION"
`,
  pg_basebackup: `#!/bin/sh
${record}
while [ $# -gt 0 ]; do case "$1" in -D) dir=$2; shift 2;; *) shift;; esac; done
[ -f "$STUB/basebackup-fails" ] && exit 1
mkdir -p "$dir"; echo 15 > "$dir/PG_VERSION"; echo cloned > "$dir/from-upstream"
# As the real one does: the source's postgresql.auto.conf, a stale upstream in it.
printf "synchronous_standby_names = 'copied'\\nprimary_conninfo = 'host=stale'\\n" > "$dir/postgresql.auto.conf"
`,
  postgres: `#!/bin/sh
${record}
if [ "$1" = --single ]; then cat >> "$STUB/single.sql"; exit 0; fi
while [ $# -gt 0 ]; do case "$1" in -D) dir=$2; shift 2;; *) shift;; esac; done
if [ -f "$dir/standby.signal" ]; then echo "POSTGRES: in recovery"; else echo "POSTGRES: as primary"; fi
`,
};

interface Instance {
  dir: string;
  /** The operator's marker (the downward-API file's content). */
  marker?: string;
  upstream?: string;
  /** PGDATA already holds a database. */
  data?: { primaryBefore?: boolean };
}

function instanceDir(setup: Omit<Instance, "dir"> = {}): Instance {
  const dir = mkdtempSync(join(tmpdir(), "pg-script-"));
  for (const sub of ["bin", "stub", "data", "etc/config", "etc/instance", "run"])
    mkdirSync(join(dir, sub), { recursive: true });
  for (const sub of ["superuser", "replication"])
    mkdirSync(join(dir, "etc/secrets", sub), { recursive: true });
  for (const [name, text] of Object.entries(stubs)) {
    writeFileSync(join(dir, "bin", name), text);
    chmodSync(join(dir, "bin", name), 0o755);
  }
  writeFileSync(join(dir, "etc/secrets/superuser/password"), superuserPassword);
  writeFileSync(join(dir, "etc/secrets/replication/password"), `${replicationPassword}\n`);
  // The downward API writes an empty file for an annotation the pod lacks.
  writeFileSync(join(dir, "etc/instance/primary"), setup.marker ?? "");
  writeFileSync(join(dir, "etc/instance/upstream"), setup.upstream ?? "");
  if (setup.data) {
    mkdirSync(join(dir, "data/pgdata"));
    writeFileSync(join(dir, "data/pgdata/PG_VERSION"), "15\n");
  }
  return { dir, ...setup };
}

interface Outcome {
  exited: boolean;
  output: string;
  argv: string;
  env: string;
}

function envOf(id: number, hint: number, bootstrap: boolean): Record<string, string> {
  const env =
    (
      pod(r, id, { hint, bootstrap }).spec as {
        containers: { env: { name: string; value?: string }[] }[];
      }
    ).containers[0]?.env ?? [];
  const out: Record<string, string> = {};
  for (const e of env) if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

function run(instance: Instance, env: Record<string, string>): Promise<Outcome> {
  const { dir } = instance;
  const move = (text: string) =>
    text
      .replaceAll(paths.volume, join(dir, "data"))
      .replaceAll("/etc/postgres-operator", join(dir, "etc"))
      .replaceAll(paths.run, join(dir, "run"));
  const movedEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, move(v)]));
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", move(startScript())], {
      env: {
        PATH: `${join(dir, "bin")}:${process.env.PATH}`,
        STUB: join(dir, "stub"),
        ...movedEnv,
      },
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const read = (f: string) =>
        existsSync(join(dir, "stub", f)) ? readFileSync(join(dir, "stub", f), "utf8") : "";
      resolve({ exited: code === 0, output, argv: read("argv"), env: read("env") });
    });
  });
}

const host = (id: number) => instanceHost(r, id);

function autoConf(i: Instance): string {
  const file = join(i.dir, "data/pgdata/postgresql.auto.conf");
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

function assertNoPassword(out: Outcome) {
  for (const pw of [replicationPassword, superuserPassword, "l\\ic", "su-per"]) {
    assert.ok(!out.argv.includes(pw), `a password in argv: ${out.argv}`);
    assert.ok(!out.env.includes(pw), "a password in the environment");
  }
}

test("the bootstrap instance with the marker runs initdb, makes the replication role from stdin, and starts as primary", async () => {
  const i = instanceDir({ marker: "pg-0" });
  const out = await run(i, envOf(0, 0, true));
  assert.ok(out.exited, out.output);
  assert.match(
    out.argv,
    /^initdb -D \S+\/data\/pgdata\.init --username=postgres --pwfile=\S+\/secrets\/superuser\/password /m,
  );
  assert.match(out.argv, /--data-checksums/);
  assert.doesNotMatch(out.argv, /pg_basebackup/);
  const sql = readFileSync(join(i.dir, "stub/single.sql"), "utf8");
  assert.equal(
    sql,
    "CREATE ROLE streaming_replica WITH REPLICATION LOGIN PASSWORD 'rep:l\\ic''a';\n",
  );
  assert.match(out.output, /POSTGRES: as primary/);
  const server = out.argv.split("\n").find((l) => l.startsWith("postgres -D"));
  assert.match(server ?? "", /-c port=5432 /);
  assert.match(server ?? "", /-c cluster_name=pg-0 /);
  assert.match(server ?? "", /-c config_file=\S+\/config\/postgresql\.conf /);
  // Beside the ConfigMap's postgresql.conf, not in PGDATA (where initdb and pg_basebackup put theirs).
  assert.match(server ?? "", /-c hba_file=\S+\/config\/pg_hba\.conf /);
  assert.match(server ?? "", /-c wal_log_hints=on/);
  assert.match(server ?? "", /-c primary_conninfo= -c primary_slot_name=$/);
  assert.ok(existsSync(join(i.dir, "data/pgdata/PG_VERSION")));
  assert.ok(!existsSync(join(i.dir, "data/pgdata.init")));
  assertNoPassword(out);
});

test("an empty standby clones the hinted primary by DNS name with the passfile, then starts in recovery streaming from it", async () => {
  const i = instanceDir();
  const out = await run(i, envOf(1, 0, false));
  assert.ok(out.exited, out.output);
  assert.doesNotMatch(out.argv, /initdb/);
  const h0 = host(0).replaceAll(".", "\\.");
  assert.match(
    out.argv,
    new RegExp(
      `^pg_basebackup -D \\S+/data/pgdata\\.clone -d host=${h0} port=5432 user=streaming_replica passfile=\\S+/run/passfile application_name=pg-1 --no-password -X stream -c fast -S instance_1$`,
      "m",
    ),
  );
  assert.doesNotMatch(out.argv, / -R( |$)/);
  assert.ok(existsSync(join(i.dir, "data/pgdata/from-upstream")));
  assert.ok(existsSync(join(i.dir, "data/pgdata/standby.signal")));
  assert.match(out.output, /POSTGRES: in recovery/);
  // The upstream is in postgresql.auto.conf (the operator repoints a running standby there), never on the command line.
  assert.doesNotMatch(out.argv, /primary_conninfo|primary_slot_name/);
  assert.match(
    autoConf(i),
    new RegExp(
      `^primary_conninfo = 'host=${h0} port=5432 user=streaming_replica passfile=\\S+/run/passfile application_name=pg-1'\nprimary_slot_name = 'instance_1'\n$`,
      "m",
    ),
  );
  assert.equal(
    autoConf(i).match(/primary_conninfo/g)?.length,
    1,
    "the line the clone copied from the source is replaced",
  );
  assert.match(autoConf(i), /^synchronous_standby_names = 'copied'$/m, "other lines are kept");
  assert.match(out.argv, /-c cluster_name=pg-1 /);
  // The passfile: the replication and superuser (pg_rewind's) passwords
  // with `:` and `\` escaped, private to the server's user.
  const passfile = join(i.dir, "run/passfile");
  assert.equal(
    readFileSync(passfile, "utf8"),
    "*:*:*:streaming_replica:rep\\:l\\\\ic'a\n*:*:*:postgres:su-per'secret\n",
  );
  assert.equal(statSync(passfile).mode & 0o777, 0o600);
  assertNoPassword(out);
});

test("a former primary restarted without the marker starts in recovery, even the bootstrap pod, and never runs initdb again", async () => {
  // Its pod was made as the bootstrap primary (BOOTSTRAP=yes, hint itself); the operator fenced it: no marker.
  const i = instanceDir({ data: { primaryBefore: true } });
  const out = await run(i, envOf(0, 0, true));
  assert.ok(out.exited, out.output);
  assert.doesNotMatch(out.argv, /initdb|pg_basebackup|--single/);
  assert.ok(existsSync(join(i.dir, "data/pgdata/standby.signal")));
  assert.match(out.output, /POSTGRES: in recovery/);
  assert.match(out.output, /no upstream/);
  assertNoPassword(out);

  // Once the operator names its new upstream, it streams from it (a rejoin).
  const j = instanceDir({ data: {}, upstream: host(2) });
  const back = await run(j, envOf(0, 0, true));
  assert.ok(back.exited, back.output);
  assert.match(back.output, /POSTGRES: in recovery/);
  assert.match(
    autoConf(j),
    new RegExp(`^primary_conninfo = 'host=${host(2).replaceAll(".", "\\.")} `, "m"),
  );
});

test("a marker naming another pod grants nothing; the marker on this pod makes a standby's data start as primary", async () => {
  const other = await run(instanceDir({ data: {}, marker: "pg-0" }), envOf(1, 0, false));
  assert.ok(other.exited, other.output);
  assert.match(other.output, /POSTGRES: in recovery/);
  const i = instanceDir({ data: {}, marker: "pg-1" });
  writeFileSync(join(i.dir, "data/pgdata/standby.signal"), "");
  const promoted = await run(i, envOf(1, 0, false));
  assert.ok(promoted.exited, promoted.output);
  assert.match(promoted.output, /POSTGRES: as primary/);
  assert.ok(!existsSync(join(i.dir, "data/pgdata/standby.signal")));
});

test("an empty bootstrap pod without the marker does not initdb; a clone that failed leaves no PGDATA and is redone next start", async () => {
  const i = instanceDir({ upstream: host(1) });
  writeFileSync(join(i.dir, "stub/basebackup-fails"), "");
  const failed = await run(i, envOf(0, 0, true));
  assert.ok(!failed.exited, failed.output);
  assert.doesNotMatch(failed.argv, /initdb/);
  assert.ok(!existsSync(join(i.dir, "data/pgdata")));
  // A half-made clone from a start that was killed is removed, not used.
  mkdirSync(join(i.dir, "data/pgdata.clone"));
  writeFileSync(join(i.dir, "data/pgdata.clone/PG_VERSION"), "15\n");
  writeFileSync(join(i.dir, "data/pgdata.clone/stale"), "");
  rmSync(join(i.dir, "stub/basebackup-fails"));
  const again = await run(i, envOf(0, 0, true));
  assert.ok(again.exited, again.output);
  assert.ok(existsSync(join(i.dir, "data/pgdata/from-upstream")));
  assert.ok(!existsSync(join(i.dir, "data/pgdata/stale")));
  assert.match(again.output, /POSTGRES: in recovery/);
  const alone = await run(instanceDir(), envOf(0, 0, true));
  assert.ok(!alone.exited, "an empty instance with no upstream and no marker started");
  assert.match(alone.output, /no data and no upstream/);
});

test("a restore's bootstrap pod runs its RESTORE instead of initdb, into PGDATA.restore renamed after; only that recovery keeps the restore's targets", async () => {
  const i = instanceDir({ marker: "pg-0" });
  // pgBackRest's stand-in: a data directory with recovery.signal where --pg1-path says.
  writeFileSync(
    join(i.dir, "bin/pgbackrest"),
    `#!/bin/sh
${record}
for a in "$@"; do case "$a" in --pg1-path=*) dir=\${a#--pg1-path=};; esac; done
mkdir -p "$dir"; echo 15 > "$dir/PG_VERSION"; touch "$dir/recovery.signal"
`,
  );
  chmodSync(join(i.dir, "bin/pgbackrest"), 0o755);
  const restore = `pgbackrest --stanza=src '--pg1-path=${paths.pgdata}.restore' '--recovery-option=restore_command=pgbackrest archive-get %f "%p"' restore`;
  const envWith = (options: Parameters<typeof pod>[2]) => {
    const out: Record<string, string> = {};
    const spec = pod(r, 0, options).spec as {
      containers: { env: { name: string; value?: string }[] }[];
    };
    for (const e of spec.containers[0]?.env ?? []) if (e.value !== undefined) out[e.name] = e.value;
    return out;
  };
  assert.equal(envWith({ hint: 0, restore }).RESTORE, undefined, "RESTORE only with bootstrap");
  const out = await run(i, envWith({ hint: 0, bootstrap: true, primary: true, restore }));
  assert.ok(out.exited, out.output);
  assert.doesNotMatch(out.argv, /^initdb/m);
  assert.match(
    out.argv,
    /^pgbackrest --stanza=src --pg1-path=\S+\/data\/pgdata\.restore .*restore$/m,
  );
  assert.match(out.argv, /restore_command=pgbackrest archive-get %f "%p"/);
  assert.ok(existsSync(join(i.dir, "data/pgdata/recovery.signal")));
  assert.ok(!existsSync(join(i.dir, "data/pgdata.restore")));
  const server = (text: string) => text.split("\n").filter((l) => l.startsWith("postgres -D"));
  assert.doesNotMatch(server(out.argv)[0] ?? "", /recovery_target=/, "the restore's own recovery");
  assert.match(out.output, /POSTGRES: as primary/);
  // Promoted (recovery.signal gone): the next start overrides what the restore left.
  rmSync(join(i.dir, "data/pgdata/recovery.signal"));
  const after = await run(i, envWith({ hint: 0, bootstrap: true, primary: true, restore }));
  assert.ok(after.exited, after.output);
  assert.equal(after.argv.match(/^pgbackrest /gm)?.length, 1, "restored once");
  assert.match(
    server(after.argv)[1] ?? "",
    / -c recovery_target= -c recovery_target_time= -c recovery_target_lsn= -c recovery_target_xid= -c recovery_target_name= -c restore_command=( |$)/,
  );
  // A standby's start overrides them too, even with a recovery.signal a copy brought.
  const standby = instanceDir({ upstream: host(0), data: {} });
  writeFileSync(join(standby.dir, "data/pgdata/recovery.signal"), "");
  const s = await run(standby, envOf(1, 0, false));
  assert.ok(s.exited, s.output);
  assert.match(server(s.argv)[0] ?? "", / -c recovery_target_time= /);
  assert.match(s.output, /POSTGRES: in recovery/);
});

test("the instance pod: readiness gate, restricted security context with the image's uid, its claim, passwords only as Secret files", () => {
  const p = pod(r, 2, { hint: 0, uid: 101 }) as {
    metadata: { name: string; annotations: Record<string, string> };
    spec: Record<string, unknown> & {
      containers: { env: { name: string; valueFrom?: unknown }[]; securityContext: unknown }[];
      volumes: Record<string, unknown>[];
      securityContext: Record<string, unknown>;
    };
  };
  assert.equal(p.metadata.name, "pg-2");
  assert.equal(p.spec.hostname, "pg-2");
  assert.equal(p.spec.subdomain, names.headless(r));
  assert.equal(names.headless(r), "pg-instances");
  assert.deepEqual(p.spec.readinessGates, [{ conditionType: servingGate }]);
  assert.equal(servingGate, "postgres.ballast.dev/serving");
  assert.equal(p.spec.securityContext.runAsUser, 101);
  assert.equal(p.spec.securityContext.runAsNonRoot, true);
  assert.equal((pod(r, 2, { hint: 0 }).spec as typeof p.spec).securityContext.runAsUser, 999);
  assert.deepEqual(p.spec.containers[0]?.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  });
  assert.deepEqual(p.spec.volumes[0], {
    name: "data",
    persistentVolumeClaim: { claimName: "data-pg-2" },
  });
  // No marker unless the pod is made for the primary; then it names the pod itself.
  assert.equal(p.metadata.annotations[annotations.primary], undefined);
  const primary = pod(r, 0, { hint: 0, primary: true, bootstrap: true }) as typeof p;
  assert.equal(primary.metadata.annotations[annotations.primary], "pg-0");
  // No value from a Secret in the environment: only the pod's own uid comes from the downward API.
  assert.deepEqual(
    p.spec.containers[0]?.env.filter((e) => e.valueFrom !== undefined),
    [{ name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } }],
  );
  const text = JSON.stringify([p, primary, configMap(r)]);
  assert.doesNotMatch(text, /secretKeyRef|POSTGRES_PASSWORD/);
  assert.match(JSON.stringify(configMap(r)), /max_connections = 50\\nmax_replication_slots/);
  assert.deepEqual(
    [readWriteService(r), readOnlyService(r)].map((s) => [
      s.metadata.name,
      (s as unknown as { spec: { selector: Record<string, string> } }).spec.selector[
        "postgres.ballast.dev/role"
      ],
    ]),
    [
      ["pg-rw", "primary"],
      ["pg-ro", "standby"],
    ],
  );
});

test("with spec.backup, postgresql.conf switches WAL segments at least every 5 minutes, unless the user says otherwise", () => {
  const conf = (spec: Record<string, unknown>) =>
    (
      configMap({ ...r, spec: { ...r.spec, ...spec } } as PostgresCluster) as unknown as {
        data: Record<string, string>;
      }
    ).data["postgresql.conf"] ?? "";
  const backup = {
    backup: { objectStore: { endpoint: "https://s3:7070", bucket: "b", credentialsSecret: "s" } },
  };
  assert.doesNotMatch(conf({}), /archive_timeout/);
  assert.match(conf(backup), /^archive_timeout = '5min'$/m);
  const own = conf({ ...backup, postgresql: { parameters: { archive_timeout: "60s" } } });
  assert.match(own, /^archive_timeout = '60s'$/m);
  assert.doesNotMatch(own, /5min/);
});
