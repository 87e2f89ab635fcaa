/**
 * The ZooKeeper port: everything the operator asks of ZooKeeper itself,
 * behind one small interface, so plans and the act layer are tested with a
 * fake and the real implementation (`admin.ts`) against real servers.
 *
 * Two questions and one command:
 * - `report(member)`: what one member says of itself (AdminServer
 *   `monitor` + `zabstate` + `voting_view`): its role, whether it is in
 *   broadcast (synced with a leader and serving), its last zxid, and, from
 *   the leader, how many voting followers are synced;
 * - `reconfig(change)`: `reconfig -add` / `-remove` of one voter, as the
 *   ensemble's superuser (the only client allowed to change
 *   /zookeeper/config: ACLs are enforced), whose result is ALWAYS read
 *   back from the ensemble's configuration, never taken from the
 *   command's exit code (removing the leader reports ConnectionLoss
 *   although the change committed).
 */

/** A member as the port reaches it. */
export interface MemberAddress {
  id: number;
  /** Where its AdminServer listens (the pod IP). */
  host: string;
  /** The pod to run `zkCli.sh` in for a reconfig through this member. */
  pod: { namespace: string; name: string };
}

export type ServerState = "leader" | "follower" | "observer" | "looking" | "unknown";

export interface MemberReport {
  id: number;
  /** The AdminServer answered (the process is up). */
  reachable: boolean;
  state: ServerState;
  /** In Zab's broadcast phase: a leader with a quorum, or a follower synced with it. */
  broadcast: boolean;
  /** Last zxid this member has seen, hex (`0x2000000a1`). */
  zxid?: string;
  /** The leader only: voting followers currently synced (non-voting ones excluded). */
  syncedVotingFollowers?: number;
  /** The dynamic configuration this member serves: voter id → learner type. */
  config?: ReadonlyMap<number, "participant" | "observer">;
  /** Why it did not answer, when it did not. */
  error?: string;
}

export type ReconfigChange =
  | { kind: "add"; id: number /** `server.N=host:q:e:participant;client` */; line: string }
  | { kind: "remove"; id: number };

export interface ReconfigOutcome {
  /** Whether the ensemble's configuration, read back afterwards, shows the change. */
  applied: boolean;
  /** The configuration read back (voters), when some member answered. */
  voters?: readonly number[];
  /** What the command printed or threw, for events and logs. */
  detail: string;
}

/**
 * The superuser of the digest scheme: every server is started with the
 * digest of `super:<password>` (`superDigest`), and a client that sends
 * `addauth digest super:<password>` may do anything, reconfig included.
 */
export interface SuperUser {
  password: string;
}

export interface ZooKeeperPort {
  report(member: MemberAddress): Promise<MemberReport>;
  /**
   * Carries out `change` through `via` (a serving member) as `superUser`,
   * then reads the configuration back from `readBack` (every member that
   * may answer).
   */
  reconfig(
    via: MemberAddress,
    change: ReconfigChange,
    readBack: readonly MemberAddress[],
    superUser: SuperUser,
  ): Promise<ReconfigOutcome>;
}

/** Whether `voters` shows `change` as done. */
export function changeApplied(change: ReconfigChange, voters: readonly number[]): boolean {
  return change.kind === "add" ? voters.includes(change.id) : !voters.includes(change.id);
}
