/**
 * The cluster's shape mended, one batch per reconcile (plan/repairs.ts
 * says what and why): every MEET at once (cheap, idempotent), else the
 * bring-up slot assignment, replicas re-pointed and stale node ids
 * forgotten. Each is an event; a command Redis refuses is a Warning event
 * and the next reconcile plans again from what the nodes then say.
 */
import { Action } from "@ballast/runtime";
import type { StepResult } from "@ballast/stateful";
import { formatRanges } from "../admin/cluster-port.ts";
import { RedisPortError } from "../admin/port.ts";
import { planRepairs } from "./plan/repairs.ts";
import type { ClusterScope } from "./scope.ts";

export async function repairCluster(s: ClusterScope): Promise<StepResult> {
  const obs = s.observation;
  const view = s.view;
  if (!obs || !view) return "continue";
  const drained = s.operation?.type === "ScaleDown" && s.operation.drained === true;
  const leaving = new Set(
    drained ? obs.nodes.filter((n) => n.member.removing).map((n) => n.member.id) : [],
  );
  const repairs = planRepairs(obs, view, {
    formed: s.status.formed === true,
    shards: s.r.spec.shards,
    leaving,
  });
  if (repairs.length === 0) return "continue";
  await Promise.all(
    repairs.map(async (rep) => {
      try {
        switch (rep.kind) {
          case "meet": {
            const a = s.address(rep.member);
            if (a) await s.redis.meet(a, rep.ip, 6379);
            return;
          }
          case "addSlots": {
            const a = s.address(rep.member);
            if (!a) return;
            await s.redis.addSlots(a, rep.ranges);
            s.event(
              "SlotsAssigned",
              "AddSlots",
              `node ${rep.member} (shard ${rep.shard}) owns slots ${formatRanges(rep.ranges)}`,
            );
            return;
          }
          case "replicate": {
            const a = s.address(rep.member);
            if (!a) return;
            await s.redis.replicate(a, rep.masterNodeId);
            s.event(
              "Replicate",
              "Replicate",
              `node ${rep.member} follows its shard's master, node ${rep.master}`,
            );
            return;
          }
          case "forget":
            for (const id of rep.on) {
              const a = s.address(id);
              if (a) await s.redis.forget(a, rep.nodeId);
            }
            s.event(
              "ForgetNode",
              "Forget",
              `forgot node id ${rep.nodeId}, which is no member's and is failing`,
            );
            return;
        }
      } catch (err) {
        if (!(err instanceof RedisPortError)) throw err;
        s.event("RepairFailed", rep.kind, err.message, "Warning");
      }
    }),
  );
  return Action.requeueAfter(Math.min(s.busyMs, 1000));
}
