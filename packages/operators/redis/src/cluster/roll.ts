/**
 * Redis Cluster's rolling restart (and upgrade, and config change), on
 * the shared roll state machine (`planRoll` → `actOnRoll`). Steps:
 *
 * 1. Stale pods: built from another template (image, redis.conf, start
 *    script, resources, Secret name, a restart request).
 * 2. Nothing restarts unless every node of the set serves: at most one
 *    node is down at a time, and never a replica while its master is down.
 * 3. Replicas first, one at a time in id order; each recorded in status
 *    as `current` before its pod is deleted (the shared machine), and back
 *    when it serves again: linked to its master, the cluster ok as it sees
 *    it, knowing every node.
 * 4. Only masters left: the first one's shard fails over to a replica that
 *    serves — recorded in `status.failover` before `CLUSTER FAILOVER` is
 *    sent to the replica. That failover is coordinated: the master stops
 *    its clients, the replica catches up with the master's offset, then
 *    takes the slots, so no acknowledged write is lost and clients are
 *    redirected (MOVED) to the new master.
 * 5. Once the replica reports itself master and the old master a replica,
 *    the failover is cleared; the old master, now a replica, restarts by
 *    step 3. A failover not done within twice the node timeout (plus 10 s)
 *    is given up with a Warning event and asked again.
 * 6. A shard without replicas (`replicasPerShard: 0`) restarts its master
 *    as it is: its slots are unavailable meanwhile — what such a cluster
 *    accepted when it chose no replicas.
 */
import { Action } from "@ballast/runtime";
import {
  actOnRoll,
  type PodLike,
  planRoll,
  type RollHooks,
  type StepResult,
  withSummary,
} from "@ballast/stateful";
import { RedisPortError } from "../admin/port.ts";
import { annotations } from "../resources.ts";
import type { RedisClusterStatus } from "./api.ts";
import {
  answered,
  type ClusterMember,
  type ClusterObservation,
  type ClusterView,
  notServing,
} from "./plan/view.ts";
import { clusterImage, clusterTemplateHash } from "./resources.ts";
import { type ClusterScope, nodeName } from "./scope.ts";

type Failover = NonNullable<RedisClusterStatus["failover"]>;

interface Observed {
  obs: ClusterObservation;
  view: ClusterView;
  members: readonly ClusterMember[];
}

export type RestartChoice =
  | { kind: "restart"; member: ClusterMember }
  | { kind: "failover"; shard: number; from: number; to: number }
  | { kind: "wait"; blockers: string[] };

/** Pure: the next member to restart, a failover to ask first, or why none may go yet. */
export function chooseClusterRestart(
  pending: readonly ClusterMember[],
  o: Observed,
): RestartChoice {
  const blockers: string[] = [];
  for (const m of o.members) {
    if (m.removing) continue;
    const n = o.obs.nodes.find((x) => x.member.id === m.id);
    const why = n ? notServing(n, o.view) : ["is not observed"];
    if (why.length > 0) blockers.push(`node ${m.id} ${why.join(", ")}`);
  }
  if (blockers.length > 0) return { kind: "wait", blockers };
  const isMaster = (m: ClusterMember) => o.view.masters.get(m.shard) === m.id;
  const replica = [...pending].filter((m) => !isMaster(m)).sort((a, b) => a.id - b.id)[0];
  if (replica) return { kind: "restart", member: replica };
  const master = [...pending].sort((a, b) => a.id - b.id)[0];
  if (!master) return { kind: "wait", blockers: [] };
  const candidates = o.members
    .filter((m) => m.shard === master.shard && m.id !== master.id && !m.removing)
    .sort((a, b) => a.id - b.id);
  const to = candidates[0];
  if (!to) return { kind: "restart", member: master };
  return { kind: "failover", shard: master.shard, from: master.id, to: to.id };
}

/** Pure: why a restarted member is not back yet. */
export function clusterCaughtUp(member: ClusterMember, o: Observed): string[] {
  const n = o.obs.nodes.find((x) => x.member.id === member.id);
  if (!n) return [`node ${member.id} is not observed`];
  const why = notServing(n, o.view).map((w) => `node ${member.id} ${w}`);
  const active = o.members.filter((m) => !m.removing).length;
  const known = answered(n)?.knownNodes ?? 0;
  if (why.length === 0 && known < active)
    why.push(`node ${member.id} knows ${known} of ${active} nodes`);
  return why;
}

export function isStale(s: ClusterScope, pod: PodLike): boolean {
  return pod.metadata.annotations?.[annotations.templateHash] !== clusterTemplateHash(s.r);
}

export async function rollCluster(
  s: ClusterScope,
  members: readonly ClusterMember[],
): Promise<StepResult> {
  const obs = s.observation;
  const view = s.view;
  if (!obs || !view) return "continue";
  const recorded = s.status.failover;
  if (recorded) return awaitFailover(s, recorded);
  const o: Observed = { obs, view, members };
  let failover: Omit<Failover, "startedAt"> | undefined;
  const hooks: RollHooks<ClusterMember, Observed> = {
    chooseNext(pending, observed) {
      const c = chooseClusterRestart(pending, observed);
      if (c.kind === "restart") return c;
      if (c.kind === "failover") {
        failover = { shard: c.shard, from: c.from, to: c.to };
        return {
          kind: "wait",
          blockers: [
            `a CLUSTER FAILOVER to node ${c.to} before node ${c.from} (shard ${c.shard}'s master) restarts`,
          ],
        };
      }
      return c;
    },
    caughtUp: clusterCaughtUp,
  };
  const plan = planRoll<ClusterMember, Observed>({
    operation: s.operation,
    members,
    pods: s.pods,
    stale: (_m, pod) => isStale(s, pod),
    observed: o,
    hooks,
    reason: (pending) => {
      const images = new Set(pending.map((m) => s.pods.get(m.id)?.spec?.containers?.[0]?.image));
      if (!images.has(clusterImage(s.r))) return `upgrade to Redis ${s.r.spec.version}`;
      const requested = s.r.metadata.annotations?.[annotations.restartRequested];
      return requested ? `restart requested (${requested})` : "configuration change";
    },
    name: nodeName,
    now: s.now(),
  });
  if (plan.kind === "wait" && failover) {
    const f: Failover = { ...failover, startedAt: s.now().toISOString() };
    const what = `CLUSTER FAILOVER of shard ${f.shard} from node ${f.from} to node ${f.to}`;
    // Recorded before it is sent: an operator killed between the two waits for it, then asks again.
    await s.writeStatus({
      operation: withSummary({ ...plan.operation, waitingFor: what }),
      failover: f,
    });
    const a = s.address(f.to);
    try {
      if (a) await s.redis.failover(a);
      s.event("Failover", "ClusterFailover", what);
    } catch (err) {
      if (!(err instanceof RedisPortError)) throw err;
      s.event("FailoverFailed", "ClusterFailover", `${what}: ${err.message}`, "Warning");
      await s.writeStatus({ failover: null });
    }
    return Action.requeueAfter(Math.min(s.busyMs, 500));
  }
  return actOnRoll(plan, s.io());
}

async function awaitFailover(s: ClusterScope, f: Failover): Promise<StepResult> {
  const view = s.view;
  const to = s.observation?.nodes.find((n) => n.member.id === f.to);
  const from = s.observation?.nodes.find((n) => n.member.id === f.from);
  const done =
    view?.masters.get(f.shard) === f.to &&
    to !== undefined &&
    answered(to)?.role === "master" &&
    (from === undefined || answered(from)?.role !== "master");
  if (done) {
    s.event(
      "FailoverComplete",
      "ClusterFailover",
      `node ${f.to} is shard ${f.shard}'s master; node ${f.from} a replica`,
    );
    await s.writeStatus({ failover: null });
    return Action.requeueAfter(0);
  }
  const elapsed = s.now().getTime() - Date.parse(f.startedAt);
  const limit = 2 * (s.r.spec.nodeTimeoutMilliseconds ?? 5000) + 10_000;
  if (elapsed > limit) {
    s.event(
      "FailoverFailed",
      "ClusterFailover",
      `node ${f.to} did not take over shard ${f.shard} within ${Math.round(limit / 1000)}s; asked again`,
      "Warning",
    );
    await s.writeStatus({ failover: null });
    return Action.requeueAfter(0);
  }
  return Action.requeueAfter(Math.min(s.busyMs, 500));
}
