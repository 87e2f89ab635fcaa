/**
 * Scaling a KafkaCluster, on the shared scale state machines
 * (`@ballast/stateful`). Kafka never moves data by itself, so both
 * directions are partition reassignments planned by plan/reassign.ts —
 * rack-aware when `spec.rack` is set, from the `broker.rack` each live
 * broker reports — and throttled while they copy.
 *
 * Scale-up (after the new node ids are recorded and their pods created):
 * 1. Wait until every target broker is registered.
 * 2. Plan the reassignment onto all of them; none needed → clear the
 *    throttles, done.
 * 3. Throttle, then start the moves; wait while Kafka carries them out.
 *
 * Scale-down:
 * 1. Refuse (nothing removed, Degraded says why) when a topic's replication
 *    factor exceeds the brokers that would stay.
 * 2. Record the nodes being removed and the operation.
 * 3. Drain: reassign every partition off them, as for a scale-up. A topic
 *    that needs more brokers than would stay (created during the drain, or
 *    missing from the metadata step 1 read: a broker's metadata lags the
 *    controller's) calls the removal off once no move is in flight, the
 *    throttles cleared; step 1 then refuses it again, saying which topic.
 * 4. Stop each drained node (its throttles cleared first), wait until its
 *    pod is gone, unregister it in Kafka, delete its volume, forget it.
 */

import { Action } from "@ballast/runtime";
import {
  actOnScaleDown,
  actOnScaleUp,
  type DataMoves,
  type MembershipChange,
  type Operation,
  planScaleDown,
  recordMembership,
  type ScaleDownHooks,
  type StepResult,
} from "@ballast/stateful";
import { planReassignment, scaleDownBlockers } from "../plan/reassign.ts";
import type { KafkaObservation, NodeId } from "../plan/state.ts";
import { names } from "../resources.ts";
import type { ClusterAdmin } from "./admin-pool.ts";
import { activeBrokers, type MemberNode } from "./membership.ts";
import { type ClusterScope, nodeName } from "./scope.ts";

const defaultThrottle = 52_428_800;

/** Scale-down steps 1–2: refuse, or record the removal. */
export async function startScaleDown(
  s: ClusterScope,
  change: Extract<MembershipChange<MemberNode>, { kind: "remove" }>,
  obs: KafkaObservation,
): Promise<StepResult> {
  const target = activeBrokers(change.members).map((n) => n.id);
  const blockers = scaleDownBlockers(obs.partitions, target);
  if (blockers.length > 0) {
    const list = describeBlockers(blockers);
    await s.writeStatus({
      blocked: {
        reason: "ScaleDownRefused",
        message: `spec.brokers=${target.length} cannot hold ${list}: nothing was removed; keep spec.brokers at least ${Math.max(...blockers.map((b) => b.replicationFactor))} or lower those topics' replication factor`,
      },
    });
    s.event("ScaleDownRefused", "ScaleDown", `would lose data: ${list}`, "Warning");
    return Action.requeueAfter(s.idleMs);
  }
  return recordMembership(change, s.operation, s.io(), (id) => `broker ${id}`, s.now());
}

function describeBlockers(blockers: readonly { topic: string; replicationFactor: number }[]) {
  return blockers.map((b) => `${b.topic} (replication factor ${b.replicationFactor})`).join(", ");
}

/** The scale operation in progress, if any, one step further. */
export async function scale(
  s: ClusterScope,
  admin: ClusterAdmin,
  nodes: readonly MemberNode[],
  obs: KafkaObservation,
): Promise<StepResult> {
  if (nodes.some((n) => n.removing)) {
    const step = planScaleDown(nodes, s.pods, s.operation, s.now());
    return actOnScaleDown(step, scaleDownHooks(s, admin, nodes, obs), s.io());
  }
  return actOnScaleUp<MemberNode>(
    s.operation,
    nodes,
    {
      name: nodeName,
      settle: (_added, all, op) => {
        const target = activeBrokers(all).map((n) => n.id);
        return rebalance(s, admin, target, target, obs, op);
      },
    },
    s.io(),
  );
}

function scaleDownHooks(
  s: ClusterScope,
  admin: ClusterAdmin,
  nodes: readonly MemberNode[],
  obs: KafkaObservation,
): ScaleDownHooks<MemberNode> {
  const target = activeBrokers(nodes).map((n) => n.id);
  const removing = nodes.filter((n) => n.removing).map((n) => n.id);
  return {
    name: nodeName,
    claimName: (node) => names.claim(s.c, node.id),
    drain: async (_removing, _staying, op) => {
      const hosting = obs.partitions.some((p) => p.replicas.some((r) => removing.includes(r)));
      if (!hosting && obs.reassignments.length === 0) return { kind: "finished" };
      const blockers = scaleDownBlockers(obs.partitions, target);
      if (blockers.length > 0 && obs.reassignments.length === 0) {
        await admin.clearThrottle({
          brokers: liveOf([...target, ...removing], obs),
          topics: topicsOf(obs),
        });
        return { kind: "refused", message: describeBlockers(blockers) };
      }
      return rebalance(s, admin, target, [...target, ...removing], obs, op);
    },
    // Throttles live in broker configs: cleared while the broker can still be asked.
    beforeStop: async (node) => {
      if (!obs.liveBrokers.has(node.id)) return;
      await admin.clearThrottle({
        brokers: liveOf([...target, ...removing], obs),
        topics: topicsOf(obs),
      });
    },
    forget: (node) => admin.unregisterBroker(node.id),
  };
}

/**
 * Moves partitions so that every target broker holds its share, spread
 * over racks when the cluster is rack-aware; "finished" when balanced.
 */
export async function rebalance(
  s: ClusterScope,
  admin: ClusterAdmin,
  target: NodeId[],
  involved: NodeId[],
  obs: KafkaObservation,
  op: Operation,
): Promise<DataMoves> {
  const started = op.type === "Roll" ? 0 : (op.movesTotal ?? 0);
  if (obs.reassignments.length > 0) {
    return {
      kind: "moving",
      waitingFor: `${obs.reassignments.length} partition(s) moving`,
      movesTotal: Math.max(started, obs.reassignments.length),
      movesRemaining: obs.reassignments.length,
    };
  }
  const missing = target.filter((id) => !obs.liveBrokers.has(id));
  if (missing.length > 0)
    return { kind: "moving", waitingFor: `brokers ${missing.join(", ")} to join` };
  const moves = planReassignment(obs.partitions, target, rackOptions(s, obs, target));
  if (moves.length === 0) {
    await admin.clearThrottle({ brokers: liveOf(involved, obs), topics: topicsOf(obs) });
    return { kind: "finished" };
  }
  const targets = moves.map((m) => ({ topic: m.topic, partition: m.partition, replicas: m.to }));
  await admin.setThrottle(targets, s.c.spec.rebalance?.throttleBytesPerSecond ?? defaultThrottle);
  await admin.reassign(targets);
  s.event(op.type, "MovePartitions", `moving ${moves.length} partition(s)`);
  return {
    kind: "moving",
    waitingFor: `${moves.length} partition(s) moving`,
    movesTotal: started + moves.length,
    movesRemaining: moves.length,
  };
}

/**
 * Racks for the plan: only when the cluster is rack-aware, and only when
 * every target broker reported one (a plan that knows some racks and not
 * others would crowd the unknown ones).
 */
export function rackOptions(
  s: ClusterScope,
  obs: KafkaObservation,
  target: readonly NodeId[],
): { racks?: ReadonlyMap<NodeId, string> } {
  if (!s.c.spec.rack) return {};
  if (!target.every((id) => obs.racks.has(id))) return {};
  return { racks: new Map(target.map((id) => [id, obs.racks.get(id) ?? ""])) };
}

/** Throttles live in broker configs, which only a registered broker can be asked to change. */
function liveOf(ids: readonly NodeId[], obs: KafkaObservation): NodeId[] {
  return ids.filter((id) => obs.liveBrokers.has(id));
}

function topicsOf(obs: KafkaObservation): string[] {
  return [...new Set(obs.partitions.map((p) => p.topic))].sort();
}
