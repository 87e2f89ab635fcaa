/**
 * Act-layer tests of the ZooKeeperEnsemble pipeline: the real
 * `reconcileEnsemble` with its two ports faked (the API server, and
 * ZooKeeper), driven reconcile by reconcile. Every reconcile builds a new
 * scope from what the fake API server (`@ballast/stateful/testing`) holds,
 * as a restarted operator would; `killBefore` kills the operator in the
 * middle of one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Action, KubeApiError } from "@ballast/runtime";
import { type Operation, type PodLike, rejectedRetryMs } from "@ballast/stateful";
import type { KubeWrite, Stored } from "@ballast/stateful/testing";
import { superDigest } from "../admin/digest.ts";
import type { ZooKeeperEnsemble } from "../api.ts";
import {
  ensembleObject,
  FakeZooKeeper,
  type ReconfigCall,
  reconcileOnce,
  type ZooKeeperWorld,
  zooKeeperWorld,
} from "./_act-world.ts";

type Call = KubeWrite | ReconfigCall;

interface Run {
  api: ZooKeeperWorld;
  zk: FakeZooKeeper;
  ensemble(): ZooKeeperEnsemble;
  operation(): Operation | undefined;
  /** Reconciles (the kubelet starting pods in between) until `done`, at most `max` times. */
  until(done: () => boolean, max?: number, between?: () => void): Promise<void>;
}

function condition(e: ZooKeeperEnsemble, type: string) {
  return e.status?.conditions?.find((c) => c.type === type);
}

async function readyEnsemble(replicas: 1 | 3 | 5 | 7 = 3): Promise<Run> {
  const api = zooKeeperWorld();
  api.put(ensembleObject({ replicas }));
  const zk = new FakeZooKeeper(
    api,
    Array.from({ length: replicas }, (_, i) => i + 1),
  );
  const run: Run = {
    api,
    zk,
    ensemble: () => api.get("ZooKeeperEnsemble", "zk") as ZooKeeperEnsemble,
    operation: () => run.ensemble().status?.operation,
    async until(done, max = 80, between = () => {}) {
      await api.reconcileUntil(done, () => reconcileOnce(api, zk), {
        max,
        between,
        describe: () => `status: ${JSON.stringify(run.ensemble().status)}`,
      });
    },
  };
  await run.until(() => condition(run.ensemble(), "Ready")?.status === "True" && !run.operation());
  api.calls.length = 0;
  return run;
}

function changeSpec(run: Run, spec: Partial<ZooKeeperEnsemble["spec"]>): void {
  const e = run.ensemble();
  e.spec = { ...e.spec, ...spec };
  e.metadata.generation = (e.metadata.generation ?? 1) + 1;
}

function reconfigs(calls: readonly Call[]): string[] {
  return calls.flatMap((w) => (w.verb === "reconfig" ? [`${w.change.kind} ${w.change.id}`] : []));
}

/** The roll's `current` as the last status write before each pod deletion recorded it. */
function recordedBeforeDeletes(calls: readonly Call[]): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  let last: Operation | undefined;
  for (const call of calls) {
    if (call.verb === "applyStatus") last = call.operation;
    if (call.verb === "delete" && call.kind === "Pod")
      out.push(last?.type === "Roll" ? last.current : undefined);
  }
  return out;
}

function podUids(api: ZooKeeperWorld): Map<string, string> {
  return new Map(api.list("Pod").map((p) => [p.metadata.name ?? "", p.metadata.uid ?? ""]));
}

test("bring-up records ids 1–3 before any pod exists, and each pod's myid is its member id", async () => {
  const api = zooKeeperWorld();
  api.put(ensembleObject());
  const zk = new FakeZooKeeper(api, [1, 2, 3]);
  await reconcileOnce(api, zk);
  assert.deepEqual(
    (api.get("ZooKeeperEnsemble", "zk") as ZooKeeperEnsemble).status?.members?.map((m) => m.id),
    [1, 2, 3],
  );
  assert.equal(api.list("Pod").length, 0, "ids are recorded first");
  await reconcileOnce(api, zk);
  const myids = (api.list("Pod") as PodLike[]).map((p) => {
    const env =
      (p.spec as { containers: { env: { name: string; value?: string }[] }[] }).containers[0]
        ?.env ?? [];
    return [p.metadata.name, env.find((e) => e.name === "ZK_MYID")?.value];
  });
  assert.deepEqual(myids, [
    ["zk-1", "1"],
    ["zk-2", "2"],
    ["zk-3", "3"],
  ]);
});

test("a config roll restarts followers first and the leader last, each recorded as current before its delete", async () => {
  const run = await readyEnsemble();
  run.zk.leader = 2;
  changeSpec(run, { config: { maxClientCnxns: 100 } });
  await run.until(() => run.api.deleted("Pod").length === 3 && !run.operation());
  assert.deepEqual(run.api.deleted("Pod"), ["Pod/zk-1", "Pod/zk-3", "Pod/zk-2"]);
  assert.deepEqual(
    recordedBeforeDeletes(run.api.calls),
    [1, 3, 2],
    "each member recorded as current before its pod is deleted",
  );
  assert.deepEqual(reconfigs(run.api.calls), [], "a roll changes no membership");
});

test("a roll restarts nothing while the member restarted last is not synced, and says so", async () => {
  const run = await readyEnsemble();
  changeSpec(run, { config: { maxClientCnxns: 100 } });
  await run.until(() => run.api.deleted("Pod").length === 1);
  run.zk.syncing.add(2);
  for (let i = 0; i < 6; i++) {
    await reconcileOnce(run.api, run.zk);
    run.api.startPods();
  }
  assert.deepEqual(run.api.deleted("Pod"), ["Pod/zk-2"], "no second member went down");
  const op = run.operation();
  assert.equal(op?.type, "Roll");
  assert.match(
    op?.waitingFor ?? "",
    /member 2 was restarted and is not yet synced with the leader/,
  );
  assert.equal(condition(run.ensemble(), "Progressing")?.status, "True");
  run.zk.syncing.delete(2);
  await run.until(() => run.api.deleted("Pod").length === 2);
});

test("a roll whose operator died between the status write and the delete deletes that pod, and only it", async () => {
  const run = await readyEnsemble();
  changeSpec(run, { config: { maxClientCnxns: 100 } });
  run.api.killBefore = (w) => w.verb === "delete" && w.kind === "Pod";
  await run.until(() => {
    const op = run.operation();
    return op?.type === "Roll" && op.current !== undefined;
  });
  assert.deepEqual(run.api.deleted("Pod"), []);
  const op = run.operation();
  await run.until(() => run.api.deleted("Pod").length === 1);
  assert.deepEqual(run.api.deleted("Pod"), [`Pod/zk-${op?.type === "Roll" ? op.current : "?"}`]);
});

test("scale 3 → 7 in one step adds one voter per reconfig, in id order, restarting no member, and status says so", async () => {
  const run = await readyEnsemble();
  const before = podUids(run.api);
  changeSpec(run, { replicas: 7 });
  const seen: string[] = [];
  await run.until(
    () => run.zk.voters.length === 7 && !run.operation(),
    80,
    () => {
      const op = run.operation();
      if (op?.type === "ScaleUp" && op.waitingFor) seen.push(op.waitingFor);
    },
  );
  assert.deepEqual(reconfigs(run.api.calls), ["add 4", "add 5", "add 6", "add 7"]);
  assert.ok(
    seen.some((w) => /one voter at a time: 4, 5, 6, 7/.test(w)),
    `status said one at a time: ${seen.join(" | ")}`,
  );
  for (const [name, uid] of before)
    assert.equal(podUids(run.api).get(name), uid, `${name} was not restarted`);
  assert.equal(condition(run.ensemble(), "Ready")?.status, "True");
});

test("scale 5 → 3 removes voters 5 then 4 by reconfig before stopping their pods, then deletes their volumes", async () => {
  const run = await readyEnsemble(5);
  run.zk.leader = 5;
  changeSpec(run, { replicas: 3 });
  let kills = 0;
  await run.until(
    () => run.ensemble().status?.members?.length === 3 && !run.operation(),
    80,
    () => {
      // The operator dies before a few of the writes; every reconcile starts from status anyway.
      if (kills < 3)
        run.api.killBefore = (w) => {
          if (w.verb !== "delete" && w.verb !== "applyStatus") return false;
          kills++;
          return true;
        };
    },
  );
  const order = run.api.calls.flatMap((w) =>
    w.verb === "reconfig"
      ? [`reconfig ${w.change.kind} ${w.change.id}`]
      : w.verb === "delete"
        ? [`delete ${w.kind}/${w.name}`]
        : [],
  );
  const at = (s: string) => order.indexOf(s);
  assert.ok(
    at("reconfig remove 5") >= 0 && at("reconfig remove 4") > at("reconfig remove 5"),
    order.join(", "),
  );
  assert.ok(at("reconfig remove 4") < at("delete Pod/zk-5"));
  assert.ok(at("delete Pod/zk-4") < at("delete PersistentVolumeClaim/data-zk-4"));
  assert.ok(at("delete Pod/zk-5") < at("delete PersistentVolumeClaim/data-zk-5"));
  assert.deepEqual(run.zk.voters, [1, 2, 3]);
  assert.ok(kills >= 3, "the operator was killed mid-way");
});

test("the status a reconfig writes flags the voters it left, not the ones observed before it", async () => {
  const run = await readyEnsemble(5);
  changeSpec(run, { replicas: 3 });
  const seen = new Set<string>();
  await run.until(
    () => run.ensemble().status?.members?.length === 3 && !run.operation(),
    80,
    () => {
      const e = run.ensemble();
      const removed = /^removed member (\d+) as a voter/.exec(
        e.status?.operation?.waitingFor ?? "",
      );
      if (!removed) return;
      const voters = (e.status?.members ?? []).filter((m) => m.voter).map((m) => m.id);
      seen.add(`removed ${removed[1]}, voters ${voters.join(",")}`);
    },
  );
  assert.deepEqual([...seen], ["removed 5, voters 1,2,3,4", "removed 4, voters 1,2,3"]);
});

test("scale 5 → 3 → 5 gives ids 4 and 5 back on new volumes, added again by reconfig", async () => {
  const run = await readyEnsemble(5);
  changeSpec(run, { replicas: 3 });
  await run.until(() => run.ensemble().status?.members?.length === 3 && !run.operation());
  const oldClaim = run.api.get("PersistentVolumeClaim", "data-zk-4");
  assert.equal(oldClaim, undefined, "the claim went once the ensemble no longer listed member 4");
  changeSpec(run, { replicas: 5 });
  await run.until(() => run.zk.voters.length === 5 && !run.operation());
  assert.deepEqual(
    run.ensemble().status?.members?.map((m) => m.id),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(reconfigs(run.api.calls).slice(-2), ["add 4", "add 5"]);
  assert.ok(run.api.get("PersistentVolumeClaim", "data-zk-4"), "a new claim for member 4");
});

test("quorum loss is reported as Degraded, members come back with their ids and volumes, and membership is not rewritten", async () => {
  const run = await readyEnsemble();
  const claims = run.api.list("PersistentVolumeClaim").map((c) => c.metadata.uid);
  // Two members' nodes go: their pods vanish and nothing runs them.
  for (const name of ["zk-1", "zk-2"]) run.api.remove("Pod", name);
  await reconcileOnce(run.api, run.zk);
  const degraded = condition(run.ensemble(), "Degraded");
  assert.equal(degraded?.reason, "QuorumLost");
  assert.match(
    degraded?.message ?? "",
    /1 of 3 voters answer \(2 needed\).*membership is not rewritten/,
  );
  assert.deepEqual(
    run.api
      .list("Pod")
      .map((p) => p.metadata.name)
      .sort(),
    ["zk-1", "zk-2", "zk-3"],
    "the missing pods are created again",
  );
  assert.deepEqual(
    run.api.list("PersistentVolumeClaim").map((c) => c.metadata.uid),
    claims,
    "on their old volumes",
  );
  run.api.startPods();
  await run.until(() => condition(run.ensemble(), "Ready")?.status === "True");
  assert.deepEqual(reconfigs(run.api.calls), []);
  assert.deepEqual(run.zk.voters, [1, 2, 3]);
  assert.equal(condition(run.ensemble(), "Degraded")?.status, "False");
});

test("a scale-down waits without a quorum instead of removing anyone", async () => {
  const run = await readyEnsemble(5);
  run.zk.crashed = new Set([1, 2, 3]);
  changeSpec(run, { replicas: 3 });
  for (let i = 0; i < 5; i++) await reconcileOnce(run.api, run.zk);
  assert.deepEqual(reconfigs(run.api.calls), []);
  assert.deepEqual(run.api.deleted(), []);
  assert.match(run.operation()?.waitingFor ?? "", /no quorum/);
});

type Env = { name: string; value?: string }[];
const secretName = "zk-zookeeper-super";

function podEnv(api: ZooKeeperWorld, id: number): Env {
  const pod = api.get("Pod", `zk-${id}`) as { spec?: { containers?: { env?: Env }[] } };
  return pod?.spec?.containers?.[0]?.env ?? [];
}

function storedPassword(api: ZooKeeperWorld): string {
  const secret = api.get("Secret", secretName) as { data?: Record<string, string> } | undefined;
  return Buffer.from(secret?.data?.password ?? "", "base64").toString();
}

test("the superuser's password is generated once into a Secret; pods get only its digest; reconfig authenticates with it", async () => {
  const run = await readyEnsemble();
  const password = storedPassword(run.api);
  assert.match(password, /^[A-Za-z0-9_-]{32}$/);
  for (const id of [1, 2, 3]) {
    const env = podEnv(run.api, id);
    assert.equal(env.find((v) => v.name === "ZK_SUPER_DIGEST")?.value, superDigest(password));
    assert.ok(
      !JSON.stringify(run.api.get("Pod", `zk-${id}`)).includes(password),
      "no password in the pod",
    );
  }
  changeSpec(run, { replicas: 5 });
  await run.until(() => run.zk.voters.length === 5 && !run.operation());
  assert.deepEqual(reconfigs(run.api.calls), ["add 4", "add 5"], "each accepted at the first try");
  assert.equal(storedPassword(run.api), password, "never regenerated");
  assert.ok(!JSON.stringify(run.ensemble().status).includes(password), "no password in status");
  assert.equal(
    run.api.calls.filter((c) => c.verb === "create" && c.kind === "Secret").length,
    0,
    "created once, at bring-up",
  );
});

test("a password changed in its Secret rolls every member onto the new digest, after which reconfig uses it", async () => {
  const run = await readyEnsemble();
  const secret = run.api.get("Secret", secretName) as Stored & { data: Record<string, string> };
  secret.data = { password: Buffer.from("rotated-by-the-user").toString("base64") };
  await run.until(
    () =>
      [1, 2, 3].every(
        (id) =>
          podEnv(run.api, id).find((v) => v.name === "ZK_SUPER_DIGEST")?.value ===
          superDigest("rotated-by-the-user"),
      ) && !run.operation(),
  );
  assert.equal(run.api.deleted("Pod").length, 3, "one restart per member");
  changeSpec(run, { replicas: 5 });
  await run.until(() => run.zk.voters.length === 5 && !run.operation());
  assert.deepEqual(reconfigs(run.api.calls), ["add 4", "add 5"]);
});

test("a Secret without its password key: Degraded naming the Secret and the key, nothing created or deleted", async () => {
  const run = await readyEnsemble();
  const secret = run.api.get("Secret", secretName) as Stored & { data: Record<string, string> };
  secret.data = { passwd: Buffer.from("typo").toString("base64") };
  changeSpec(run, { replicas: 5 });
  for (let i = 0; i < 5; i++) await reconcileOnce(run.api, run.zk);
  const degraded = condition(run.ensemble(), "Degraded");
  assert.equal(degraded?.status, "True");
  assert.equal(degraded?.reason, "InvalidSecret");
  assert.match(degraded?.message ?? "", /Secret zk-zookeeper-super lacks "password"/);
  const writes = run.api.calls.filter((c) => c.verb === "create" || c.verb === "delete");
  assert.deepEqual(writes, [], "no pod, claim or Secret created or deleted");
  assert.deepEqual(reconfigs(run.api.calls), []);
  assert.deepEqual(
    (run.api.get("Secret", secretName) as { data?: object }).data,
    { passwd: Buffer.from("typo").toString("base64") },
    "the Secret is left as the user made it",
  );
});

test("a pod the API server refuses is Degraded ObjectRejected with its message, retried slowly; once accepted the ensemble comes up", async () => {
  const api = zooKeeperWorld();
  api.put(ensembleObject());
  const zk = new FakeZooKeeper(api, [1, 2, 3]);
  const quota =
    'pods "zk-2" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10';
  api.refuse = (verb, kind, name) =>
    verb === "create" && kind === "Pod" && name === "zk-2"
      ? new KubeApiError({ code: 403, reason: "Forbidden", message: quota }, 403, { kind, name })
      : undefined;
  let action: unknown;
  for (let i = 0; i < 4; i++) action = await reconcileOnce(api, zk);
  const ensemble = () => api.get("ZooKeeperEnsemble", "zk") as ZooKeeperEnsemble;
  const degraded = condition(ensemble(), "Degraded");
  assert.equal(degraded?.status, "True");
  assert.equal(degraded?.reason, "ObjectRejected");
  assert.match(degraded?.message ?? "", /refused to create Pod zk-2: .*exceeded quota: pods/);
  assert.deepEqual(action, Action.requeueAfter(rejectedRetryMs), "retried slowly");
  api.refuse = undefined;
  await api.reconcileUntil(
    () => condition(ensemble(), "Ready")?.status === "True",
    () => reconcileOnce(api, zk),
    { max: 80, describe: () => JSON.stringify(ensemble().status) },
  );
  assert.equal(condition(ensemble(), "Degraded")?.status, "False");
});
