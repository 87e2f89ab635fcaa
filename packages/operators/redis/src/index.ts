/**
 * `@ballast/redis`: the first layer of the Redis operator. The kind
 * (`RedisReplication`), the Redis/Sentinel port with its real
 * implementation (`RedisAdmin`, on ioredis), and the pure plans that decide
 * which member is master, what to repair, and what a roll does next. The
 * controller, pods and descriptor do not exist yet (README.md says what
 * does).
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
export { type Blocker, describeBlocker } from "./plan/blockers.ts";
export { promotionCandidate } from "./plan/candidate.ts";
export { chooseMaster, type MasterDecision, type MasterOptions } from "./plan/master.ts";
export { type Repair, repairs } from "./plan/repairs.ts";
export { chooseNextRestart, type RestartDecision, restartedBlockers } from "./plan/restart.ts";
export { type ReplicationObservation, type SyncBound, syncState } from "./plan/state.ts";
