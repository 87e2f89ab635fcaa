/**
 * `@ballast/redis`: the Redis operator. `redis` is its descriptor (what
 * `runOperator` runs, and what the CLI and chart generator will read once
 * it is registered); the kind (`RedisReplication`), the Redis/Sentinel
 * port with its real implementation (`RedisAdmin`, on ioredis), and the
 * pure plans that decide which member is master, what to repair, and what
 * a roll does next are exported for tools and tests.
 */
export {
  type MemberAddress,
  type MemberReport,
  RedisAdmin,
  type RedisAdminOptions,
  type RedisPort,
  RedisPortError,
  type SentinelAddress,
  type SentinelReport,
} from "./admin/index.ts";
export {
  group,
  ownedConfigKeys,
  type RedisReplication as RedisReplicationObject,
  RedisReplication,
  type RedisReplicationStatus,
  version,
} from "./api.ts";
export { crds, type RedisBuildOptions, redis } from "./operator.ts";
export { type Blocker, describeBlocker } from "./plan/blockers.ts";
export { promotionCandidate } from "./plan/candidate.ts";
export { chooseMaster, type MasterDecision, type MasterOptions } from "./plan/master.ts";
export { type Repair, repairs } from "./plan/repairs.ts";
export { chooseNextRestart, type RestartDecision, restartedBlockers } from "./plan/restart.ts";
export { type ReplicationObservation, type SyncBound, syncState } from "./plan/state.ts";
export { annotations, labels, servingGate } from "./resources.ts";
