/**
 * The `redis` and `postgres` images run Debian's packages with the official
 * images' behaviour that operators rely on, on a private 1-node cluster:
 * default commands, users, first-start initialisation, passwords, reachability
 * from other pods and the host, and data that outlives its pod on a PVC.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import {
  createNamespace,
  eventually,
  type PrivateTestCluster,
  startTestCluster,
} from "@ballast/dev/testkit";
import { resolveImage } from "../src/node/images.ts";

const run = promisify(execFile);
let cluster: PrivateTestCluster;
const ns = "images-debian-test";
const password = "s3cret-pw";

before(async () => {
  cluster = await startTestCluster({ name: "images-debian", nodes: 1 });
  await createNamespace(cluster, ns);
});

after(async () => {
  await cluster?.stop();
});

interface PodView {
  status: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      restartCount: number;
      state: { terminated?: { exitCode: number }; waiting?: { reason: string } };
      lastState?: { terminated?: { exitCode: number } };
    }[];
  };
}

async function create(path: string, body: unknown): Promise<void> {
  const res = await cluster.api(`/api/v1/namespaces/${ns}/${path}`, { method: "POST", body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function pod(name: string): Promise<PodView | undefined> {
  const res = await cluster.api(`/api/v1/namespaces/${ns}/pods/${name}`);
  return res.status === 200 ? (res.body as PodView) : undefined;
}

/** Waits until the pod is Ready and returns its IP. */
async function ready(name: string, timeoutMs = 90_000): Promise<string> {
  return eventually(
    `pod ${name} Ready`,
    async () => {
      const view = await pod(name);
      const isReady = view?.status.conditions?.some(
        (c) => c.type === "Ready" && c.status === "True",
      );
      return isReady ? view?.status.podIP : undefined;
    },
    { timeoutMs },
  );
}

async function exec(name: string, ...argv: string[]): Promise<string> {
  const res = await cluster.kubectl("-n", ns, "exec", name, "--", ...argv);
  assert.equal(res.code, 0, `exec ${argv.join(" ")} in ${name}: ${res.stderr}`);
  return res.stdout.trim();
}

function podBody<S extends object>(name: string, spec: S) {
  return { apiVersion: "v1", kind: "Pod", metadata: { name }, spec };
}

function redisPod(name: string): object {
  return podBody(name, {
    containers: [
      {
        name: "redis",
        image: "docker.io/library/redis:7.2",
        readinessProbe: { tcpSocket: { port: 6379 }, periodSeconds: 1 },
      },
    ],
  });
}

function postgresContainer(env: { name: string; value: string }[], image = "postgres:15") {
  return {
    name: "postgres",
    image,
    env,
    volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }],
    readinessProbe: {
      exec: { command: ["pg_isready", "-h", "127.0.0.1"] },
      periodSeconds: 1,
    },
  };
}

test("resolveImage() maps redis and postgres under any registry and tag, noting a foreign postgres major", async () => {
  const redis = await resolveImage("docker.io/library/redis:7.2-alpine");
  assert.deepEqual(
    [redis.entrypoint, redis.cmd, redis.workingDir],
    [["docker-entrypoint.sh"], ["redis-server"], "/data"],
  );
  const pg15 = await resolveImage("postgres:15.6");
  assert.deepEqual([pg15.entrypoint, pg15.cmd], [["docker-entrypoint.sh"], ["postgres"]]);
  assert.equal(pg15.env.PGDATA, "/var/lib/postgresql/data");
  assert.equal(pg15.env.PGHOST, "/tmp");
  assert.equal(pg15.env.BALLAST_REQUESTED_TAG, undefined);
  assert.equal(
    (await resolveImage("mirror.local:5000/postgres:17")).env.BALLAST_REQUESTED_TAG,
    "17",
  );
  assert.equal((await resolveImage("postgres")).env.BALLAST_REQUESTED_TAG, undefined);
});

test("a redis pod runs redis-server as the redis user, answers redis-cli, and other pods reach it by IP", async () => {
  await create("pods", redisPod("redis"));
  const ip = await ready("redis");

  assert.equal(await exec("redis", "redis-cli", "set", "k", "v"), "OK");
  assert.equal(await exec("redis", "redis-cli", "get", "k"), "v");
  // The official image drops root and serves from /data.
  assert.equal(await exec("redis", "stat", "-c", "%U", "/proc/1"), "redis");
  assert.equal(await exec("redis", "redis-cli", "config", "get", "dir"), "dir\n/data");
  assert.equal(
    await exec("redis", "redis-cli", "config", "get", "protected-mode"),
    "protected-mode\nno",
  );
  // /data is the image's VOLUME: with no volume there it is private to the
  // container, never the host's /data shared by every pod.
  assert.equal(await exec("redis", "redis-cli", "save"), "OK");
  assert.equal(await exec("redis", "sh", "-c", "test -s /data/dump.rdb && echo saved"), "saved");
  assert.equal(existsSync("/data/dump.rdb"), false);

  // Without a password: only protected mode off lets another pod in.
  await create(
    "pods",
    podBody("redis-client", {
      restartPolicy: "Never",
      containers: [
        {
          name: "client",
          image: "redis:7",
          command: ["sh", "-c", `test "$(redis-cli -h ${ip} get k)" = v`],
        },
      ],
    }),
  );
  const phase = await eventually("redis-client finished", async () => {
    const p = (await pod("redis-client"))?.status.phase;
    return p === "Succeeded" || p === "Failed" ? p : undefined;
  });
  const logs = await cluster.kubectl("-n", ns, "logs", "redis-client");
  assert.equal(phase, "Succeeded", logs.stdout + logs.stderr);
});

test("a postgres pod initialises its emptyDir, runs as postgres, and takes SQL over exec and over TCP with the password", async () => {
  await create(
    "pods",
    podBody("pg", {
      containers: [postgresContainer([{ name: "POSTGRES_PASSWORD", value: password }])],
      volumes: [{ name: "data", emptyDir: {} }],
    }),
  );
  const ip = await ready("pg");

  const selected = await exec(
    "pg",
    "psql",
    "-U",
    "postgres",
    "-v",
    "ON_ERROR_STOP=1",
    "-tAc",
    "create table notes (body text); insert into notes values ('hello'); select body from notes",
  );
  assert.equal(selected, "CREATE TABLE\nINSERT 0 1\nhello");
  assert.equal(await exec("pg", "stat", "-c", "%U", "/proc/1"), "postgres");

  const env = { ...process.env, PGCONNECT_TIMEOUT: "10" };
  const { stdout } = await run(
    "psql",
    ["-h", ip, "-U", "postgres", "-tAc", "select count(*) from notes"],
    { env: { ...env, PGPASSWORD: password } },
  );
  assert.equal(stdout.trim(), "1");
  await assert.rejects(
    run("psql", ["-h", ip, "-U", "postgres", "-tAc", "select 1"], {
      env: { ...env, PGPASSWORD: "wrong" },
    }),
    /password authentication failed/,
  );
});

test("a postgres pod with no volume at PGDATA gets a private one, not the host's directory", async () => {
  await create(
    "pods",
    podBody("pg-novolume", {
      containers: [
        {
          ...postgresContainer([{ name: "POSTGRES_HOST_AUTH_METHOD", value: "trust" }]),
          volumeMounts: [],
        },
      ],
    }),
  );
  await ready("pg-novolume");
  assert.equal(await exec("pg-novolume", "psql", "-U", "postgres", "-tAc", "select 1"), "1");
  assert.equal(
    await exec("pg-novolume", "sh", "-c", "test -s $PGDATA/PG_VERSION && echo initialised"),
    "initialised",
  );
  assert.equal(existsSync("/var/lib/postgresql/data/PG_VERSION"), false);
});

test("a postgres pod without POSTGRES_PASSWORD exits 1 with the official image's message", async () => {
  await create(
    "pods",
    podBody("pg-nopass", {
      restartPolicy: "Never",
      containers: [postgresContainer([])],
      volumes: [{ name: "data", emptyDir: {} }],
    }),
  );
  const exitCode = await eventually("pg-nopass terminated", async () => {
    const status = (await pod("pg-nopass"))?.status.containerStatuses?.[0];
    return status?.state.terminated?.exitCode;
  });
  assert.equal(exitCode, 1);
  const logs = await cluster.kubectl("-n", ns, "logs", "pg-nopass");
  assert.match(logs.stdout, /Error: PGDATA is empty and no superuser password was given/);
  assert.match(logs.stdout, /POSTGRES_HOST_AUTH_METHOD=trust/);
});

test("a postgres database on a PVC, seeded by an init script, survives deleting and recreating its pod", async () => {
  await create("configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "pg-init" },
    data: { "10-seed.sql": "create table seeded (n int); insert into seeded values (7);" },
  });
  await create("persistentvolumeclaims", {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "pg-data" },
    spec: {
      storageClassName: "local",
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
    },
  });
  // A tag for another major still runs Debian's 15, and says so.
  const body = podBody("pg-pvc", {
    containers: [
      postgresContainer(
        [
          { name: "POSTGRES_PASSWORD", value: password },
          { name: "POSTGRES_DB", value: "app" },
        ],
        "postgres:16-bookworm",
      ),
    ],
    volumes: [
      { name: "data", persistentVolumeClaim: { claimName: "pg-data" } },
      { name: "init", configMap: { name: "pg-init" } },
    ],
  });
  body.spec.containers[0]?.volumeMounts.push({
    name: "init",
    mountPath: "/docker-entrypoint-initdb.d",
  });
  await create("pods", body);
  await ready("pg-pvc");
  const logs = await cluster.kubectl("-n", ns, "logs", "pg-pvc");
  assert.match(logs.stdout, /16-bookworm.*runs Debian's PostgreSQL 15\./);
  await exec(
    "pg-pvc",
    "psql",
    "-U",
    "postgres",
    "-d",
    "app",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    "create table kept (n int); insert into kept values (42)",
  );

  const deleted = await cluster.api(`/api/v1/namespaces/${ns}/pods/pg-pvc`, {
    method: "DELETE",
    body: { gracePeriodSeconds: 30 },
  });
  assert.equal(deleted.status, 200);
  await eventually("pg-pvc gone", async () => ((await pod("pg-pvc")) ? undefined : true), {
    timeoutMs: 60_000,
  });

  await create("pods", body);
  await ready("pg-pvc");
  const again = await cluster.kubectl("-n", ns, "logs", "pg-pvc");
  assert.match(again.stdout, /already holds a database: skipping initialisation/);
  assert.equal(
    await exec("pg-pvc", "psql", "-U", "postgres", "-d", "app", "-tAc", "select n from kept"),
    "42",
  );
  // The init script ran once, in the database POSTGRES_DB created.
  assert.equal(
    await exec(
      "pg-pvc",
      "psql",
      "-U",
      "postgres",
      "-d",
      "app",
      "-tAc",
      "select count(*) from seeded",
    ),
    "1",
  );
});
