/**
 * leader: Lease-based leader election, so only one replica of an operator
 * reconciles at a time, and a replica that cannot renew stops before
 * another may start.
 */
export {
  type Candidate,
  type Decision,
  decide,
  expiresAt,
  heldByOther,
  type Instant,
  type LeaseRecord,
  type Observation,
  observe,
  releasedRecord,
} from "./decide.ts";
export {
  type ElectionClock,
  type LeaderCallbacks,
  LeaderElectionConfigError,
  type LeaderElectionOptions,
  LeaderElector,
  type LeaderGauge,
  LeadershipLostError,
  type LeaseClient,
  type LeaseObject,
  systemElectionClock,
} from "./elector.ts";
