/**
 * The `valkey` image runs Debian bookworm-backports' Valkey 8.0.1 with the
 * official image's behaviour, on a private 1-node cluster: its names, default
 * command, user, /data, protected mode, VALKEY_EXTRA_FLAGS, the redis-* names
 * the Redis operator's start scripts call, and a master, replica and sentinel
 * started the way the operator starts them (its own command, uid 999).
 * First, backports.sh fetches the packages into an empty cache for real.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  createNamespace,
  eventually,
  type PrivateTestCluster,
  startTestCluster,
} from "@ballast/dev/testkit";
import { resolveImage } from "../src/node/images.ts";
import { toolchainDir } from "../src/paths.ts";
import { backportsRoot, readBackports } from "../src/system-packages.ts";

let cluster: PrivateTestCluster;
const ns = "images-valkey-test";
const password = "s3cret-pw";

before(async () => {
  cluster = await startTestCluster({ name: "images-valkey", nodes: 1 });
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
  };
}

async function create(body: unknown): Promise<void> {
  const res = await cluster.api(`/api/v1/namespaces/${ns}/pods`, { method: "POST", body });
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

function podBody(name: string, spec: object) {
  return { apiVersion: "v1", kind: "Pod", metadata: { name }, spec };
}

/** A container as the Redis operator writes one: its own command as uid 999, /data a volume. */
function operatorStyle(name: string, image: string, script: string, port: number) {
  return podBody(name, {
    securityContext: { runAsUser: 999, runAsGroup: 999, fsGroup: 999 },
    containers: [
      {
        name: "valkey",
        image,
        command: ["/bin/sh", "-c", script],
        env: [{ name: "PW", value: password }],
        readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      },
    ],
    volumes: [{ name: "data", emptyDir: {} }],
  });
}

test("backports.sh fetches the pinned packages from bookworm-backports into an empty cache, then has nothing to do", () => {
  const cache = mkdtempSync(join(tmpdir(), "ballast-backports-"));
  try {
    const script = join(toolchainDir, "backports.sh");
    const env = { ...process.env, BALLAST_CACHE_DIR: cache };
    const first = spawnSync("bash", [script], { env, encoding: "utf8" });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /fetching from Debian bookworm-backports .*valkey-tools=8\.0\.1/);
    const root = backportsRoot(readBackports(), env);
    const version = spawnSync(join(root, "usr/bin/valkey-server"), ["--version"], {
      encoding: "utf8",
    });
    assert.match(version.stdout, /^Valkey server v=8\.0\.1 /);
    assert.equal(
      readFileSync(join(root, "packages.txt"), "utf8"),
      readBackports()
        .map((e) => `${e.package}=${e.version}\n`)
        .join(""),
    );
    const again = spawnSync("bash", [script], { env, encoding: "utf8" });
    assert.deepEqual([again.status, again.stdout, again.stderr], [0, "", ""]);
    // Nothing was installed: the machine's apt knows no valkey-server.
    assert.equal(existsSync("/usr/bin/valkey-server"), false);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test("resolveImage() maps valkey and valkey/valkey under any registry and tag, noting a tag for another major", async () => {
  for (const image of [
    "valkey:8.0",
    "valkey/valkey:8.0.1-bookworm",
    "docker.io/valkey/valkey",
    "public.ecr.aws/valkey/valkey:8",
  ]) {
    const runtime = await resolveImage(image);
    assert.deepEqual(
      [runtime.entrypoint, runtime.cmd, runtime.workingDir, runtime.env],
      [["docker-entrypoint.sh"], ["valkey-server"], "/data", { VALKEY_VERSION: "8.0.1" }],
      image,
    );
  }
  assert.equal((await resolveImage("valkey/valkey:7.2")).env.BALLAST_REQUESTED_TAG, "7.2");
  // Not unpacked (another cache): the pod's ErrImagePull says what fetches it.
  const saved = process.env.BALLAST_CACHE_DIR;
  process.env.BALLAST_CACHE_DIR = join(tmpdir(), `ballast-empty-cache-${process.pid}`);
  try {
    await assert.rejects(
      resolveImage("valkey:8"),
      /bookworm-backports' valkey-server 8\.0\.1\+dfsg1-1~bpo12\+1, .* not unpacked .*`bash dev\/toolchain\/backports\.sh`/,
    );
  } finally {
    if (saved === undefined) delete process.env.BALLAST_CACHE_DIR;
    else process.env.BALLAST_CACHE_DIR = saved;
  }
  // The redis image is still Debian's redis-server.
  assert.equal((await resolveImage("redis:7.2")).cmd[0], "redis-server");
  assert.equal((await resolveImage("redis:7.2")).env.VALKEY_VERSION, undefined);
});

test("a valkey pod runs valkey-server as the redis user with the official defaults, answers valkey-cli and redis-cli, and another pod reaches it", async () => {
  await create(
    podBody("valkey", {
      containers: [
        {
          name: "valkey",
          image: "valkey:7.2",
          env: [
            { name: "VALKEY_EXTRA_FLAGS", value: "--databases 4 --maxmemory-policy allkeys-lru" },
          ],
          readinessProbe: { tcpSocket: { port: 6379 }, periodSeconds: 1 },
        },
      ],
    }),
  );
  const ip = await ready("valkey");

  assert.equal(await exec("valkey", "valkey-cli", "set", "k", "v"), "OK");
  assert.equal(await exec("valkey", "redis-cli", "get", "k"), "v");
  const info = await exec("valkey", "redis-cli", "info", "server");
  assert.match(info, /^valkey_version:8\.0\.1\r?$/m);
  assert.match(info, /^redis_version:7\.2\.4\r?$/m);
  assert.equal(await exec("valkey", "stat", "-c", "%U", "/proc/1"), "redis");
  assert.equal(await exec("valkey", "valkey-cli", "config", "get", "dir"), "dir\n/data");
  assert.equal(
    await exec("valkey", "valkey-cli", "config", "get", "protected-mode"),
    "protected-mode\nno",
  );
  // VALKEY_EXTRA_FLAGS, appended by the entrypoint as the official one does.
  assert.equal(await exec("valkey", "valkey-cli", "config", "get", "databases"), "databases\n4");
  assert.equal(
    await exec("valkey", "valkey-cli", "config", "get", "maxmemory-policy"),
    "maxmemory-policy\nallkeys-lru",
  );
  // /data is the image's VOLUME: private to the container when no volume is there.
  assert.equal(await exec("valkey", "valkey-cli", "save"), "OK");
  assert.equal(await exec("valkey", "sh", "-c", "test -s /data/dump.rdb && echo saved"), "saved");
  assert.equal(existsSync("/data/dump.rdb"), false);
  // The official image's names for the same programs.
  assert.equal(
    await exec("valkey", "sh", "-c", "redis-server --version | cut -d' ' -f1-3"),
    "Valkey server v=8.0.1",
  );
  assert.match(await exec("valkey", "redis-check-rdb", "/data/dump.rdb"), /RDB looks OK/);
  const logs = await cluster.kubectl("-n", ns, "logs", "valkey");
  assert.match(
    logs.stderr + logs.stdout,
    /"7\.2" asked for another Valkey version; .*Valkey 8\.0\.1/,
  );

  await create(
    podBody("valkey-client", {
      restartPolicy: "Never",
      containers: [
        {
          name: "client",
          image: "valkey/valkey:8.0",
          command: ["sh", "-c", `test "$(redis-cli -h ${ip} get k)" = v`],
        },
      ],
    }),
  );
  const phase = await eventually("valkey-client finished", async () => {
    const p = (await pod("valkey-client"))?.status.phase;
    return p === "Succeeded" || p === "Failed" ? p : undefined;
  });
  const clientLogs = await cluster.kubectl("-n", ns, "logs", "valkey-client");
  assert.equal(phase, "Succeeded", clientLogs.stdout + clientLogs.stderr);
});

test("a master, a replica and a sentinel started as the Redis operator starts them (redis-server, uid 999) replicate and are monitored", async () => {
  const auth = "--requirepass $PW --masterauth $PW";
  await create(
    operatorStyle("vk-master", "valkey:8.0", `exec redis-server --port 6379 ${auth}`, 6379),
  );
  const master = await ready("vk-master");
  await create(
    operatorStyle(
      "vk-replica",
      "valkey:8.0",
      `exec redis-server --port 6379 ${auth} --replicaof ${master} 6379`,
      6379,
    ),
  );
  await ready("vk-replica");
  await create(
    operatorStyle(
      "vk-sentinel",
      "valkey:8.0",
      [
        "set -eu",
        "printf '%s\\n' 'port 26379' \"requirepass $PW\" " +
          `"sentinel monitor vk ${master} 6379 1" "sentinel auth-pass vk $PW" > /data/sentinel.conf`,
        "exec redis-server /data/sentinel.conf --sentinel",
      ].join("\n"),
      26379,
    ),
  );
  await ready("vk-sentinel");

  const cli = (podName: string, port: number, ...args: string[]) =>
    exec(podName, "sh", "-c", `REDISCLI_AUTH="$PW" redis-cli --raw -p ${port} ${args.join(" ")}`);
  assert.equal(await exec("vk-master", "id", "-u"), "999");
  await eventually(
    "the replica in sync",
    async () => /master_link_status:up/.test(await cli("vk-replica", 6379, "info", "replication")),
    { timeoutMs: 30_000 },
  );
  assert.equal(await cli("vk-master", 6379, "set", "x", "1"), "OK");
  await eventually("the write replicated", async () =>
    (await cli("vk-replica", 6379, "get", "x")) === "1" ? true : undefined,
  );
  assert.equal(
    await cli("vk-sentinel", 26379, "sentinel", "get-master-addr-by-name", "vk"),
    `${master}\n6379`,
  );
  await eventually(
    "the sentinel knowing the replica",
    async () => /\bslave\b/.test(await cli("vk-sentinel", 26379, "sentinel", "replicas", "vk")),
    { timeoutMs: 30_000 },
  );
  assert.match(await cli("vk-sentinel", 26379, "info", "server"), /^valkey_version:8\.0\.1\r?$/m);
});
