/**
 * The RedisCluster's `.status`, computed from what was observed: pure, and
 * `undefined` when it would say what it already says (no write then).
 *
 * - nodes: each member's shard, node id (kept while it does not answer:
 *   it is how the operator recognises the node when it comes back), role
 *   and whether it serves;
 * - shards: each shard's master and the slots it owns, as the nodes agree;
 * - formed: set once every slot has been owned, never unset;
 * - Ready: formed, every slot owned, every node serving. Degraded: the spec
 *   or its Secret cannot be acted on, a scale-in is refused, or slots are
 *   unowned once formed (the message names how many and which shards lack
 *   a master). Progressing: an operation is under way.
 */
import { type ConditionUpdate, setCondition, statusEqual } from "@ballast/runtime";
import {
  nextOperation,
  type Operation,
  type PodLike,
  progressingCondition,
  startProblems,
} from "@ballast/stateful";
import { formatRanges, rangesOf, SLOTS } from "../admin/cluster-port.ts";
import type { ClusterNodeStatus, RedisCluster, RedisClusterStatus } from "./api.ts";
import {
  answered,
  type ClusterMember,
  type ClusterObservation,
  type ClusterView,
  notServing,
} from "./plan/view.ts";
import { clusterEndpoint, clusterImage, clusterNames } from "./resources.ts";

type Failover = NonNullable<RedisClusterStatus["failover"]>;

export interface ClusterStatusUpdate {
  members?: readonly ClusterMember[];
  operation?: Operation | null;
  degraded?: { reason: string; message: string };
  /** null clears it. */
  failover?: Failover | null;
  waiting?: string;
}

export interface ClusterStatusInputs {
  pods: ReadonlyMap<number, PodLike>;
  observation: ClusterObservation | undefined;
  view: ClusterView | undefined;
  update: ClusterStatusUpdate;
  now: Date;
}

export function buildClusterStatus(
  r: RedisCluster,
  inputs: ClusterStatusInputs,
): RedisClusterStatus | undefined {
  const base = r.status ?? {};
  const { update, observation: obs, view, pods, now } = inputs;
  const before = new Map((base.nodes ?? []).map((n) => [n.id, n]));
  const list: readonly ClusterMember[] =
    update.members ??
    (base.nodes ?? []).map((n) => ({
      id: n.id,
      shard: n.shard,
      ...(n.nodeId ? { nodeId: n.nodeId } : {}),
      ...(n.removing ? { removing: true } : {}),
    }));

  const nodes: ClusterNodeStatus[] = list.map((m) => {
    const was = before.get(m.id);
    const seen = obs?.nodes.find((n) => n.member.id === m.id);
    const report = seen ? answered(seen) : undefined;
    const nodeId = report?.nodeId ?? view?.nodeIds.get(m.id) ?? m.nodeId ?? was?.nodeId;
    return {
      id: m.id,
      shard: m.shard,
      pod: clusterNames.pod(r, m.id),
      ...(nodeId ? { nodeId } : {}),
      role: report?.role ?? (obs ? "" : (was?.role ?? "")),
      ready: seen && view ? notServing(seen, view).length === 0 : (was?.ready ?? false),
      ...(m.removing ? { removing: true } : {}),
    };
  });

  const shardIds = [...new Set(list.map((m) => m.shard))].sort((a, b) => a - b);
  const shards = view
    ? shardIds.map((shard) => {
        const mine = list.filter((m) => m.shard === shard);
        const ids = new Set(mine.map((m) => m.id));
        const slots = [...view.owners].filter(([, m]) => ids.has(m)).map(([s]) => s);
        const master = view.masters.get(shard);
        return {
          shard,
          ...(master === undefined ? {} : { master }),
          members: mine.map((m) => m.id),
          slots: formatRanges(rangesOf(slots)),
          slotCount: slots.length,
          ...(mine.every((m) => m.removing) ? { removing: true } : {}),
        };
      })
    : base.shards;
  const slotsAssigned = view ? view.owners.size : base.slotsAssigned;
  const formed = base.formed === true || slotsAssigned === SLOTS;

  const active = nodes.filter((n) => !n.removing);
  const readyNodes = active.filter((n) => n.ready).length;
  const desired = r.spec.shards * (1 + (r.spec.replicasPerShard ?? 1));
  const operation = nextOperation(update.operation, base.operation);
  const allOnImage =
    nodes.length > 0 &&
    nodes.every((n) => pods.get(n.id)?.spec?.containers?.[0]?.image === clusterImage(r));
  const generation = r.metadata.generation;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  let conditions = base.conditions;
  const set = (u: ConditionUpdate) => {
    conditions = setCondition(conditions, { ...u, ...gen }, now);
  };

  const uncovered = formed && slotsAssigned !== undefined ? SLOTS - slotsAssigned : 0;
  if (update.degraded) {
    set({ type: "Degraded", status: "True", ...update.degraded });
  } else if (view && uncovered > 0) {
    const masterless = (shards ?? []).filter((s) => s.master === undefined).map((s) => s.shard);
    set({
      type: "Degraded",
      status: "True",
      reason: "SlotsUncovered",
      message: `${uncovered} of ${SLOTS} slots have no master${masterless.length ? ` (shards ${masterless.join(", ")} have none answering)` : ""}; the cluster refuses writes until they are served again. The operator never reassigns them: their keys may be on a node that is down`,
    });
  } else if (view && view.foreignSlots > 0) {
    set({
      type: "Degraded",
      status: "True",
      reason: "ForeignNode",
      message: `${view.foreignSlots} slots are owned by a node that is none of this cluster's members (joined by hand?); the operator moves no slot until that is resolved`,
    });
  } else if (obs) {
    set({
      type: "Degraded",
      status: "False",
      reason: "AsExpected",
      message: "the spec can be acted on",
    });
  }
  set(progressingCondition(operation));

  const notReady = active.filter((n) => !n.ready).map((n) => n.id);
  if (obs && view) {
    const stuck = startProblems(notReady, pods, (id) => `node ${id}`);
    if (update.waiting || notReady.length > 0 || !formed || uncovered > 0) {
      const why = notReady.map((id) => {
        const seen = obs.nodes.find((n) => n.member.id === id);
        return `node ${id} ${seen ? notServing(seen, view).join(", ") : "is not observed"}`;
      });
      set({
        type: "Ready",
        status: "False",
        reason: !formed ? "Forming" : stuck.length > 0 ? "PodsNotStarting" : "NodesNotServing",
        message:
          update.waiting ??
          [
            `${readyNodes} of ${desired} nodes serving, ${slotsAssigned ?? 0} of ${SLOTS} slots owned`,
            ...why,
            ...stuck,
          ].join("; "),
      });
    } else {
      set({
        type: "Ready",
        status: "True",
        reason: "AllNodesServing",
        message: `${readyNodes} nodes serving, every slot owned by one of ${shards?.filter((s) => s.slotCount > 0).length ?? 0} masters`,
      });
    }
  }

  const failover = update.failover === null ? undefined : (update.failover ?? base.failover);
  const status: RedisClusterStatus = {
    ...gen,
    ...(conditions ? { conditions } : {}),
    ...(allOnImage ? { engine: r.spec.engine ?? "redis", version: r.spec.version } : {}),
    ...(formed ? { formed: true } : {}),
    ...(slotsAssigned === undefined ? {} : { slotsAssigned }),
    readyNodes,
    ready: `${readyNodes}/${desired}`,
    endpoint: clusterEndpoint(r),
    ...(shards && shards.length > 0 ? { shards } : {}),
    ...(nodes.length > 0 ? { nodes } : {}),
    ...(operation ? { operation } : {}),
    ...(failover ? { failover } : {}),
  };
  return statusEqual(base, status) ? undefined : status;
}

/** One shard as status shows it: its master, its replicas and who of them serves. */
export interface ShardHealth {
  shard: number;
  master?: number;
  /** Its master is a node that serves. */
  masterServing: boolean;
  /** Its members other than the master, in id order. */
  replicas: { id: number; ready: boolean; removing: boolean }[];
  /** Replicas that serve (follow the master, link up) and are not being removed. */
  replicasServing: number;
  slots: string;
  slotCount: number;
  removing: boolean;
}

/**
 * Pure, from `.status` alone: each shard's master and replicas and who
 * serves — the one reading of status that the metrics and `ballast
 * status` share.
 */
export function shardHealth(status: RedisClusterStatus): ShardHealth[] {
  const nodes = new Map((status.nodes ?? []).map((n) => [n.id, n]));
  return (status.shards ?? []).map((s) => {
    const replicas = s.members
      .filter((id) => id !== s.master)
      .sort((a, b) => a - b)
      .map((id) => ({
        id,
        ready: nodes.get(id)?.ready === true,
        removing: nodes.get(id)?.removing === true,
      }));
    return {
      shard: s.shard,
      ...(s.master === undefined ? {} : { master: s.master }),
      masterServing: s.master !== undefined && nodes.get(s.master)?.ready === true,
      replicas,
      replicasServing: replicas.filter((r) => r.ready && !r.removing).length,
      slots: s.slots,
      slotCount: s.slotCount,
      removing: s.removing === true,
    };
  });
}
