/**
 * Bootstrap: the first instance's pod is made with the marker and
 * `BOOTSTRAP=yes` (objects.ts), so its start script runs initdb — or,
 * with spec.bootstrap.recovery, the restore step's `pgbackrest restore`
 * (restore.ts). Once it answers as a primary, its system identifier (a
 * restore's is the source's) and its timeline (a restore's is a new one)
 * are recorded: from then on an instance with another identifier is
 * another cluster's data, and the other instances' pods are made (they
 * clone it).
 */

import { Action } from "@ballast/runtime";
import type { StepResult } from "@ballast/stateful";
import type { PostgresScope } from "./scope.ts";

export async function recordBootstrap(s: PostgresScope): Promise<StepResult> {
  if (s.pg.systemIdentifier) return "continue";
  const first = s.members()?.[0]?.id;
  const report = first === undefined ? undefined : s.reports.get(first);
  if (first === undefined || !report?.reachable || report.role !== "primary") {
    await s.writeStatus({
      waiting: s.restore?.summary ?? `instance ${first} is being initialised (initdb)`,
    });
    return Action.requeueAfter(s.busyMs);
  }
  await s.recordPg({
    ...s.pg,
    systemIdentifier: report.systemIdentifier,
    primary: { id: first, timeline: report.timeline },
  });
  s.event(
    "Bootstrapped",
    "Bootstrap",
    `instance ${first} ${s.restore ? "restored" : "initialised"} the cluster (system identifier ${report.systemIdentifier}, timeline ${report.timeline})`,
  );
  return "continue";
}
