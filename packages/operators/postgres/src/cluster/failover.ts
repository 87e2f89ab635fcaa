/**
 * Failover, act side: carries out the step `planFailover` decided
 * (plan/failover.ts and docs/failover.md say why each is safe). Every step
 * that acts writes the election status first (`recordFailover`), then acts;
 * each act is idempotent, so an operator killed between the two repeats it.
 *
 * 1. `record` / `complete`: status names the primary; the pipeline goes on.
 * 2. `fence`: delete the lost primary's pod. Its replacement is made
 *    without the marker (objects.ts), so its server starts only in
 *    recovery; a pod whose deletion waits on its node is fenced once that
 *    node has stopped reporting and the server stays silent (observe.ts
 *    says why that is enough, and what it costs without synchronous
 *    replication).
 * 3. `promote`: add the marker to the chosen standby's pod (a restart after
 *    the promotion keeps it primary), then `pg_promote`.
 * 4. `promoted`: status records the new primary; the pipeline goes on in
 *    this reconcile, so the slots, synchronous_standby_names and the -rw
 *    label follow at once (service.ts moves the label only once the
 *    synchronous setting is in place).
 * 5. `repoint`: point the standbys at the new primary, each running
 *    server live (ALTER SYSTEM primary_conninfo + reload: no restart, so
 *    no second instance down), a new pod for one that does not answer.
 * 6. `wait` and `conflict`: nothing is done; status says why.
 */
import { Action } from "@ballast/runtime";
import type { StepResult } from "@ballast/stateful";
import { describeBlocker } from "../plan/blockers.ts";
import { planFailover, recordFailover } from "../plan/failover.ts";
import type { PostgresScope } from "./scope.ts";

/** What the failover step leaves for the status: why it waits, if it does. */
export interface FailoverOutcome {
  result: StepResult;
  waiting?: string;
}

export async function failover(s: PostgresScope): Promise<FailoverOutcome> {
  const obs = s.observation;
  if (!obs) return { result: "continue" };
  const step = planFailover(obs, s.now());
  switch (step.kind) {
    case "none":
      return { result: "continue" };
    case "record":
    case "complete": {
      const before = s.pg.primary;
      await s.recordPg(recordFailover(s.pg, step));
      if (step.kind === "complete" || (before && before.id !== step.primary.id)) {
        s.event(
          "FailoverComplete",
          "Failover",
          `instance ${step.primary.id} is the primary on timeline ${step.primary.timeline}`,
        );
      }
      return { result: "continue" };
    }
    case "wait": {
      const waiting = step.blockers.map(describeBlocker).join("; ");
      // Without an election, a wait only delays a failover: the rest of the
      // pipeline goes on (nothing in it restarts a primary that is lost).
      if (!s.pg.election) return { result: "continue", waiting };
      await s.writeStatus({ waiting });
      return { result: Action.requeueAfter(s.busyMs), waiting };
    }
    case "conflict": {
      const message = `instances ${step.ids.join(", ")} all take writes on timeline ${step.timeline}; the operator does not choose between two histories: delete the pod of the one whose writes are to be discarded (it restarts as a standby and is rewound)`;
      await s.writeStatus({ degraded: { reason: "WritersConflict", message } });
      s.event("WritersConflict", "Failover", message, "Warning");
      return { result: Action.requeueAfter(s.busyMs), waiting: message };
    }
    case "fence": {
      await s.recordPg(recordFailover(s.pg, step));
      if (await s.deletePod(step.id)) {
        s.event(
          "Fencing",
          "Failover",
          `instance ${step.id}, the primary, has not answered for spec.failoverDelaySeconds: its pod is deleted and replaced by one that starts only as a standby`,
          "Warning",
        );
      }
      return { result: Action.requeueAfter(s.busyMs) };
    }
    case "promote": {
      await s.recordPg(recordFailover(s.pg, step));
      await s.markPrimary(step.id);
      const address = s.address(step.id);
      if (address) {
        s.event("Promoting", "Failover", `promoting instance ${step.id}: ${step.why}`);
        await s.postgres.promote(address, { waitSeconds: 10 });
      }
      return { result: Action.requeueAfter(0) };
    }
    case "promoted":
      await s.recordPg(recordFailover(s.pg, step));
      s.event(
        "Promoted",
        "Failover",
        `instance ${step.primary.id} is the primary on timeline ${step.primary.timeline}`,
      );
      return { result: "continue" };
    case "repoint": {
      await s.recordPg(recordFailover(s.pg, step));
      await repoint(s, step.ids, step.to);
      return { result: Action.requeueAfter(s.busyMs) };
    }
  }
}

/** How `repointTo` made an instance follow: already did, repointed live, or a new pod. */
export type Repointed = "following" | "live" | "new-pod";

/**
 * Points `ids` at the new primary `to`: its slot for each first, then the
 * running server repointed live (scope.streamFrom), or a new pod for one
 * that does not answer. A pod made to follow `to` is left to connect.
 */
export async function repoint(
  s: PostgresScope,
  ids: readonly number[],
  to: number,
): Promise<Map<number, Repointed>> {
  const done = new Map<number, Repointed>();
  for (const id of ids) {
    await s.ensureSlotOn(to, id);
    if (s.madeToFollow(id, to)) done.set(id, "following");
    else if (await s.streamFrom(id, to)) done.set(id, "live");
    else {
      await s.deletePod(id);
      done.set(id, "new-pod");
    }
  }
  return done;
}
