/**
 * The real port against real ZooKeeper: three 3.9.5 servers on 127.0.0.1
 * (the jars of the local `zookeeper` image), their AdminServers read over
 * HTTP, reconfig run by the distribution's own CLI as a local process
 * (in the operator it runs in the pod through exec). ACLs are enforced as
 * in the operator's pods: the servers know only the superuser's digest
 * (computed by `superDigest`), and reconfig is allowed to the superuser.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { zookeeper } from "../../../../../dev/src/node/images/zookeeper.ts";
import { type CommandRunner, ZooKeeperAdmin } from "./admin.ts";
import { superDigest } from "./digest.ts";
import type { MemberAddress } from "./port.ts";

const base = 20000 + (process.pid % 200) * 100;
const port = (id: number, kind: "client" | "quorum" | "election" | "admin") =>
  base + id * 10 + { client: 1, quorum: 2, election: 3, admin: 4 }[kind];
const line = (id: number) =>
  `server.${id}=127.0.0.1:${port(id, "quorum")}:${port(id, "election")}:participant;127.0.0.1:${port(id, "client")}`;

let dir: string;
let classpath: string;
const servers = new Map<number, ChildProcess>();
const member = (id: number): MemberAddress => ({
  id,
  host: "127.0.0.1",
  pod: { namespace: "local", name: `zk-${id}` },
});
const all = [1, 2, 3].map(member);
const superUser = { password: `pw-${process.pid}-${Date.now()}` };

const run: CommandRunner = (_pod, argv, stdin) =>
  new Promise((resolve) => {
    const child = execFile(argv[0] ?? "", argv.slice(1), (err, stdout, stderr) => {
      const code = err && typeof err.code === "number" ? err.code : err ? 1 : 0;
      resolve({ exitCode: code, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });

let admin: ZooKeeperAdmin;

function startServer(id: number, servers_: readonly number[]): ChildProcess {
  const d = join(dir, `s${id}`);
  mkdirSync(join(d, "zk"), { recursive: true });
  writeFileSync(join(d, "zk", "myid"), `${id}\n`);
  writeFileSync(
    join(d, "zoo.cfg"),
    [
      // Not lower: under CI load (two test files side by side on two cores) a 2.5 s sync limit dropped followers.
      "tickTime=1000",
      "initLimit=10",
      "syncLimit=5",
      `dataDir=${join(d, "zk")}`,
      "reconfigEnabled=true",
      "standaloneEnabled=false",
      "admin.serverAddress=127.0.0.1",
      `admin.serverPort=${port(id, "admin")}`,
      `dynamicConfigFile=${join(d, "zoo.cfg.dynamic")}`,
      "",
    ].join("\n"),
  );
  writeFileSync(join(d, "zoo.cfg.dynamic"), `${servers_.map(line).join("\n")}\n`);
  const child = spawn(
    "java",
    [
      "-Xmx96m",
      "-XX:+UseSerialGC",
      `-Dzookeeper.DigestAuthenticationProvider.superDigest=${superDigest(superUser.password)}`,
      "-cp",
      classpath,
      "org.apache.zookeeper.server.quorum.QuorumPeerMain",
      join(d, "zoo.cfg"),
    ],
    { stdio: "ignore" },
  );
  servers.set(id, child);
  return child;
}

before(async () => {
  const image = await zookeeper.prepare("3.9.5");
  const libs = (image.files ?? []).find((f) => f.target.endsWith("/lib"))?.source ?? "";
  const conf = (image.files ?? []).find((f) => f.target.endsWith("/conf"))?.source ?? "";
  classpath = `${conf}:${libs}/*`;
  dir = mkdtempSync(join(tmpdir(), "zk-admin-"));
  for (const id of [1, 2, 3]) startServer(id, [1, 2, 3]);
  admin = new ZooKeeperAdmin({
    run,
    adminPort: (m) => port(m.id, "admin"),
    clientPort: (m) => port(m.id, "client"),
    cli: [
      "java",
      "-Xmx64m",
      "-Dzookeeper.root.logger=WARN",
      "-cp",
      classpath,
      "org.apache.zookeeper.ZooKeeperMain",
    ],
  });
  await eventually(
    "a leader with two synced voting followers",
    async () => {
      const reports = await Promise.all(all.map((m) => admin.report(m)));
      return (
        reports.some((r) => r.state === "leader" && r.syncedVotingFollowers === 2) || undefined
      );
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
});

after(() => {
  for (const child of servers.values()) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function leaderId(): Promise<number> {
  return eventually(
    "a leader in broadcast",
    async () => {
      const reports = await Promise.all(all.map((m) => admin.report(m)));
      return reports.find((r) => r.state === "leader" && r.broadcast)?.id;
    },
    { timeoutMs: 60_000, intervalMs: 300 },
  );
}

test("report() gives each member's role, broadcast state, zxid and the voters it serves", async () => {
  // Every member answering at once (an AdminServer request can time out on a loaded machine:
  // 30 s was not enough in a CI run beside two cluster e2e runs; a wait, not a claim on time).
  const reports = await eventually(
    "every member reachable",
    async () => {
      const r = await Promise.all(all.map((m) => admin.report(m)));
      return r.every((x) => x.reachable && x.broadcast) ? r : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 300 },
  );
  assert.deepEqual(reports.map((r) => r.state).sort(), ["follower", "follower", "leader"]);
  for (const r of reports) {
    assert.ok(r.reachable && r.broadcast, `member ${r.id} is in broadcast`);
    assert.match(r.zxid ?? "", /^0x[0-9a-f]+$/);
    assert.deepEqual([...(r.config?.keys() ?? [])].sort(), [1, 2, 3]);
  }
});

test("reconfig() removing the current leader is applied although the CLI reports ConnectionLoss", async () => {
  const leader = await leaderId();
  const outcome = await admin.reconfig(
    member(leader),
    { kind: "remove", id: leader },
    all,
    superUser,
  );
  assert.ok(outcome.applied, outcome.detail);
  assert.deepEqual(
    outcome.voters,
    [1, 2, 3].filter((id) => id !== leader),
  );

  // The removed member keeps running as a non-voting follower; adding it back makes it a voter again.
  const via = member([1, 2, 3].find((id) => id !== leader) ?? 1);
  const back = await eventually(
    "the removed member added back",
    async () => {
      const o = await admin.reconfig(
        via,
        { kind: "add", id: leader, line: line(leader) },
        all,
        superUser,
      );
      return o.applied ? o : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 1000 },
  );
  assert.deepEqual(back.voters, [1, 2, 3]);
});

test("superDigest() is the digest ZooKeeper's own DigestAuthenticationProvider computes", async () => {
  const printed = await new Promise<string>((resolve, reject) =>
    execFile(
      "java",
      [
        "-cp",
        classpath,
        "org.apache.zookeeper.server.auth.DigestAuthenticationProvider",
        "super:some password/+=",
      ],
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  // It prints `user:password->user:digest`.
  assert.equal(printed.trim().split("->").at(-1), superDigest("some password/+="));
});

test("reconfig() with a wrong password is refused by the ACL, and no password shows in the outcome", async () => {
  const leader = await leaderId();
  const via = member([1, 2, 3].find((id) => id !== leader) ?? 1);
  const wrong = { password: `wrong-${superUser.password}` };
  const outcome = await admin.reconfig(via, { kind: "remove", id: leader }, all, wrong);
  assert.equal(outcome.applied, false, outcome.detail);
  assert.deepEqual(outcome.voters, [1, 2, 3], "the configuration is unchanged");
  assert.match(outcome.detail, /Insufficient permission|NoAuth|not authenticated/i);
  assert.ok(!outcome.detail.includes(wrong.password), outcome.detail);

  const unauthenticated = await run(
    via.pod,
    [
      "java",
      "-Xmx64m",
      "-cp",
      classpath,
      "org.apache.zookeeper.ZooKeeperMain",
      "-server",
      `127.0.0.1:${port(via.id, "client")}`,
    ],
    `reconfig -remove ${leader}\nquit\n`,
  );
  assert.match(
    `${unauthenticated.stdout}${unauthenticated.stderr}`,
    /Insufficient permission|NoAuth/i,
    "a client that did not authenticate cannot reconfig (skipACL is off)",
  );
  assert.deepEqual(await admin.readVoters(all), [1, 2, 3]);
});

test("report() of a member without a quorum says looking, and reconfig() through it is not applied", async () => {
  const leader = await leaderId();
  const others = [1, 2, 3].filter((id) => id !== leader);
  const lone = others[0] ?? 1;
  for (const id of [leader, others[1] ?? 2]) servers.get(id)?.kill("SIGKILL");
  const report = await eventually(
    "the lone member looking",
    async () => {
      const r = await admin.report(member(lone));
      return r.state === "looking" ? r : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 300 },
  );
  assert.equal(report.broadcast, false);
  const outcome = await admin.reconfig(
    member(lone),
    { kind: "remove", id: leader },
    [member(lone)],
    superUser,
  );
  assert.equal(outcome.applied, false, outcome.detail);
});
