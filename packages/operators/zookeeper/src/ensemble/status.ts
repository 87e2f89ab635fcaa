/**
 * The ZooKeeperEnsemble's `.status`, computed from what was observed: pure,
 * and `undefined` when it would say what it already says (no write then).
 *
 * Ready: every member serves, and the voters are exactly the members.
 * Progressing: an operation is under way (its `waitingFor` is the message).
 * Degraded: the spec or its Secret cannot be acted on, or the ensemble lost its quorum
 * after having had one — then the operator brings the members back with
 * their ids and data and changes nothing else, and the message says so.
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
import type { ZooKeeperEnsemble, ZooKeeperEnsembleStatus } from "../api.ts";
import { type EnsembleObservation, majority, serving } from "../plan/state.ts";
import { connectString, image, names } from "../resources.ts";

/** What one step of a reconcile asks the status to say, beside what was observed. */
export interface StatusUpdate {
  members?: readonly Member[];
  /** null clears the operation. */
  operation?: Operation | null;
  waiting?: string;
  /** Something the user must fix (Degraded, before quorum), e.g. a Secret without its key. */
  degraded?: { reason: string; message: string };
}

export interface StatusInputs {
  pods: ReadonlyMap<number, PodLike>;
  observation: EnsembleObservation | undefined;
  update: StatusUpdate;
  now: Date;
}

export function buildStatus(
  e: ZooKeeperEnsemble,
  inputs: StatusInputs,
): ZooKeeperEnsembleStatus | undefined {
  const base = e.status ?? {};
  const { update, observation: obs, pods, now } = inputs;
  const recordedMembers = new Map((base.members ?? []).map((m) => [m.id, m]));
  const list: readonly Member[] =
    update.members ??
    (base.members ?? []).map((m) => ({ id: m.id, ...(m.removing ? { removing: true } : {}) }));
  const members = list.map((m) => {
    const report = obs?.reports.get(m.id);
    const before = recordedMembers.get(m.id);
    // Without an observation this reconcile, what was last observed stands.
    const voter = obs?.voters ? obs.voters.includes(m.id) : (before?.voter ?? false);
    const zxid = report?.zxid ?? before?.zxid;
    return {
      id: m.id,
      pod: names.pod(e, m.id),
      role: obs ? (report?.reachable ? report.state : "") : (before?.role ?? ""),
      ready: obs ? serving(report) : (before?.ready ?? false),
      ...(zxid ? { zxid } : {}),
      voter,
      ...(m.removing ? { removing: true } : {}),
    };
  });
  const readyMembers = members.filter((m) => m.ready && !m.removing).length;
  const operation = nextOperation(update.operation, base.operation);
  const allOnImage =
    members.length > 0 &&
    members.every((m) => pods.get(m.id)?.spec?.containers?.[0]?.image === image(e));
  const generation = e.metadata.generation;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  const leader = obs ? obs.leader : base.leader;
  const hadQuorum = base.leader !== undefined || (base.members ?? []).some((m) => m.voter);
  const quorumLost = obs !== undefined && obs.leader === undefined && hadQuorum;

  let conditions = base.conditions;
  const set = (u: ConditionUpdate) => {
    conditions = setCondition(conditions, { ...u, ...gen }, now);
  };

  if (update.degraded) {
    set({ type: "Degraded", status: "True", ...update.degraded });
  } else if (quorumLost) {
    const voters = members.filter((m) => m.voter);
    const up = voters.filter((m) => obs?.reports.get(m.id)?.reachable).map((m) => m.id);
    set({
      type: "Degraded",
      status: "True",
      reason: "QuorumLost",
      message: `no quorum: ${up.length} of ${voters.length} voters answer (${majority(voters.length)} needed); members are brought back with their ids and data, the membership is not rewritten`,
    });
  } else {
    set({
      type: "Degraded",
      status: "False",
      reason: "AsExpected",
      message: "the ensemble has a quorum",
    });
  }

  set(progressingCondition(operation));

  const active = members.filter((m) => !m.removing);
  const notReady = active.filter((m) => !m.ready).map((m) => m.id);
  // A pod that cannot start says why (an unknown version's image, a crash loop): the fix is the user's.
  const stuck = startProblems(notReady, pods, (id) => `member ${id}`);
  const nonVoters = active.filter((m) => !m.voter).map((m) => m.id);
  if (update.waiting || notReady.length > 0) {
    set({
      type: "Ready",
      status: "False",
      reason: quorumLost
        ? "QuorumLost"
        : stuck.length > 0
          ? "PodsNotStarting"
          : "MembersNotServing",
      message:
        update.waiting ?? [`members ${notReady.join(", ")} are not serving`, ...stuck].join("; "),
    });
  } else if (nonVoters.length > 0) {
    set({
      type: "Ready",
      status: "False",
      reason: "NotVoters",
      message: `members ${nonVoters.join(", ")} are not voters yet`,
    });
  } else if (active.length > 0) {
    set({
      type: "Ready",
      status: "True",
      reason: "AllMembersServing",
      message: `${readyMembers} member(s) serving, led by member ${leader}`,
    });
  }

  const status: ZooKeeperEnsembleStatus = {
    ...gen,
    ...(conditions ? { conditions } : {}),
    ...(allOnImage ? { version: e.spec.version } : {}),
    readyMembers,
    ready: `${readyMembers}/${e.spec.replicas}`,
    ...(leader !== undefined ? { leader } : {}),
    connectString: connectString(e),
    ...(members.length > 0 ? { members } : {}),
    ...(operation ? { operation } : {}),
  };
  return statusEqual(base, status) ? undefined : status;
}
