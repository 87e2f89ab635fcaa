/**
 * The pure half of leader election: what a candidate may do, given the last
 * Lease record it saw and when it first saw it.
 *
 * Clock skew is why `observedAt` exists. Another candidate's `renewTime` was
 * written with *its* wall clock, which may run minutes ahead of ours; so, as
 * client-go does, a candidate never compares a remote timestamp with its own
 * clock. It measures a lease's age from the moment it, on its own monotonic
 * clock, first saw the current record. Every renewal changes the record (the
 * renew time always moves forward), so a live holder keeps resetting that
 * moment, and a dead one stops.
 */

/** The part of a Lease's spec that leader election reads and writes. */
export interface LeaseRecord {
  /** `""` when nobody holds the lease (never acquired, or released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** RFC 3339 MicroTime, or undefined when never set. */
  acquireTime: string | undefined;
  renewTime: string | undefined;
  leaseTransitions: number;
}

export interface Observation {
  record: LeaseRecord;
  /** Our monotonic clock (ms) when this exact record was first seen. */
  observedAt: number;
}

/** Now, on both clocks: `monotonic` for ages and deadlines, `wall` (epoch ms) for what we write. */
export interface Instant {
  monotonic: number;
  wall: number;
}

export interface Candidate {
  identity: string;
  /** Written into the record: how long others must wait after our last renewal. */
  leaseDurationSeconds: number;
}

export type Decision =
  /** No Lease exists: create it, held by us. */
  | { kind: "create"; record: LeaseRecord }
  /** Write this record (acquire a free or expired lease, or renew ours), guarded by resourceVersion. */
  | { kind: "write"; record: LeaseRecord; acquiring: boolean }
  /** Someone else holds a lease that has not expired. */
  | { kind: "wait"; holder: string; expiresAt: number };

/** Keeps the first-seen time while the record stays the same; restarts it when the record changes. */
export function observe(
  previous: Observation | undefined,
  record: LeaseRecord,
  monotonicNow: number,
): Observation {
  if (previous && sameRecord(previous.record, record)) return previous;
  return { record, observedAt: monotonicNow };
}

/** When the observed holder's lease expires, on our monotonic clock. */
export function expiresAt(observation: Observation): number {
  return observation.observedAt + observation.record.leaseDurationSeconds * 1000;
}

/** True while someone other than `identity` holds the lease and has not let it expire. */
export function heldByOther(
  observation: Observation,
  monotonicNow: number,
  identity: string,
): boolean {
  const holder = observation.record.holderIdentity;
  return holder !== "" && holder !== identity && monotonicNow < expiresAt(observation);
}

/**
 * What `self` may do now. `observation` is undefined when no Lease exists.
 * Never returns a write while another candidate holds an unexpired lease.
 */
export function decide(
  observation: Observation | undefined,
  now: Instant,
  self: Candidate,
): Decision {
  if (observation === undefined) {
    const time = microTime(now.wall);
    return {
      kind: "create",
      record: {
        holderIdentity: self.identity,
        leaseDurationSeconds: self.leaseDurationSeconds,
        acquireTime: time,
        renewTime: time,
        leaseTransitions: 0,
      },
    };
  }
  const previous = observation.record;
  if (heldByOther(observation, now.monotonic, self.identity)) {
    return { kind: "wait", holder: previous.holderIdentity, expiresAt: expiresAt(observation) };
  }
  const renewTime = microTime(laterThan(previous.renewTime, now.wall));
  const renewing = previous.holderIdentity === self.identity;
  return {
    kind: "write",
    acquiring: !renewing,
    record: {
      holderIdentity: self.identity,
      leaseDurationSeconds: self.leaseDurationSeconds,
      acquireTime: renewing ? (previous.acquireTime ?? renewTime) : renewTime,
      renewTime,
      leaseTransitions: renewing ? previous.leaseTransitions : previous.leaseTransitions + 1,
    },
  };
}

/**
 * The record that gives the lease up: nobody holds it, so a waiting
 * candidate takes it on its next try instead of after a lease duration.
 */
export function releasedRecord(previous: LeaseRecord, wallNow: number): LeaseRecord {
  return {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: previous.acquireTime,
    renewTime: microTime(laterThan(previous.renewTime, wallNow)),
    leaseTransitions: previous.leaseTransitions,
  };
}

/**
 * `wall`, or just after `previous` if our wall clock is behind it: a renewal
 * that rewrote the same renew time would leave the record unchanged, and
 * observers would keep aging the lease from an older sighting.
 */
function laterThan(previous: string | undefined, wall: number): number {
  const before = previous === undefined ? Number.NaN : Date.parse(previous);
  return Number.isFinite(before) && wall <= before ? before + 1 : wall;
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** Kubernetes' MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
