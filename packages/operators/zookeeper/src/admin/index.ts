/** Talking to ZooKeeper: the port the controller uses and its real implementation. */
export { type CommandRunner, ZooKeeperAdmin, type ZooKeeperAdminOptions } from "./admin.ts";
export { superDigest } from "./digest.ts";
export { execRunner } from "./exec-runner.ts";
export {
  changeApplied,
  type MemberAddress,
  type MemberReport,
  type ReconfigChange,
  type ReconfigOutcome,
  type ServerState,
  type SuperUser,
  type ZooKeeperPort,
} from "./port.ts";
