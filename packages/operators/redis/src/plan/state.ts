/**
 * What the plans read of a replication set: every member and sentinel the
 * set has (by id, with the address it announces) and what each reported
 * through the Redis port, if it answered. Pure data, so the plans are
 * tested over generated states.
 *
 * Members and sentinels are told apart from strangers by address: a
 * replica's `master_host:master_port`, a master's replica list and a
 * sentinel's views all name addresses, which `memberAt` maps back to ids.
 * This works because every member announces one stable address (a DNS name
 * in the operator's pods), so a restarted pod with a new IP is the same
 * member.
 */
import {
  endpoint,
  type MasterReport,
  type MemberReport,
  type MonitoringSentinelReport,
  type RedisAddress,
  type ReplicaReport,
  type SentinelReport,
} from "../admin/port.ts";

export interface Observed<R> {
  id: number;
  /** The address it announces, and the port reaches it at. */
  address: RedisAddress;
  /** Undefined when it was not asked (no pod, no address yet): treated as not answering. */
  report?: R;
  /**
   * How long the operator has seen it not answer, in ms, when it does not
   * (recorded by the act layer; undefined: just now, or unknown).
   */
  unreachableForMs?: number;
}

export interface ReplicationObservation {
  /** Every redis-server of the set, the master among them. */
  members: readonly Observed<MemberReport>[];
  sentinels: readonly Observed<SentinelReport>[];
  /** `spec.sentinels`: majorities are of the sentinels there should be, not of those answering. */
  expectedSentinels: number;
  /** The member the operator last saw as the one master (from status), if any. */
  lastMaster?: number;
}

/**
 * When a replica counts as in sync with its master: the roll restarts the
 * next member, and a replica may be promoted, only within this bound.
 */
export interface SyncBound {
  /**
   * Bytes of replication stream the replica may be behind the master. The
   * default is Redis's default `repl-backlog-size`: a replica within it
   * resumes with a partial resync if its link drops. @default 1048576
   */
  maxOffsetLag: number;
  /**
   * Seconds since the replica's last acknowledgement, as the master lists
   * it (replicas acknowledge every second). @default 2
   */
  maxLagSeconds: number;
}

export const defaultSyncBound: SyncBound = { maxOffsetLag: 1_048_576, maxLagSeconds: 2 };

/** The member announcing `address`, if any. */
export function memberAt(obs: ReplicationObservation, address: RedisAddress): number | undefined {
  const key = endpoint(address);
  return obs.members.find((m) => endpoint(m.address) === key)?.id;
}

export function memberOf(
  obs: ReplicationObservation,
  id: number,
): Observed<MemberReport> | undefined {
  return obs.members.find((m) => m.id === id);
}

export function masterReport(obs: ReplicationObservation, id: number): MasterReport | undefined {
  const r = memberOf(obs, id)?.report;
  return r?.role === "master" ? r : undefined;
}

export function replicaReport(obs: ReplicationObservation, id: number): ReplicaReport | undefined {
  const r = memberOf(obs, id)?.report;
  return r?.role === "replica" ? r : undefined;
}

/** Members that answer and say they are a master. */
export function claimants(obs: ReplicationObservation): number[] {
  return obs.members.filter((m) => m.report?.role === "master").map((m) => m.id);
}

/** Sentinels that answer and monitor the set's master name. */
export function monitoring(obs: ReplicationObservation): MonitoringSentinelReport[] {
  return obs.sentinels.flatMap((s) => (s.report?.monitoring ? [s.report] : []));
}

/** The majority of `n` sentinels. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Why a replica does not count as in sync with the master. */
export type NotInSync =
  | "down"
  | "not-a-replica"
  | "following-another"
  | "link-down"
  | "syncing"
  | "loading"
  | "not-listed"
  | "lagging";

/**
 * Whether member `id` is in sync with master `masterId` within `bound`,
 * or why not. The two reports are read a moment apart, so a replica may
 * look ahead of the master: that is in sync.
 */
export function syncState(
  obs: ReplicationObservation,
  id: number,
  masterId: number,
  bound: SyncBound = defaultSyncBound,
): { inSync: true; offset: number } | { inSync: false; why: NotInSync } {
  const member = memberOf(obs, id);
  const master = masterReport(obs, masterId);
  const r = member?.report;
  if (!member || !r?.reachable) return { inSync: false, why: "down" };
  if (r.role !== "replica") return { inSync: false, why: "not-a-replica" };
  const masterAddress = memberOf(obs, masterId)?.address;
  if (!master || !masterAddress || endpoint(r.following) !== endpoint(masterAddress)) {
    return { inSync: false, why: "following-another" };
  }
  if (r.loading) return { inSync: false, why: "loading" };
  if (r.syncInProgress) return { inSync: false, why: "syncing" };
  if (r.masterLinkStatus !== "up") return { inSync: false, why: "link-down" };
  const listed = master.replicas.find((c) => endpoint(c.address) === endpoint(member.address));
  if (listed?.state !== "online") return { inSync: false, why: "not-listed" };
  if (master.offset - r.offset > bound.maxOffsetLag || listed.lagSeconds > bound.maxLagSeconds) {
    return { inSync: false, why: "lagging" };
  }
  return { inSync: true, offset: r.offset };
}
