/**
 * The ZooKeeper operator on real ZooKeeper 3.9.5 JVMs in a local cluster,
 * one cluster for every scenario of this file, in order: bring-up of 3; a
 * config roll with the operator SIGKILLed mid-way (the leader restarted
 * last); scale 3 → 5 → 3 by reconfig, existing members never restarted;
 * scale 3 → 5 again, ids 4 and 5 reused on new volumes; scale 5 → 3 with
 * the operator SIGKILLed once the first reconfig is recorded, the next
 * operator finishing it; two of three members' nodes stopped (quorum lost:
 * reported, membership left alone) and started again, the same pods back
 * on the same volumes; a version typo (the roll holds at its first member
 * and says why) corrected. After bring-up: ACLs enforced on the real pods
 * (a client without the superuser's password cannot reconfig).
 * Every operation runs under the e2e kit's acknowledged-write checker
 * (sequential znode creates; every acknowledged one must exist afterwards)
 * and its disruption monitor (never two voters down at once — except where
 * a scenario takes two down on purpose: there it is recorded, not asserted).
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import {
  type AckedWrites,
  type AckedWritesReport,
  condition,
  type DisruptionReport,
  startAckedWrites,
} from "@ballast/e2e-kit";
import type { ZooKeeperEnsemble } from "../src/api.ts";
import { labels, names } from "../src/resources.ts";
import { ensembleManifest, Harness } from "./harness.ts";
import { zooKeeperDriver } from "./workload.ts";

const name = "zk";
let h: Harness;
const figures: {
  scenario: string;
  acknowledged: number;
  lost: number;
  /** Most voters whose server process was down at once (asserted ≤ 1 unless the scenario says otherwise). */
  maxDown: number;
  /** Most voters not serving at once (a leader's restart: every follower, for its election). */
  maxNotServing: number;
  notServingTimeline: [string, number[]][];
  /** What the scenario itself measured. */
  extra?: Record<string, unknown>;
}[] = [];

interface LoadOptions {
  /**
   * Assert that at most one voter's process was down at once. Off only
   * where the scenario takes more down on purpose; `maxDown` is recorded
   * either way, and 0 acknowledged writes lost is always asserted.
   * @default true
   */
  atMostOneDown?: boolean;
  /** What the scenario measures itself, printed with the figures (filled in by `operation`). */
  extra?: Record<string, unknown>;
}

interface LoadResult {
  writes: AckedWritesReport;
  /** Voters whose process was down (pod ContainersReady). */
  disruption: DisruptionReport<number>;
  /** Voters not serving (pod Ready, which includes the serving gate). */
  notServing: DisruptionReport<number>;
}

/** Runs `operation` with writes going on before, during and after it, under the disruption monitor. */
async function underLoad(
  scenario: string,
  operation: (writes: AckedWrites) => Promise<void>,
  { atMostOneDown = true, extra }: LoadOptions = {},
): Promise<LoadResult> {
  const writes = startAckedWrites(
    zooKeeperDriver(() => h.servers(name)),
    { intervalMs: 50 },
  );
  const voters = { ids: [] as number[] };
  const refresh = setInterval(() => {
    h.ensemble(name)
      .then((e) => {
        voters.ids = (e.status?.members ?? [])
          .filter((m) => m.voter && !m.removing)
          .map((m) => m.id);
      })
      .catch(() => {});
  }, 500);
  voters.ids = ((await h.ensemble(name)).status?.members ?? [])
    .filter((m) => m.voter)
    .map((m) => m.id);
  const running = h.monitorDisruption(name, () => voters.ids, "ContainersReady");
  const serving = h.monitorDisruption(name, () => voters.ids, "Ready");
  let finished = false;
  try {
    await writes.waitFor({ acknowledged: 20 }, 60_000);
    await operation(writes);
    const done = writes.progress().acknowledged;
    await writes.waitFor({ acknowledged: done + 20 }, 60_000);
    finished = true;
  } finally {
    clearInterval(refresh);
    // A failed operation's error is the one to see; the loops must end all the same.
    if (!finished) await Promise.allSettled([running.stop(), serving.stop(), writes.stop()]);
  }
  const disruption = await running.stop();
  const notServing = await serving.stop();
  const report = await writes.stop();
  figures.push({
    scenario,
    acknowledged: report.acknowledged,
    lost: report.lost.length,
    maxDown: disruption.maxDown,
    maxNotServing: notServing.maxDown,
    notServingTimeline: notServing.timeline.map(([t, d]) => [clock(t), d]),
    ...(extra ? { extra } : {}),
  });
  assert.deepEqual(report.lost, [], `${scenario}: acknowledged creates lost`);
  assert.ok(disruption.samples > 0 && notServing.samples > 0, "the monitors sampled");
  if (atMostOneDown)
    assert.ok(
      disruption.maxDown <= 1,
      `${scenario}: ${disruption.maxDown} voters down at once: ${JSON.stringify(disruption.timeline)}`,
    );
  return { writes: report, disruption, notServing };
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 23);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function memberIds(e: ZooKeeperEnsemble): number[] {
  return (e.status?.members ?? []).map((m) => m.id);
}

function voterIds(e: ZooKeeperEnsemble): number[] {
  return (e.status?.members ?? []).filter((m) => m.voter).map((m) => m.id);
}

/**
 * Reads the ensemble every 250 ms until stopped and keeps what `violation`
 * finds wrong with any one reading: a state that lasts less than the time
 * to the next reconcile is still seen.
 */
function sampleStatus(violation: (e: ZooKeeperEnsemble) => string | undefined): {
  stop(): Promise<{ samples: number; violations: string[] }>;
} {
  let running = true;
  let samples = 0;
  const violations: string[] = [];
  const loop = (async () => {
    while (running) {
      const e = await h.ensemble(name).catch(() => undefined);
      if (e) {
        samples++;
        const wrong = violation(e);
        if (wrong && violations.length < 20) violations.push(`${clock(Date.now())} ${wrong}`);
      }
      await sleep(250);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { samples, violations };
    },
  };
}

/** The nodes that, stopped together, take down exactly `count` of the members placed on `nodeOf`. */
function nodesHolding(count: number, nodeOf: ReadonlyMap<number, string>): string[] | undefined {
  const nodes = [...new Set(nodeOf.values())].sort();
  for (let mask = 1; mask < 1 << nodes.length; mask++) {
    const chosen = nodes.filter((_, i) => mask & (1 << i));
    if ([...nodeOf.values()].filter((n) => chosen.includes(n)).length === count) return chosen;
  }
  return undefined;
}

async function uids(): Promise<Map<string, string>> {
  return new Map((await h.pods(name)).map((p) => [p.metadata.name ?? "", p.metadata.uid ?? ""]));
}

describe("ZooKeeper operator on real ZooKeeper", { timeout: 30 * 60_000 }, () => {
  before(async () => {
    h = await Harness.start();
  });
  after(async () => {
    console.log(`zookeeper e2e figures: ${JSON.stringify(figures)}`);
    await h?.close();
  });
  afterEach(async (t) => {
    if (!h) return;
    const e = await h.ensemble(name).catch(() => undefined);
    console.log(
      `after "${t.name}": ${JSON.stringify(e?.status)}\n${h.operator.logTail?.(30) ?? ""}`,
    );
  });

  test("bring-up of 3: ids 1–3, a leader, every member a serving voter", async () => {
    await h.apply(ensembleManifest(name));
    const e = await h.settled(name, 300_000);
    assert.deepEqual(
      e.status?.members?.map((m) => m.id),
      [1, 2, 3],
    );
    assert.equal(e.status?.members?.filter((m) => m.role === "leader").length, 1);
    assert.ok(e.status?.leader !== undefined);
  });

  test("ACLs are enforced: a client that is not the superuser cannot reconfig; the password is in no pod", async () => {
    const secret = await h.cluster.api<{ data?: Record<string, string> }>(
      `/api/v1/namespaces/${h.namespace}/secrets/${name}-zookeeper-super`,
    );
    assert.equal(secret.status, 200, "the generated superuser Secret exists");
    const password = Buffer.from(secret.body.data?.password ?? "", "base64").toString();
    assert.ok(password.length >= 32, "a generated password");
    const pods = await h.pods(name);
    for (const p of pods) assert.ok(!JSON.stringify(p).includes(password), `${p.metadata.name}`);
    // The CLI in a member's pod, without addauth: the ensemble refuses the change.
    const tried = await h.cluster.kubectlInput(
      "reconfig -remove 3\nquit\n",
      ...["-n", h.namespace, "exec", "-i", `${name}-1`, "-c", "zookeeper", "--"],
      ...["timeout", "60", "zkCli.sh", "-server", "127.0.0.1:2181"],
    );
    assert.match(`${tried.stdout}${tried.stderr}`, /Insufficient permission/);
    const e = await h.ensemble(name);
    assert.deepEqual(
      e.status?.members?.filter((m) => m.voter).map((m) => m.id),
      [1, 2, 3],
      "still three voters",
    );
  });

  test("a config roll restarts the leader last, resumed after the operator is SIGKILLed mid-roll", async () => {
    const start = await h.ensemble(name);
    const leaderPod = `${name}-${start.status?.leader}`;
    const before = await uids();
    const replacedOrder: string[] = [];
    await underLoad("roll", async () => {
      await h.patch(name, {
        spec: { config: { tickTime: 1000, initLimit: 10, syncLimit: 5, maxClientCnxns: 100 } },
      });
      let killed = false;
      await eventually(
        "every member restarted and the roll over",
        async () => {
          const now = await uids();
          for (const [pod, uid] of now)
            if (before.get(pod) !== uid && !replacedOrder.includes(pod)) replacedOrder.push(pod);
          if (!killed && replacedOrder.length === 1) {
            await h.operator.kill();
            await h.operator.start();
            killed = true;
          }
          const e = await h.ensemble(name);
          return replacedOrder.length === 3 && !e.status?.operation ? true : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 300 },
      );
      assert.ok(killed, "the operator was killed mid-roll");
    });
    assert.equal(
      replacedOrder.at(-1),
      leaderPod,
      `order ${replacedOrder.join(", ")}, leader ${leaderPod}`,
    );
    await h.settled(name);
  });

  test("scale 3 → 5 → 3 by reconfig restarts no existing member", async () => {
    const before = await uids();
    await underLoad("scale 3→5→3", async () => {
      await h.patch(name, { spec: { replicas: 5 } });
      const grown = await h.settled(name, 300_000);
      assert.deepEqual(
        grown.status?.members?.map((m) => m.id),
        [1, 2, 3, 4, 5],
      );
      await h.patch(name, { spec: { replicas: 3 } });
      const shrunk = await h.settled(name, 300_000);
      assert.deepEqual(
        shrunk.status?.members?.map((m) => m.id),
        [1, 2, 3],
      );
    });
    const afterUids = await uids();
    for (const [pod, uid] of before)
      assert.equal(afterUids.get(pod), uid, `${pod} was not restarted`);
    assert.deepEqual([...afterUids.keys()].sort(), [`${name}-1`, `${name}-2`, `${name}-3`]);
  });

  test("scale down then up reuses ids 4 and 5 on fresh volumes, and they join as voters", async () => {
    await underLoad("scale 3→5 (ids reused)", async () => {
      await h.patch(name, { spec: { replicas: 5 } });
      const e = await h.settled(name, 300_000);
      assert.deepEqual(
        e.status?.members?.filter((m) => m.voter).map((m) => m.id),
        [1, 2, 3, 4, 5],
      );
    });
  });

  test("the operator SIGKILLed mid-reconfig resumes the scale and ends with the voters asked for", async () => {
    const start = await h.settled(name);
    assert.deepEqual(voterIds(start), [1, 2, 3, 4, 5]);
    const staying = [1, 2, 3];
    const removed = [4, 5];
    const before = await uids();
    for (const id of removed)
      assert.ok(await h.claimUid(names.claim(start, id)), `claim of member ${id} exists before`);
    // Throughout: no id listed twice, and no staying member ever stops being a voter.
    const sampled = sampleStatus((e) => {
      const ids = memberIds(e);
      if (new Set(ids).size !== ids.length) return `a member listed twice: ${ids.join(", ")}`;
      const voters = voterIds(e);
      const lost = staying.filter((id) => !voters.includes(id));
      return lost.length > 0 ? `staying members ${lost} not voters: ${voters}` : undefined;
    });
    const extra: Record<string, unknown> = {};
    let killedAt: { drained: boolean } | undefined;
    const load = underLoad(
      "scale 5→3, operator killed mid-reconfig",
      async () => {
        await h.patch(name, { spec: { replicas: 3 } });
        killedAt = await eventually(
          "the scale-down to have removed a first voter",
          async () => {
            const e = await h.ensemble(name);
            const op = e.status?.operation;
            if (op?.type !== "ScaleDown") return undefined;
            const stillVoters = removed.filter((id) => voterIds(e).includes(id));
            const movesDone = (op.movesTotal ?? 0) - (op.movesRemaining ?? op.movesTotal ?? 0);
            if (stillVoters.length === removed.length && movesDone === 0 && !op.drained)
              return undefined;
            return {
              at: clock(Date.now()),
              summary: op.summary,
              waitingFor: op.waitingFor,
              drained: op.drained ?? false,
              voters: voterIds(e),
            };
          },
          { timeoutMs: 180_000, intervalMs: 100 },
        );
        extra.killedAt = killedAt;
        await h.operator.kill();
        await h.operator.start();
        const restartedAt = Date.now();
        await h.settled(name, 300_000);
        extra.settledAfterRestartMs = Date.now() - restartedAt;
      },
      { extra },
    );
    await load.finally(() => sampled.stop());
    const { samples, violations } = await sampled.stop();
    extra.statusSamples = samples;
    assert.equal(
      killedAt?.drained,
      false,
      `killed between two reconfigs, before the drain was recorded: ${JSON.stringify(killedAt)}`,
    );
    assert.ok(samples > 0);
    assert.deepEqual(violations, [], "status stayed consistent while the scale ran");

    const e = await h.ensemble(name);
    assert.deepEqual(memberIds(e), staying);
    assert.deepEqual(voterIds(e), staying);
    assert.ok(
      e.status?.leader !== undefined && staying.includes(e.status.leader),
      `leader ${e.status?.leader}`,
    );
    const afterUids = await uids();
    assert.deepEqual(
      [...afterUids.keys()].sort(),
      staying.map((id) => names.pod(e, id)),
    );
    for (const id of staying) {
      const pod = names.pod(e, id);
      assert.equal(afterUids.get(pod), before.get(pod), `${pod} was not restarted`);
    }
    for (const id of removed)
      assert.equal(
        await h.claimUid(names.claim(e, id)),
        undefined,
        `claim of member ${id} deleted`,
      );
  });

  test("two members' nodes stopped (quorum lost) and started again: the ensemble comes back with the same ids and data", async () => {
    const start = await h.settled(name);
    const ids = [1, 2, 3];
    assert.deepEqual(voterIds(start), ids);
    const nodeOf = new Map(
      (await h.pods(name)).map((p) => [
        Number(p.metadata.labels?.[labels.memberId]),
        p.spec.nodeName ?? "",
      ]),
    );
    const stopped = nodesHolding(2, nodeOf);
    assert.ok(stopped, `no nodes hold exactly two members: ${JSON.stringify([...nodeOf])}`);
    const before = await uids();
    const claims = new Map<number, string | undefined>();
    for (const id of ids) claims.set(id, await h.claimUid(names.claim(start, id)));
    // While the quorum is lost: the same ids, all still voters, no operation started.
    const sampled = sampleStatus((e) => {
      if (memberIds(e).join() !== ids.join()) return `members rewritten: ${memberIds(e)}`;
      if (voterIds(e).join() !== ids.join()) return `voters rewritten: ${voterIds(e)}`;
      return e.status?.operation
        ? `an operation started: ${e.status.operation.summary}`
        : undefined;
    });
    const outage: Record<string, unknown> = {
      members: Object.fromEntries(nodeOf),
      stopped,
      down: ids.filter((id) => stopped.includes(nodeOf.get(id) ?? "")),
    };
    const load = underLoad(
      "two nodes stopped (quorum lost)",
      async (writes) => {
        const ackedBeforeLoss = writes.progress().acknowledged;
        await Promise.all(stopped.map((n) => h.stopNode(n)));
        const stoppedAt = Date.now();
        const lost = await eventually(
          "the ensemble to report its quorum lost",
          async () => {
            const e = await h.ensemble(name);
            const degraded = condition(e, "Degraded");
            return degraded?.status === "True" && degraded.reason === "QuorumLost" ? e : undefined;
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
        const lostAt = writes.progress();
        outage.reportedAfterMs = Date.now() - stoppedAt;
        outage.message = condition(lost, "Degraded")?.message;
        assert.equal(lost.status?.leader, undefined, "no leader while the quorum is lost");
        assert.equal(condition(lost, "Ready")?.status, "False");
        // Hold the outage past the Nodes going NotReady (the node lifecycle
        // controller then marks their pods not Ready: more reconciles).
        await eventually(
          "the stopped nodes to be NotReady",
          async () => {
            for (const n of stopped) {
              const node = await h.cluster.api<{
                status?: { conditions?: { type: string; status: string }[] };
              }>(`/api/v1/nodes/${n}`);
              const ready = node.body.status?.conditions?.find((c) => c.type === "Ready");
              if (ready?.status === "True") return undefined;
            }
            return true;
          },
          { timeoutMs: 120_000, intervalMs: 1000 },
        );
        await sleep(10_000);
        const beforeStart = writes.progress();
        outage.ackedBeforeLoss = ackedBeforeLoss;
        outage.ackedWhileLost = beforeStart.acknowledged - lostAt.acknowledged;
        outage.failedWhileLost = beforeStart.failed - lostAt.failed;
        outage.heldMs = Date.now() - stoppedAt;
        const restartedAt = Date.now();
        await Promise.all(stopped.map((n) => h.startNode(n)));
        await h.settled(name, 300_000);
        outage.settledAfterStartMs = Date.now() - restartedAt;
      },
      { atMostOneDown: false, extra: outage },
    ).finally(() => sampled.stop());
    const { disruption, notServing } = await load;
    const { samples, violations } = await sampled.stop();
    outage.statusSamples = samples;
    // A stopped node's pods keep the conditions it last wrote: the
    // ContainersReady monitor sees their processes down only once the node
    // is back and restarts them.
    outage.downTimeline = disruption.timeline.map(([t, d]) => [clock(t), d]);
    assert.ok(samples > 0);
    assert.deepEqual(violations, [], "the operator did not rewrite the membership");
    assert.equal(outage.ackedWhileLost, 0, "no write is acknowledged without a quorum");
    assert.ok(Number(outage.failedWhileLost) > 0, "the writer kept trying during the outage");
    assert.equal(
      notServing.maxDown,
      ids.length,
      `no member served: ${JSON.stringify(notServing.timeline)}`,
    );

    const e = await h.ensemble(name);
    assert.deepEqual(memberIds(e), ids);
    assert.deepEqual(voterIds(e), ids);
    assert.ok(e.status?.leader !== undefined, "a leader again");
    assert.equal(condition(e, "Degraded")?.status, "False");
    // The same pods (run again by their nodes) on the same claims: same myid, same data.
    const afterUids = await uids();
    for (const [pod, uid] of before)
      assert.equal(afterUids.get(pod), uid, `${pod} is the same pod`);
    for (const id of ids)
      assert.equal(await h.claimUid(names.claim(e, id)), claims.get(id), `member ${id}'s claim`);
  });
  test("a version typo stops the upgrade at its first member, saying why, and the corrected spec resumes it", async () => {
    const before = await uids();
    const seenWaiting: string[] = [];
    await underLoad("version typo, then fixed", async () => {
      await h.patch(name, { spec: { version: "3.9.99" } });
      const stuck = await eventually(
        "the roll waiting on a member whose image cannot be pulled",
        async () => {
          const op = (await h.ensemble(name)).status?.operation;
          const waiting = op?.type === "Roll" ? (op.waitingFor ?? "") : "";
          if (waiting && !seenWaiting.includes(waiting)) seenWaiting.push(waiting);
          return /not starting: .*3\.9\.99 is not on Maven Central/.test(waiting) ? op : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      );
      // Held there: no second member is taken down while the first cannot start.
      await new Promise((r) => setTimeout(r, 10_000));
      const during = await uids();
      const replaced = [...before].filter(([pod, uid]) => during.get(pod) !== uid);
      assert.equal(replaced.length, 1, `one member restarted: ${JSON.stringify(replaced)}`);
      assert.equal(stuck?.type === "Roll" && `${name}-${stuck.current}`, replaced[0]?.[0]);
      await h.patch(name, { spec: { version: "3.9.5" } });
      await h.settled(name, 300_000);
    });
    const e = await h.ensemble(name);
    assert.deepEqual(voterIds(e), [1, 2, 3]);
    for (const p of await h.pods(name))
      assert.equal(p.spec?.containers?.[0]?.image, "zookeeper:3.9.5", p.metadata.name);
    const after = await uids();
    const restartedAgain = [...before].filter(([pod, uid]) => after.get(pod) !== uid);
    assert.equal(restartedAgain.length, 1, "only the member that took the typo was restarted");
  });
});
