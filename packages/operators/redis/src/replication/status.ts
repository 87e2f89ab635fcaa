/**
 * The RedisReplication's `.status`, computed from what was observed: pure,
 * and `undefined` when it would say what it already says (no write then).
 *
 * - master: the member last recognised as THE master; kept while none is
 *   (it is what `chooseMaster` calls the last master).
 * - members: role, offset and link as each reported, ready as `servingState`
 *   says, and since when a member has not answered.
 * - sentinels: whether each monitors the set and whom it names.
 * - Ready: a master, every member serving, a majority of the sentinels
 *   naming it and listing every replica as healthy (else a failover could
 *   find no replica to promote). Degraded: the spec or its Secret cannot be acted on, or the
 *   set has no master (the message says what the plan waits for).
 *   Progressing: an operation is under way.
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
import type { MemberStatus, RedisReplication, RedisReplicationStatus } from "../api.ts";
import { describeBlocker } from "../plan/blockers.ts";
import type { MasterDecision } from "../plan/master.ts";
import { sentinelsMissingReplicas } from "../plan/sentinels.ts";
import { majority, memberAt, monitoring, type ReplicationObservation } from "../plan/state.ts";
import { image, masterEndpoint, names, sentinelEndpoint, sentinelIds } from "../resources.ts";
import { planMembership } from "./membership.ts";
import { servingState } from "./serving.ts";

type Switchover = NonNullable<RedisReplicationStatus["switchover"]>;
type Repair = NonNullable<RedisReplicationStatus["lastRepair"]>;
type AppliedConfig = NonNullable<RedisReplicationStatus["config"]>;

/** What one step of a reconcile asks the status to say, beside what was observed. */
export interface StatusUpdate {
  members?: readonly Member[];
  /** null clears the operation. */
  operation?: Operation | null;
  waiting?: string;
  /** Something the user must fix, e.g. a Secret without its key. */
  degraded?: { reason: string; message: string };
  /** The member the operator is about to promote, recorded first. */
  master?: number;
  /** null clears it. */
  switchover?: Switchover | null;
  lastRepair?: Repair;
  /** The dynamic settings every member has live (replication/config.ts). */
  config?: AppliedConfig;
}

export interface StatusInputs {
  pods: ReadonlyMap<number, PodLike>;
  observation: ReplicationObservation | undefined;
  decision: MasterDecision | undefined;
  update: StatusUpdate;
  now: Date;
}

export function buildStatus(
  r: RedisReplication,
  inputs: StatusInputs,
): RedisReplicationStatus | undefined {
  const base = r.status ?? {};
  const { update, observation: obs, decision, pods, now } = inputs;
  const before = new Map((base.members ?? []).map((m) => [m.id, m]));
  const list: readonly Member[] =
    update.members ??
    (base.members ?? []).map((m) => ({ id: m.id, ...(m.removing ? { removing: true } : {}) }));

  const members: MemberStatus[] = list.map((m) => {
    const was = before.get(m.id);
    const report = obs?.members.find((o) => o.id === m.id)?.report;
    if (!obs || !decision)
      return { ...(was ?? { id: m.id, pod: names.pod(r, m.id), ready: false }), ...removing(m) };
    const answers = report?.reachable === true;
    const out: MemberStatus = {
      id: m.id,
      pod: names.pod(r, m.id),
      role: answers ? report.role : "",
      ready: servingState(obs, decision, m.id).serving,
      ...(answers
        ? { offset: report.offset }
        : was?.offset === undefined
          ? {}
          : { offset: was.offset }),
      ...(report?.role === "replica" ? { masterLink: report.masterLinkStatus } : {}),
      ...(answers ? {} : { unreachableSince: was?.unreachableSince ?? now.toISOString() }),
      ...removing(m),
    };
    return out;
  });

  const recognised = decision?.kind === "master" ? decision.id : undefined;
  const master = update.master ?? recognised ?? base.master;
  const sentinels = obs
    ? sentinelIds(r).map((id) => {
        const report = obs.sentinels.find((s) => s.id === id)?.report;
        const named = report?.monitoring ? memberAt(obs, report.master) : undefined;
        return {
          id,
          pod: names.sentinelPod(r, id),
          ready: report?.monitoring === true,
          ...(named === undefined ? {} : { names: named }),
        };
      })
    : base.sentinels;
  const agreeing =
    recognised === undefined ? 0 : (sentinels ?? []).filter((s) => s.names === recognised).length;

  const readyMembers = members.filter((m) => m.ready && !m.removing).length;
  const desired = r.spec.replicas + 1;
  const operation = nextOperation(update.operation, base.operation);
  const allOnImage =
    members.length > 0 &&
    members.every((m) => pods.get(m.id)?.spec?.containers?.[0]?.image === image(r));
  const generation = r.metadata.generation;
  const gen = generation === undefined ? {} : { observedGeneration: generation };

  let conditions = base.conditions;
  const set = (u: ConditionUpdate) => {
    conditions = setCondition(conditions, { ...u, ...gen }, now);
  };
  const waitingFor = decision && decision.kind !== "master" ? masterless(decision) : undefined;

  const change = planMembership(r, base.members);
  const refused =
    change.kind === "refuse"
      ? { reason: "ScaleDownRefused", message: `spec.replicas: ${change.message}` }
      : undefined;
  const degraded = update.degraded ?? refused;
  if (degraded) {
    set({ type: "Degraded", status: "True", ...degraded });
  } else if (obs && waitingFor) {
    set({ type: "Degraded", status: "True", reason: "NoMaster", message: waitingFor });
  } else if (obs) {
    set({
      type: "Degraded",
      status: "False",
      reason: "AsExpected",
      message: `member ${recognised} is the master`,
    });
  }

  set(progressingCondition(operation));

  const active = members.filter((m) => !m.removing);
  const notReady = active.filter((m) => !m.ready).map((m) => m.id);
  const stuck = startProblems(notReady, pods, (id) => `member ${id}`);
  const needed = majority(r.spec.sentinels);
  if (update.waiting || notReady.length > 0 || waitingFor) {
    set({
      type: "Ready",
      status: "False",
      reason: waitingFor ? "NoMaster" : stuck.length > 0 ? "PodsNotStarting" : "MembersNotServing",
      message:
        update.waiting ??
        waitingFor ??
        [
          `${readyMembers} of spec.replicas + 1 = ${desired} members serving; members ${notReady.join(", ")} are not`,
          ...stuck,
        ].join("; "),
    });
  } else if (obs && agreeing < needed) {
    set({
      type: "Ready",
      status: "False",
      reason: "SentinelsNotAgreeing",
      message: `${agreeing} of spec.sentinels = ${r.spec.sentinels} sentinels name member ${recognised} as master, ${needed} needed for a failover`,
    });
  } else if (obs && recognised !== undefined && !failoverReady(obs, recognised, active, needed)) {
    const lacking = sentinelsMissingReplicas(
      obs,
      active.map((m) => m.id).filter((id) => id !== recognised),
    );
    set({
      type: "Ready",
      status: "False",
      reason: "SentinelsLearningReplicas",
      message: `sentinels ${lacking.map((l) => `${l.sentinel} (lacks ${l.missing.join(", ")})`).join(", ")} do not list every replica yet (they learn them from the master's INFO every 10 s); a failover now could find no replica to promote`,
    });
  } else if (active.length > 0 && obs) {
    set({
      type: "Ready",
      status: "True",
      reason: "AllMembersServing",
      message: `${readyMembers} member(s) serving, member ${recognised} is master, ${agreeing} sentinel(s) agree`,
    });
  }

  const status: RedisReplicationStatus = {
    ...gen,
    ...(conditions ? { conditions } : {}),
    ...(allOnImage ? { engine: r.spec.engine ?? "redis", version: r.spec.version } : {}),
    ...(master === undefined ? {} : { master }),
    masterName: names.masterName(r),
    masterEndpoint: masterEndpoint(r),
    sentinelEndpoint: sentinelEndpoint(r),
    readyMembers,
    ready: `${readyMembers}/${desired}`,
    ...(obs
      ? { sentinelsAgreeing: agreeing }
      : base.sentinelsAgreeing === undefined
        ? {}
        : { sentinelsAgreeing: base.sentinelsAgreeing }),
    ...(members.length > 0 ? { members } : {}),
    ...(sentinels && sentinels.length > 0 ? { sentinels } : {}),
    ...(operation ? { operation } : {}),
    ...switchover(update.switchover, base.switchover),
    ...((update.config ?? base.config) ? { config: update.config ?? base.config } : {}),
    ...((update.lastRepair ?? base.lastRepair)
      ? { lastRepair: update.lastRepair ?? base.lastRepair }
      : {}),
  };
  return statusEqual(base, status) ? undefined : status;
}

function removing(m: Member): { removing?: true } {
  return m.removing ? { removing: true } : {};
}

function switchover(
  update: Switchover | null | undefined,
  base: Switchover | undefined,
): { switchover?: Switchover } {
  if (update === null) return {};
  const value = update ?? base;
  return value ? { switchover: value } : {};
}

/** Why there is no master, as the Degraded message says it. */
function masterless(decision: Exclude<MasterDecision, { kind: "master" }>): string {
  if (decision.kind === "promote")
    return `no master: the operator promotes member ${decision.id} (${decision.why})`;
  const why = decision.blockers.map(describeBlocker).join("; ");
  return `no master: ${why || "waiting"}`;
}

/** Whether a majority of `spec.sentinels` list every active replica as healthy. */
function failoverReady(
  obs: ReplicationObservation,
  master: number,
  active: readonly { id: number }[],
  needed: number,
): boolean {
  const replicas = active.map((m) => m.id).filter((id) => id !== master);
  return monitoring(obs).length - sentinelsMissingReplicas(obs, replicas).length >= needed;
}
