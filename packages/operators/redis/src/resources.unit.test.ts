/**
 * The start scripts, run by /bin/sh with stand-ins for `redis-cli` (the
 * sentinels' and members' answers come from files) and `redis-server`
 * (prints the config it was given): who a member starts following, at
 * every start. The scripts' paths are moved to a temporary directory.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { RedisReplication } from "./api.ts";
import {
  configMap,
  memberHost,
  memberScript,
  pod,
  redisConfig,
  sentinelHost,
  sentinelPod,
  sentinelScript,
  templateHash,
} from "./resources.ts";

const r = {
  apiVersion: "ballast.dev/v1alpha1",
  kind: "RedisReplication",
  metadata: { name: "rr", namespace: "ns", uid: "u" },
  spec: {
    version: "7.0.15",
    replicas: 2,
    sentinels: 3,
    persistence: { mode: "aof", storage: { size: "1Gi" } },
    minReplicasToWrite: 1,
    minReplicasMaxLag: 10,
    config: { maxmemory: "1gb" },
  },
} as unknown as RedisReplication;

const cli = `#!/bin/sh
host=; while [ $# -gt 0 ]; do case "$1" in -h) host=$2; shift 2;; -p) shift 2;; --raw) shift;; *) break;; esac; done
[ -f "$STUB/$host" ] || exit 1
if [ "$1" = INFO ]; then cat "$STUB/$host"; else sed -n 1p "$STUB/$host"; echo 6379; fi
`;
const server = `#!/bin/sh
cat "$1"
`;
const getent = "#!/bin/sh\nexit 0\n";

interface Outcome {
  exited: boolean;
  output: string;
}

function runScript(
  script: string,
  env: Record<string, string>,
  answers: Record<string, string>,
): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), "redis-script-"));
  for (const sub of ["bin", "stub", "data", "etc"]) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, "bin", "redis-cli"), cli);
  writeFileSync(join(dir, "bin", "redis-server"), server);
  writeFileSync(join(dir, "bin", "valkey-cli"), cli);
  writeFileSync(join(dir, "bin", "valkey-server"), `#!/bin/sh\necho "valkey-server $*"\n${server}`);
  writeFileSync(join(dir, "bin", "getent"), getent);
  for (const f of ["redis-cli", "redis-server", "valkey-cli", "valkey-server", "getent"])
    chmodSync(join(dir, "bin", f), 0o755);
  for (const [host, answer] of Object.entries(answers))
    writeFileSync(join(dir, "stub", host), answer.endsWith("\n") ? answer : `${answer}\n`);
  writeFileSync(join(dir, "etc", "redis.conf"), redisConfig(r));
  writeFileSync(join(dir, "etc", "sentinel.conf"), "port 26379\n");
  const moved = script
    .replaceAll("/etc/redis-operator", join(dir, "etc"))
    .replaceAll("/data", join(dir, "data"));
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", moved], {
      env: { PATH: `${join(dir, "bin")}:${process.env.PATH}`, STUB: join(dir, "stub"), ...env },
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 2500);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ exited: code === 0, output });
    });
  });
}

const m = (id: number) => memberHost(r, id);
const s = (id: number) => sentinelHost(r, id);

function memberEnv(id: number, hint: number, persistent = true): Record<string, string> {
  const env =
    (
      pod(r, id, hint, [0, 1, 2]).spec as {
        containers: { env: { name: string; value?: string }[] }[];
      }
    ).containers[0]?.env ?? [];
  const out: Record<string, string> = { REDIS_PASSWORD: "pw" };
  for (const e of env) if (e.value !== undefined) out[e.name] = e.value;
  if (!persistent) out.PERSISTENT = "no";
  return out;
}

test("a member named master by no sentinel follows the sentinels' master, whatever the hint says", async () => {
  const out = await runScript(memberScript(), memberEnv(0, 0), {
    [s(0)]: m(2),
    [s(1)]: m(2),
  });
  assert.ok(out.exited, out.output);
  assert.match(out.output, new RegExp(`replicaof ${m(2).replaceAll(".", "\\.")} 6379`));
  assert.match(out.output, /replica-announce-ip rr-0\.rr-members\.ns\.svc\.cluster\.local/);
  assert.match(out.output, /requirepass pw\nmasterauth pw/);
});

test("an old master restarted after a failover starts as a replica of the new one", async () => {
  // Two sentinels name member 1; one stale sentinel still names member 0 (itself).
  const out = await runScript(memberScript(), memberEnv(0, 0), {
    [s(0)]: m(1),
    [s(1)]: m(1),
    [s(2)]: m(0),
  });
  assert.ok(out.exited, out.output);
  assert.match(out.output, /starting as a replica of rr-1/);
});

test("a member a majority of the sentinels name starts as master", async () => {
  const out = await runScript(memberScript(), memberEnv(1, 0), {
    [s(0)]: m(1),
    [s(1)]: m(1),
  });
  assert.ok(out.exited, out.output);
  assert.match(out.output, /starting as master/);
  assert.doesNotMatch(out.output, /replicaof/);
});

test("a member the sentinels still name, restarted while other members hold data, waits for them to fail over", async () => {
  const out = await runScript(memberScript(), memberEnv(1, 0), {
    [s(0)]: m(1),
    [s(1)]: m(1),
    [m(2)]: "role:slave\nmaster_repl_offset:4242\n",
  });
  assert.ok(!out.exited);
  assert.match(out.output, /still name this member master and other members hold data: waiting/);
});

test("a member only a minority of the sentinels name waits instead of starting as master", async () => {
  const out = await runScript(memberScript(), memberEnv(1, 0), { [s(0)]: m(1) });
  assert.ok(!out.exited);
  assert.match(out.output, /only 1 sentinel\(s\) name this member master \(2 needed\); waiting/);
});

test("bring-up: no sentinel knows a master, member 0 (the hint) starts as master and the others follow it", async () => {
  const first = await runScript(memberScript(), memberEnv(0, 0), {});
  assert.ok(first.exited, first.output);
  assert.match(first.output, /starting as master/);
  const second = await runScript(memberScript(), memberEnv(2, 0), {});
  assert.match(second.output, /starting as a replica of rr-0\.rr-members/);
});

test("without persistence, a member that would be master waits while another member holds data", async () => {
  const out = await runScript(memberScript(), memberEnv(0, 0, false), {
    [m(1)]: "role:slave\nmaster_repl_offset:4242\n",
  });
  assert.ok(!out.exited);
  assert.match(out.output, /this member has no volume and other members hold data: waiting/);
});

test("a sentinel monitors the master the other sentinels name, with hostnames and the password", async () => {
  const env = (
    (await import("./resources.ts")).sentinelPod(r, 1, 0).spec as {
      containers: { env: { name: string; value?: string }[] }[];
    }
  ).containers[0]?.env;
  const vars: Record<string, string> = { REDIS_PASSWORD: "pw" };
  for (const e of env ?? []) if (e.value !== undefined) vars[e.name] = e.value;
  const out = await runScript(sentinelScript(), vars, { [s(0)]: m(2) });
  assert.ok(out.exited, out.output);
  assert.match(out.output, new RegExp(`sentinel monitor rr ${m(2).replaceAll(".", "\\.")} 6379 2`));
  assert.match(
    out.output,
    /sentinel announce-ip rr-sentinel-1\.rr-sentinel\.ns\.svc\.cluster\.local/,
  );
  assert.match(out.output, /sentinel auth-pass rr pw/);
  assert.match(out.output, /sentinel down-after-milliseconds rr 5000/);
});

test("redis.conf holds the owned settings, the user's restart keys and the APPLIED dynamic ones, never the password", () => {
  const withSpec = {
    ...r,
    spec: { ...r.spec, config: { maxmemory: "2gb", databases: 32 } },
    status: { config: { hash: "h", applied: { maxmemory: "1gb" }, live: {}, at: "" } },
  } as unknown as RedisReplication;
  const conf =
    (configMap(withSpec) as unknown as { data: Record<string, string> }).data["redis.conf"] ?? "";
  // The spec's 2gb is not applied yet (Redis has not accepted it): a pod started now gets 1gb.
  assert.match(conf, /^maxmemory 1gb$/m);
  assert.doesNotMatch(conf, /2gb/);
  assert.match(conf, /^databases 32$/m);
  assert.match(conf, /^appendonly yes$/m);
  assert.match(conf, /^min-replicas-to-write 1$/m);
  assert.doesNotMatch(conf, /requirepass|masterauth/);
});

test("templateHash() ignores dynamic keys and changes with restart keys", () => {
  const spec = (config: Record<string, string | number>) =>
    ({ ...r, spec: { ...r.spec, config } }) as unknown as RedisReplication;
  const base = templateHash(spec({}));
  assert.equal(templateHash(spec({ maxmemory: "2gb", "maxmemory-policy": "allkeys-lru" })), base);
  assert.notEqual(templateHash(spec({ databases: 32 })), base);
  assert.notEqual(templateHash(spec({ "io-threads": 4 })), base);
  // An applied dynamic setting in status moves nothing either.
  const applied = {
    ...spec({ maxmemory: "2gb" }),
    status: { config: { hash: "h", applied: { maxmemory: "2gb" }, live: {}, at: "" } },
  } as unknown as RedisReplication;
  assert.equal(templateHash(applied), base);
});

test("templateHash() of a spec without dynamic keys is what the operator before dynamic config computed (no roll on upgrade)", () => {
  // Computed by the previous resources.ts (git 43489aa) for these specs.
  const spec = (config: Record<string, string | number> | undefined) =>
    ({ ...r, spec: { ...r.spec, config } }) as unknown as RedisReplication;
  assert.equal(templateHash(spec({ databases: 32, "io-threads": 2 })), "785103e9bac00500");
  assert.equal(templateHash(spec(undefined)), "9a89ca86dc8306f7");
});

test("engine valkey: the pods run valkey/valkey:<version>, and the scripts call valkey-cli and valkey-server", async () => {
  const vk = { ...r, spec: { ...r.spec, engine: "valkey", version: "8.0.1" } } as RedisReplication;
  const container = (p: { spec: unknown }) =>
    (p.spec as { containers: { image: string; command: string[] }[] }).containers[0];
  assert.equal(container(pod(vk, 0, 0, [0, 1, 2]))?.image, "valkey/valkey:8.0.1");
  assert.equal(container(sentinelPod(vk, 0, 0))?.image, "valkey/valkey:8.0.1");
  assert.doesNotMatch(memberScript("valkey"), /redis-(cli|server)/);
  assert.doesNotMatch(sentinelScript("valkey"), /redis-(cli|server)/);
  // Asked through valkey-cli, the sentinels' master is followed, and valkey-server is started.
  const out = await runScript(memberScript("valkey"), memberEnv(0, 0), {
    [s(0)]: m(2),
    [s(1)]: m(2),
    [s(2)]: m(2),
  });
  assert.ok(out.exited, out.output);
  assert.match(out.output, /valkey-server \S+redis\.conf/);
  assert.match(out.output, new RegExp(`replicaof ${m(2)} 6379`));
  // A spec saying engine: redis is the spec before the field existed: the same pods, no roll.
  const explicit = { ...r, spec: { ...r.spec, engine: "redis" } } as RedisReplication;
  assert.equal(templateHash(explicit), templateHash(r));
  assert.notEqual(templateHash(vk), templateHash({ ...vk, spec: { ...vk.spec, engine: "redis" } }));
});
