/**
 * Switchover, act side: carries out the step `planSwitchover` decided
 * (plan/switchover.ts, docs/switchover.md). Asked by the annotation
 * `postgres.ballast.dev/switchover-to` on the PostgresCluster (an instance
 * id, or `any` for the most advanced standby; `ballast switchover` sets
 * it), or by the roll when only the primary is left to restart. Each step
 * writes the switchover record first, then acts:
 *
 * 1. `checkpoint`: CHECKPOINT on the primary, so its shutdown checkpoint
 *    has little left to write.
 * 2. `stop`: delete the primary's pod. Its preStop hook stops the server
 *    with a fast shutdown (the WAL senders send everything, the shutdown
 *    checkpoint included, before they exit), and the record fences it:
 *    its new pod is made without the marker and starts in recovery.
 * 3. `promote`: the marker on the target's pod, then `pg_promote`.
 * 4. `promoted`: status names the new primary; the pipeline goes on (the
 *    slots, synchronous_standby_names, the -rw label).
 * 5. `repoint`: the old primary and the other standbys follow the new
 *    primary — repointed live where the server answers, a new pod where
 *    it does not (failover.ts `repoint`).
 * 6. `complete`: the record cleared, and the request annotation removed.
 *    `abort`: the record cleared, nothing irreversible happened; the
 *    request stays and is tried again. `fail-over`: the failover owns it.
 */
import { Action } from "@ballast/runtime";
import type { StepResult } from "@ballast/stateful";
import { describeBlocker } from "../plan/blockers.ts";
import { planSwitchover, recordSwitchover, type SwitchoverRequest } from "../plan/switchover.ts";
import { annotations } from "../resources.ts";
import { repoint } from "./failover.ts";
import type { PostgresScope } from "./scope.ts";

/** The request on the cluster's annotation: undefined without one, `problem` for a value that names no instance. */
export function requestedSwitchover(
  value: string | undefined,
  instances: readonly number[],
): { request?: SwitchoverRequest; problem?: string } {
  if (value === undefined) return {};
  const v = value.trim();
  if (v === "any" || v === "") return { request: {} };
  if (/^[0-9]+$/.test(v) && instances.includes(Number(v))) return { request: { to: Number(v) } };
  return {
    problem: `annotation ${annotations.switchoverTo}=${JSON.stringify(value)} names no instance: use one of ${instances.join(", ")} or any`,
  };
}

export interface SwitchoverOutcome {
  result: StepResult;
  waiting?: string;
}

export async function switchover(
  s: PostgresScope,
  rollRequest?: SwitchoverRequest,
): Promise<SwitchoverOutcome> {
  const obs = s.observation;
  if (!obs) return { result: "continue" };
  const asked = requestedSwitchover(
    s.r.metadata.annotations?.[annotations.switchoverTo],
    (s.members() ?? []).filter((m) => !m.removing).map((m) => m.id),
  );
  if (asked.problem && !s.pg.switchover) {
    await s.writeStatus({
      degraded: { reason: "SwitchoverRequestInvalid", message: asked.problem },
    });
    return { result: "continue", waiting: asked.problem };
  }
  const request = rollRequest ?? asked.request;
  const step = planSwitchover(obs, request, s.now());
  switch (step.kind) {
    case "idle":
      if (asked.request && !s.pg.switchover) await clearRequest(s);
      return { result: "continue" };
    case "wait": {
      const waiting = `switchover: ${step.blockers.map(describeBlocker).join("; ")}`;
      if (!step.record && !s.pg.switchover) return { result: "continue", waiting };
      await s.recordPg(recordSwitchover(s.pg, step), { waiting });
      return { result: Action.requeueAfter(s.busyMs), waiting };
    }
    case "checkpoint": {
      const first = !s.pg.switchover;
      await s.recordPg(recordSwitchover(s.pg, step));
      if (first) {
        s.event(
          "Switchover",
          "Switchover",
          `switching over from instance ${step.record.from} to instance ${step.record.to}`,
        );
      }
      const address = s.address(step.id);
      if (address) await s.postgres.checkpoint(address);
      return { result: Action.requeueAfter(0) };
    }
    case "stop":
      await s.recordPg(recordSwitchover(s.pg, step));
      await s.deletePod(step.id);
      return { result: Action.requeueAfter(s.busyMs) };
    case "promote": {
      await s.recordPg(recordSwitchover(s.pg, step));
      await s.markPrimary(step.id);
      const address = s.address(step.id);
      if (address) await s.postgres.promote(address, { waitSeconds: 10 });
      return { result: Action.requeueAfter(0) };
    }
    case "promoted":
      await s.recordPg(recordSwitchover(s.pg, step));
      s.event(
        "Promoted",
        "Switchover",
        `instance ${step.primary.id} is the primary on timeline ${step.primary.timeline}`,
      );
      return { result: "continue" };
    case "repoint":
      await s.recordPg(recordSwitchover(s.pg, step));
      await repoint(s, step.ids, step.to);
      return { result: Action.requeueAfter(s.busyMs) };
    case "complete":
      await s.recordPg(recordSwitchover(s.pg, step));
      await clearRequest(s);
      s.event("SwitchoverComplete", "Switchover", `instance ${step.primary.id} is the primary`);
      return { result: "continue" };
    case "abort": {
      const why = step.blockers.map(describeBlocker).join("; ");
      await s.recordPg(recordSwitchover(s.pg, step));
      s.event(
        "SwitchoverAborted",
        "Switchover",
        `switchover abandoned before the primary stopped: ${why}`,
        "Warning",
      );
      return { result: Action.requeueAfter(s.busyMs), waiting: why };
    }
    case "fail-over":
      await s.recordPg(recordSwitchover(s.pg, step));
      s.event(
        "SwitchoverFailingOver",
        "Switchover",
        `an instance of the switchover was lost: failing over from instance ${step.election.from}`,
        "Warning",
      );
      return { result: Action.requeueAfter(0) };
  }
}

async function clearRequest(s: PostgresScope): Promise<void> {
  if (s.r.metadata.annotations?.[annotations.switchoverTo] === undefined) return;
  await s.ctx.client.patch(
    { apiVersion: s.r.apiVersion, kind: s.r.kind },
    { namespace: s.namespace, name: s.r.metadata.name ?? "" },
    { metadata: { annotations: { [annotations.switchoverTo]: null } } },
    { type: "merge", signal: s.ctx.signal },
  );
}
