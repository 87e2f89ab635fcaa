/**
 * The PostgresCluster's `.status`, computed from what was observed: pure,
 * and `undefined` when it would say what it already says (no write then).
 *
 * - The plans' records (systemIdentifier, primary, election, switchover,
 *   synchronous) are written only as a step gives them (`update.pg`),
 *   BEFORE that step acts; otherwise kept as they are.
 * - instances: role, timeline, WAL position and lag as each reported,
 *   ready as `serving` says, and since when one has not answered.
 * - Ready: the primary and every instance serving. Degraded: something the
 *   user must fix (a Secret, a refused object, a foreign instance), or the
 *   cluster has no primary (the message says what the failover waits for).
 *   Progressing: a roll or a scale under way (stateful's operation).
 */
import { type ConditionUpdate, setCondition, statusEqual } from "@ballast/runtime";
import {
  type Member,
  nextOperation,
  type Operation,
  type PodLike,
  progressingCondition,
  startProblems,
} from "@ballast/stateful";
import type { InstanceReport } from "../admin/port.ts";
import type { InstanceStatus, PostgresCluster, PostgresClusterStatus } from "../api.ts";
import { parseLsn, replayLag } from "../plan/lsn.ts";
import type { ClusterObservation, PostgresStatus } from "../plan/types.ts";
import { names } from "../resources.ts";
import { planMembership } from "./membership.ts";
import { serving } from "./observe.ts";

/** What one step of a reconcile asks the status to say, beside what was observed. */
export interface StatusUpdate {
  members?: readonly Member[];
  /** null clears the operation. */
  operation?: Operation | null;
  /** The plans' records as they must stand before the step acts. */
  pg?: PostgresStatus;
  /** Something the user must fix. */
  degraded?: { reason: string; message: string };
  /** Why the cluster is not yet as the spec says (a plan's blockers). */
  waiting?: string;
  /** Instances being rewound (status.rewinding). */
  rewinding?: readonly { id: number; from: number }[];
  /** spec.backup's state (cluster/backup.ts): the BackupReady condition, and status.backup (null clears it). */
  backup?: {
    condition?: Omit<ConditionUpdate, "type">;
    record?: PostgresClusterStatus["backup"] | null;
  };
}

export interface StatusInputs {
  pods: ReadonlyMap<number, PodLike>;
  reports: ReadonlyMap<number, InstanceReport>;
  observation: ClusterObservation | undefined;
  update: StatusUpdate;
  now: Date;
}

export function buildStatus(
  r: PostgresCluster,
  inputs: StatusInputs,
): PostgresClusterStatus | undefined {
  const base = r.status ?? {};
  const { update, observation: obs, reports, pods, now } = inputs;
  const before = new Map((base.instances ?? []).map((i) => [i.id, i]));
  const list: readonly Member[] =
    update.members ??
    (base.instances ?? []).map((i) => ({ id: i.id, ...(i.removing ? { removing: true } : {}) }));
  const pg = update.pg;
  const records = {
    systemIdentifier: pg ? pg.systemIdentifier || undefined : base.systemIdentifier,
    primary: pg ? pg.primary : base.primary,
    election: pg ? pg.election : base.election,
    switchover: pg ? pg.switchover : base.switchover,
    synchronous: pg
      ? pg.synchronous && { any: pg.synchronous.any, standbys: [...pg.synchronous.standbys] }
      : base.synchronous,
  };
  const primaryReport = records.primary ? reports.get(records.primary.id) : undefined;
  const primaryLsn =
    primaryReport?.reachable && primaryReport.role === "primary"
      ? parseLsn(primaryReport.currentLsn)
      : undefined;
  const recorded: PostgresStatus = {
    ...definedOnly(records),
    systemIdentifier: records.systemIdentifier ?? "",
  };
  const view = obs ? { ...obs, status: recorded } : undefined;

  const instances: InstanceStatus[] = list.map((m) => {
    const was = before.get(m.id);
    const report = reports.get(m.id);
    if (!obs)
      return { ...(was ?? { id: m.id, pod: names.pod(r, m.id), ready: false }), ...removing(m) };
    if (!report?.reachable) {
      return {
        id: m.id,
        pod: names.pod(r, m.id),
        ready: false,
        ...(was?.timeline ? { timeline: was.timeline } : {}),
        ...(was?.lsn ? { lsn: was.lsn } : {}),
        unreachableSince: was?.unreachableSince ?? now.toISOString(),
        ...(report && !report.reachable ? { problem: report.error.message.slice(0, 1024) } : {}),
        ...removing(m),
      };
    }
    const lsn =
      report.role === "primary" ? report.currentLsn : (report.receivedLsn ?? report.replayedLsn);
    const lag =
      report.role === "replica" && primaryLsn !== undefined && report.replayedLsn
        ? replayLag(primaryLsn, parseLsn(report.replayedLsn))
        : undefined;
    return {
      id: m.id,
      pod: names.pod(r, m.id),
      role: report.role === "primary" ? "primary" : "standby",
      timeline: report.timeline,
      ...(lsn ? { lsn } : {}),
      ...(lag !== undefined ? { lagBytes: Number(lag) } : {}),
      ready: serving(view, m.id).serving,
      ...removing(m),
    };
  });

  const active = instances.filter((i) => !i.removing);
  const readyInstances = active.filter((i) => i.ready).length;
  const operation = nextOperation(update.operation, base.operation);
  const generation = r.metadata.generation;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  let conditions = base.conditions;
  const set = (u: ConditionUpdate) => {
    conditions = setCondition(conditions, { ...u, ...gen }, now);
  };

  const change = planMembership(r, base.instances ? list : undefined);
  const refused =
    change.kind === "refuse"
      ? { reason: "ScaleDownRefused", message: `spec.instances: ${change.message}` }
      : undefined;
  const degraded = update.degraded ?? refused;
  const primaryServes = records.primary !== undefined && serving(view, records.primary.id).serving;
  if (degraded) {
    set({ type: "Degraded", status: "True", ...degraded });
  } else if (records.election) {
    const e = records.election;
    set({
      type: "Degraded",
      status: "True",
      reason: "FailingOver",
      message: `failing over from instance ${e.from} (${e.phase}${"to" in e ? ` instance ${e.to}` : ""})${update.waiting ? `: ${update.waiting}` : ""}`,
    });
  } else if (obs && records.primary && !primaryServes && !records.switchover) {
    set({
      type: "Degraded",
      status: "True",
      reason: "PrimaryNotServing",
      message: `the primary (instance ${records.primary.id}) does not serve${update.waiting ? `: ${update.waiting}` : ""}`,
    });
  } else if (obs && records.primary) {
    set({
      type: "Degraded",
      status: "False",
      reason: "AsExpected",
      message: `instance ${records.primary.id} is the primary`,
    });
  }

  set(progressingCondition(operation));
  if (update.backup?.condition) set({ type: "BackupReady", ...update.backup.condition });
  else if (update.backup?.record === null)
    conditions = conditions?.filter((c) => c.type !== "BackupReady");
  const backup =
    update.backup?.record === undefined ? base.backup : (update.backup.record ?? undefined);

  const notReady = active.filter((i) => !i.ready).map((i) => i.id);
  const stuck = startProblems(notReady, pods, (id) => `instance ${id}`);
  if (obs && (notReady.length > 0 || !primaryServes || update.waiting)) {
    set({
      type: "Ready",
      status: "False",
      reason: !records.primary
        ? "Bootstrapping"
        : stuck.length > 0
          ? "PodsNotStarting"
          : "InstancesNotServing",
      message: [
        `${readyInstances} of spec.instances = ${r.spec.instances} serving${notReady.length > 0 ? `; instances ${notReady.join(", ")} are not` : ""}`,
        ...stuck,
        ...(update.waiting ? [update.waiting] : []),
      ].join("; "),
    });
  } else if (obs && active.length > 0) {
    set({
      type: "Ready",
      status: "True",
      reason: "AllInstancesServing",
      message: `${readyInstances} instance(s) serving, instance ${records.primary?.id} is the primary`,
    });
  }

  const status: PostgresClusterStatus = {
    ...gen,
    ...(conditions ? { conditions } : {}),
    ...definedOnly(records),
    ...rewinds(update.rewinding ?? base.rewinding),
    readyInstances,
    ...(instances.length > 0 ? { instances } : {}),
    ...(operation ? { operation } : {}),
    ...(backup ? { backup } : {}),
  };
  return statusEqual(base, status) ? undefined : status;
}

function removing(m: Member): { removing?: true } {
  return m.removing ? { removing: true } : {};
}

export type Defined<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/** `o` without its undefined values (exactOptionalPropertyTypes). */
export function definedOnly<T extends Record<string, unknown>>(o: T): Defined<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Defined<T>;
}

function rewinds(list: readonly { id: number; from: number }[] | undefined): {
  rewinding?: { id: number; from: number }[];
} {
  return list && list.length > 0 ? { rewinding: [...list] } : {};
}
