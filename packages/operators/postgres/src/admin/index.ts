/** Talking to PostgreSQL: the port the controller uses, its real implementation, and WAL positions. */
export { PostgresAdmin, type PostgresAdminOptions } from "./admin.ts";
export { compareLsnText, type LsnText, walLsnDiff } from "./lsn.ts";
export {
  type ArchiverStats,
  type ConnectedReplica,
  endpoint,
  type Failure,
  type FailureReason,
  type InstanceAddress,
  type InstanceReport,
  isSlotName,
  type PostgresPort,
  PostgresPortError,
  type PrimaryReport,
  type PromoteOptions,
  type Promotion,
  type ReplicaReport,
  type ReplicationSlot,
  type UnreachableReport,
  type WalReceiver,
} from "./port.ts";
export {
  formatSynchronousStandbyNames,
  quoteStandbyName,
  type SynchronousStandbys,
} from "./synchronous-standby-names.ts";
export {
  historyFileName,
  parseTimelineHistory,
  type TimelineSwitchText,
} from "./timeline-history.ts";
