/**
 * Scale-out and scale-in: slots move with their keys, in the stateful
 * scale machinery (`actOnScaleUp` settle, `planScaleDown` → `actOnScaleDown`
 * drain → stop → forget → delete the volume). Steps:
 *
 * 1. Scale-out, settle: the new shard's nodes are met and its replicas
 *    follow its master (repair step, earlier in the pipeline); then slots
 *    move onto the new masters until every shard holds its share
 *    (plan/slots.ts `planSlotMoves`).
 * 2. Scale-in, drain: the removed shards' slots move onto the shards that
 *    stay, evenly; a removed replica holds no slots and drains at once.
 * 3. Both: only while every slot is owned, no node is failing and no node
 *    of the set is down (a move needs both ends, and moving slots while a
 *    shard fails over would plan from a view about to change). A slot
 *    found marked MIGRATING (an operator killed mid-move) is finished
 *    first. Slots move one at a time, for at most `reshardBudgetMs` per
 *    reconcile; the operation records how many remain, and the next
 *    reconcile plans the rest from what the nodes then report — the plan
 *    is never stored, so a restarted operator continues the same reshard.
 * 4. Scale-in, stop and forget: drained pods stop one at a time; each
 *    removed node id is then forgotten by every node that stays
 *    (`CLUSTER FORGET`, within its 60 s ban, on all of them at once),
 *    then its volume is deleted.
 */
import {
  actOnScaleDown,
  actOnScaleUp,
  type DataMoves,
  planScaleDown,
  type StepResult,
} from "@ballast/stateful";
import { SLOTS, type SlotMove, type SlotOwner } from "../admin/cluster-port.ts";
import { ports } from "../resources.ts";
import { planSlotMoves, type SlotMovePlan } from "./plan/slots.ts";
import { answered, type ClusterMember, notServing, shardOwners } from "./plan/view.ts";
import { clusterNames } from "./resources.ts";
import { type ClusterScope, nodeName } from "./scope.ts";

export async function scaleCluster(
  s: ClusterScope,
  members: readonly ClusterMember[],
): Promise<StepResult> {
  const up = await actOnScaleUp(
    s.operation,
    members,
    {
      settle: () => moveSlots(s, members, []),
      name: nodeName,
    },
    s.io(),
  );
  if (up !== "continue") return up;
  const step = planScaleDown<ClusterMember>(members, s.pods, s.operation, s.now());
  return actOnScaleDown<ClusterMember>(
    step,
    {
      drain: (removing) => moveSlots(s, members, removing),
      forget: async (member) => {
        const nodeId = s.view?.nodeIds.get(member.id) ?? member.nodeId;
        if (!nodeId) return;
        const staying = members.filter((m) => !m.removing);
        await Promise.all(
          staying.map(async (m) => {
            const a = s.address(m.id);
            if (a) await s.redis.forget(a, nodeId);
          }),
        );
      },
      claimName: (m) => clusterNames.claim(s.r, m.id),
      name: nodeName,
    },
    { ...s.io(), ctx: s.ctx, namespace: s.namespace },
  );
}

/** What blocks moving slots now; empty when they may move. */
export function moveBlockers(s: ClusterScope, members: readonly ClusterMember[]): string[] {
  const obs = s.observation;
  const view = s.view;
  if (!obs || !view) return ["the nodes are not observed"];
  const out: string[] = [];
  if (view.owners.size !== SLOTS) out.push(`${SLOTS - view.owners.size} slots have no master`);
  for (const n of obs.nodes) {
    if (!members.some((m) => m.id === n.member.id)) continue;
    const why = notServing(n, view);
    if (why.length > 0) out.push(`node ${n.member.id} ${why.join(", ")}`);
    if (answered(n)?.nodes.some((l) => l.failing))
      out.push(`node ${n.member.id} sees a failing node`);
  }
  return out;
}

async function moveSlots(
  s: ClusterScope,
  members: readonly ClusterMember[],
  removing: readonly ClusterMember[],
): Promise<DataMoves> {
  const view = s.view;
  if (!view) return { kind: "moving", waitingFor: "the nodes to be observed" };
  const blockers = moveBlockers(s, members);
  if (blockers.length > 0) return { kind: "moving", waitingFor: blockers.join("; ") };
  const removingShards = [...new Set(removing.map((m) => m.shard))].filter((shard) =>
    members.filter((m) => m.shard === shard).every((m) => m.removing),
  );
  const staying = [...new Set(members.filter((m) => !m.removing).map((m) => m.shard))];
  const shardOf = new Map(members.map((m) => [m.id, m.shard]));
  const inFlight: SlotMovePlan[] = view.inFlight.map((f) => ({
    slot: f.slot,
    from: shardOf.get(f.from) ?? -1,
    to: shardOf.get(f.to) ?? -1,
  }));
  const planned = planSlotMoves(shardOwners(view, members), staying, removingShards);
  const moves = [...inFlight, ...planned.filter((p) => !inFlight.some((f) => f.slot === p.slot))];
  if (moves.length === 0) return { kind: "finished" };
  const budget = s.deps.reshardBudgetMs ?? 3000;
  const masters = [...view.masters.values()];
  const batch: SlotMove[] = [];
  for (const move of moves) {
    const from = owner(s, view.masters.get(move.from));
    const to = owner(s, view.masters.get(move.to));
    if (!from || !to) break;
    const others = masters
      .filter((m) => m !== from.address.id && m !== to.address.id)
      .flatMap((m) => s.address(m) ?? []);
    batch.push({ slot: move.slot, from, to, others });
  }
  const outcome = await s.redis.moveSlots(batch, { deadline: Date.now() + budget });
  const done = outcome.moved.length;
  if (outcome.failure) s.event("SlotMoveFailed", "MoveSlot", outcome.failure.message, "Warning");
  const remaining = moves.length - done;
  if (remaining === 0) return { kind: "finished" };
  return {
    kind: "moving",
    waitingFor: `${remaining} slots to move (${done} moved in this pass)`,
    movesRemaining: remaining,
    movesTotal: Math.max(
      remaining,
      (s.operation as { movesTotal?: number } | undefined)?.movesTotal ?? remaining,
    ),
  };
}

function owner(s: ClusterScope, member: number | undefined): SlotOwner | undefined {
  if (member === undefined) return undefined;
  const address = s.address(member);
  const nodeId = s.view?.nodeIds.get(member);
  const ip = s.podIP(member);
  if (!address || !nodeId || !ip) return undefined;
  return { address, nodeId, ip, port: ports.redis };
}
