/**
 * The Redis port: everything the operator asks of Redis and Sentinel,
 * behind one small interface, so the plans and (later) the act layer are
 * tested with a fake and the real implementation (`admin.ts`) against real
 * `redis-server` processes.
 *
 * Two questions:
 * - `report(member)`: what one redis-server says of itself (`INFO
 *   replication` + `INFO persistence`): its role, its replication offset
 *   and history id, the master it follows and whether the link is up (a
 *   replica), the replicas connected to it with their offsets and lag (a
 *   master);
 * - `sentinelReport(sentinel, masterName)`: what one sentinel believes
 *   (`SENTINEL MASTER` / `REPLICAS` / `SENTINELS`): the master's address, its
 *   flags (subjectively/objectively down, failover in progress), the
 *   replicas and the other sentinels it knows.
 *
 * And the commands the plans' actions need: `replicaOf`, `configSet`,
 * `pauseWrites`/`resumeWrites` (around a controlled failover), and
 * `waitForReplicas`; on a sentinel `sentinelFailover`, `sentinelMonitor`
 * and `sentinelReset`.
 *
 * One kept connection: `subscribe`, to a sentinel's event channels
 * (`+promoted-slave`, `+switch-master`, …), which only tells the operator
 * WHEN to look again; what it decides always comes from the reports.
 *
 * Every connection authenticates (`AUTH`) with the password given to the
 * port. A password never appears in a report, an error message or an
 * error's properties.
 */

/** Where a redis-server or a sentinel is reached, and how it announces itself. */
export interface RedisAddress {
  /** A stable DNS name in the operator's pods; 127.0.0.1 in the port's own test. */
  host: string;
  port: number;
}

/** A redis-server of the set. */
export interface MemberAddress extends RedisAddress {
  id: number;
}

/** A sentinel of the set. */
export interface SentinelAddress extends RedisAddress {
  id: number;
}

/** Why the port got no answer. */
export type FailureReason =
  /** Nothing accepted the connection (refused, unresolvable, closed). */
  | "unreachable"
  /** The connection or a command took longer than the port's timeout. */
  | "timeout"
  /** `AUTH` was refused: the password (or user) is not the one the server has. */
  | "auth"
  /** The server answered with an error (e.g. `NOGOODSLAVE`), or with something unexpected. */
  | "error";

export interface Failure {
  reason: FailureReason;
  /** What went wrong, with the address; never a password. */
  message: string;
}

/** A replica as its master lists it (`slaveN:ip=…,port=…,state=…,offset=…,lag=…`). */
export interface ConnectedReplica {
  /** The address the replica announced (`replica-announce-ip`/`-port`), else its IP and port. */
  address: RedisAddress;
  /** `online` once the initial sync is done; `wait_bgsave`, `send_bulk` before. */
  state: string;
  /** The replication offset the replica last acknowledged. */
  offset: number;
  /** Seconds since the replica's last acknowledgement (it acknowledges every second). */
  lagSeconds: number;
}

interface Answered {
  id: number;
  reachable: true;
  /** `master_repl_offset` on a master, `slave_repl_offset` on a replica. */
  offset: number;
  /** `master_replid`: the id of the replication history this member is in. */
  replicationId: string;
  /**
   * `master_replid2`: the history this member came from when it was
   * promoted (a replica that became master keeps serving partial resyncs of
   * its old master's history up to `second_repl_offset`). Undefined when none.
   */
  previousReplicationId?: string;
  /** Loading its dataset from disk (it answers INFO but serves no reads yet). */
  loading: boolean;
}

export interface MasterReport extends Answered {
  role: "master";
  /** Replicas connected to it, in the order it lists them. */
  replicas: readonly ConnectedReplica[];
}

export interface ReplicaReport extends Answered {
  role: "replica";
  /** `master_host`:`master_port`: the master it is told to follow (whether or not the link is up). */
  following: RedisAddress;
  /** `master_link_status`. */
  masterLinkStatus: "up" | "down";
  /** `master_sync_in_progress`: a full resync is being received. */
  syncInProgress: boolean;
  /** `slave_priority`: Sentinel promotes the lowest non-zero value first; 0 never. */
  priority: number;
}

export interface UnreachableReport {
  id: number;
  reachable: false;
  role: "unknown";
  error: Failure;
}

export type MemberReport = MasterReport | ReplicaReport | UnreachableReport;

/** A replica as a sentinel knows it (`SENTINEL REPLICAS`). */
export interface SentinelReplicaView {
  address: RedisAddress;
  /** Raw flags, e.g. `slave`, `s_down,slave`, `slave,disconnected`. */
  flags: readonly string[];
  /** Flagged `s_down`, `o_down` or `disconnected`: Sentinel will not promote it. */
  down: boolean;
  /** `master-link-status` as the replica last reported it to the sentinel. */
  masterLinkOk: boolean;
  /** `slave-repl-offset` as last seen by the sentinel (refreshed every 10 s, every 1 s during a failover). */
  offset: number;
  /** `slave-priority` as last seen by the sentinel. */
  priority: number;
}

/** Another sentinel as this one knows it (`SENTINEL SENTINELS`). */
export interface SentinelPeerView {
  address: RedisAddress;
  runId: string;
  flags: readonly string[];
  /** Flagged `s_down` or `disconnected`. */
  down: boolean;
}

export interface MonitoringSentinelReport {
  id: number;
  reachable: true;
  monitoring: true;
  /** The master's address as this sentinel believes it (`SENTINEL MASTER`'s ip and port). */
  master: RedisAddress;
  /** Raw flags of the master, e.g. `master`, `s_down,master`, `master,failover_in_progress`. */
  flags: readonly string[];
  subjectivelyDown: boolean;
  objectivelyDown: boolean;
  failoverInProgress: boolean;
  /** `failover-state` while a failover runs, e.g. `wait_promotion`. */
  failoverState?: string;
  /** The epoch of the configuration it holds: each failover increments it. */
  configEpoch: number;
  quorum: number;
  replicas: readonly SentinelReplicaView[];
  /** The OTHER sentinels it knows (not itself). */
  sentinels: readonly SentinelPeerView[];
}

/** A sentinel that answers but does not monitor the master name (fresh, or removed). */
export interface IdleSentinelReport {
  id: number;
  reachable: true;
  monitoring: false;
}

export interface UnreachableSentinelReport {
  id: number;
  reachable: false;
  monitoring: false;
  error: Failure;
}

export type SentinelReport =
  | MonitoringSentinelReport
  | IdleSentinelReport
  | UnreachableSentinelReport;

/** What a sentinel is told when it starts monitoring a master. */
export interface MonitorSettings {
  /** Sentinels that must agree the master is down before a failover. */
  quorum: number;
  /** @default 5000 */
  downAfterMilliseconds?: number;
  /** @default 60000 */
  failoverTimeoutMilliseconds?: number;
  /** Replicas reconfigured at once after a failover. @default 1 */
  parallelSyncs?: number;
}

export interface ReplicaAcknowledgement {
  /** The master's `master_repl_offset` when asked: what the replicas had to reach. */
  offset: number;
  /** Replicas that acknowledged `offset` before the timeout. */
  acknowledged: number;
}

/** A kept subscription to a sentinel's event channels. */
export interface SentinelSubscription {
  /** Resolves once the connection is gone (closed here, by the sentinel, or broken); never rejects. */
  readonly ended: Promise<void>;
  close(): void;
}

export interface RedisPort {
  /** Never throws: an unreachable member is a report with the reason. */
  report(member: MemberAddress): Promise<MemberReport>;
  /** Never throws: an unreachable sentinel is a report with the reason. */
  sentinelReport(sentinel: SentinelAddress, masterName: string): Promise<SentinelReport>;

  /** `REPLICAOF host port`, or `REPLICAOF NO ONE` to make `member` a master. */
  replicaOf(member: MemberAddress, master: RedisAddress | "no one"): Promise<void>;
  /** `CONFIG SET key value`: a dynamic setting, applied without a restart. */
  configSet(member: MemberAddress, key: string, value: string): Promise<void>;
  /**
   * One `CONFIG SET k1 v1 k2 v2 …`: Redis 7 applies all of them or, when it
   * refuses one (an unknown or immutable key, a bad value), none; the
   * error's message is Redis's, naming the key.
   */
  configSetAll(
    member: MemberAddress,
    settings: readonly (readonly [string, string])[],
  ): Promise<void>;
  /** `CONFIG GET` of each key: the values as Redis reports them (a key it does not know is absent). */
  configGet(member: MemberAddress, keys: readonly string[]): Promise<Record<string, string>>;
  /** `INFO memory`'s `used_memory`, in bytes. */
  usedMemory(member: MemberAddress): Promise<number>;
  /**
   * `CLIENT PAUSE ms WRITE`: writes (and the replication stream) stop for
   * at most `ms`; reads go on. Writes sent meanwhile wait and run when the
   * pause ends, refused with READONLY if the member was demoted by then.
   * Keep `ms` below the sentinels' down-after-milliseconds: the pause also
   * holds each sentinel's hello PUBLISH on this member, and the PINGs
   * queued behind it.
   */
  pauseWrites(member: MemberAddress, ms: number): Promise<void>;
  /** `CLIENT UNPAUSE`. */
  resumeWrites(member: MemberAddress): Promise<void>;
  /**
   * Waits until `replicas` replicas have acknowledged everything the master
   * `member` had accepted when asked, or `timeoutMs` passed. Resolves with
   * how many did (fewer than asked on timeout); throws when `member` is not
   * a master.
   */
  waitForReplicas(
    member: MemberAddress,
    replicas: number,
    timeoutMs: number,
  ): Promise<ReplicaAcknowledgement>;

  /**
   * `SUBSCRIBE channels…` on a connection kept open: each message a
   * sentinel publishes on one of them (Sentinel publishes every event it
   * logs, on the event's name) calls `onEvent`. Resolves once subscribed;
   * rejects with a RedisPortError when it cannot connect or authenticate.
   * Nothing reconnects: a subscription that ended is made again by the caller.
   */
  subscribe(
    sentinel: SentinelAddress,
    channels: readonly string[],
    onEvent: (channel: string, message: string) => void,
  ): Promise<SentinelSubscription>;
  /** `SENTINEL FAILOVER`: this sentinel promotes a replica it knows, without asking the others. */
  sentinelFailover(sentinel: SentinelAddress, masterName: string): Promise<void>;
  /**
   * Makes `sentinel` monitor `master` under `masterName`, with the port's
   * password as `auth-pass`; replaces any monitor of that name it had
   * (forgetting its replicas and peers, rediscovered within seconds).
   */
  sentinelMonitor(
    sentinel: SentinelAddress,
    masterName: string,
    master: RedisAddress,
    settings: MonitorSettings,
  ): Promise<void>;
  /**
   * `SENTINEL RESET`: the sentinel forgets the replicas and sentinels it
   * knows of `masterName` and rediscovers those that exist (replicas from
   * the master's INFO within 10 s, sentinels from hello messages within 2 s).
   */
  sentinelReset(sentinel: SentinelAddress, masterName: string): Promise<void>;
}

/**
 * A failed command: its reason and a message that names the address and
 * never a password. It keeps no `cause`: the client library's errors carry
 * the command's arguments, AUTH's password among them.
 */
export class RedisPortError extends Error {
  override readonly name = "RedisPortError";
  readonly reason: FailureReason;
  readonly address: string;

  constructor(reason: FailureReason, address: string, message: string) {
    super(message);
    this.reason = reason;
    this.address = address;
  }
}

/** `host:port`, lower-cased, `[v6]:port` for IPv6: how addresses are compared. */
export function endpoint(address: RedisAddress): string {
  const host = address.host.toLowerCase();
  return host.includes(":") ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

export function sameAddress(a: RedisAddress, b: RedisAddress): boolean {
  return endpoint(a) === endpoint(b);
}
