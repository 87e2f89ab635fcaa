/**
 * Redis's and Sentinel's replies, read into the port's reports. Pure, so
 * the shapes Redis 7.0 prints are pinned by unit tests; the real port's
 * test checks them against a live server.
 */
import type {
  ConnectedReplica,
  MemberReport,
  MonitoringSentinelReport,
  SentinelPeerView,
  SentinelReplicaView,
} from "./port.ts";

const noHistory = "0000000000000000000000000000000000000000";

/** `INFO` text → its `key:value` fields (section headers and blank lines dropped). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** `ip=10.0.0.5,port=6379,state=online,offset=1234,lag=0` → a replica; undefined when malformed. */
export function parseReplicaLine(value: string): ConnectedReplica | undefined {
  const f = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) f.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const host = f.get("ip");
  const port = int(f.get("port"));
  if (!host || port === undefined) return undefined;
  return {
    address: { host, port },
    state: f.get("state") ?? "",
    offset: int(f.get("offset")) ?? 0,
    lagSeconds: int(f.get("lag")) ?? 0,
  };
}

/**
 * The report of a member from its `INFO replication` and `INFO
 * persistence` fields. Throws when the fields are not a redis-server's (a
 * sentinel on that port, say): the caller turns that into an unreachable
 * report with the reason.
 */
export function memberReport(id: number, info: ReadonlyMap<string, string>): MemberReport {
  const role = info.get("role");
  const replicationId = info.get("master_replid") ?? "";
  const previous = info.get("master_replid2");
  const common = {
    id,
    reachable: true as const,
    replicationId,
    ...(previous && previous !== noHistory ? { previousReplicationId: previous } : {}),
    loading: info.get("loading") === "1",
  };
  if (role === "master") {
    const replicas: ConnectedReplica[] = [];
    const count = int(info.get("connected_slaves")) ?? 0;
    for (let i = 0; i < count; i++) {
      const replica = parseReplicaLine(info.get(`slave${i}`) ?? "");
      if (replica) replicas.push(replica);
    }
    return {
      ...common,
      role: "master",
      offset: int(info.get("master_repl_offset")) ?? 0,
      replicas,
    };
  }
  if (role === "slave") {
    const host = info.get("master_host");
    const port = int(info.get("master_port"));
    if (!host || port === undefined)
      throw new Error("INFO says role:slave without master_host/master_port");
    return {
      ...common,
      role: "replica",
      offset: int(info.get("slave_repl_offset")) ?? 0,
      following: { host, port },
      masterLinkStatus: info.get("master_link_status") === "up" ? "up" : "down",
      syncInProgress: info.get("master_sync_in_progress") === "1",
      priority: int(info.get("slave_priority")) ?? 100,
    };
  }
  throw new Error(`INFO has no role of a redis-server (role: ${role ?? "none"})`);
}

/** A RESP2 flat array `[k1, v1, k2, v2, …]` → its fields. */
export function pairs(reply: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  return fields;
}

function flags(value: string | undefined): string[] {
  return (value ?? "").split(",").filter((f) => f !== "");
}

function isDown(f: readonly string[]): boolean {
  return f.includes("s_down") || f.includes("o_down") || f.includes("disconnected");
}

export function sentinelReplica(fields: ReadonlyMap<string, string>): SentinelReplicaView {
  const f = flags(fields.get("flags"));
  return {
    address: { host: fields.get("ip") ?? "", port: int(fields.get("port")) ?? 0 },
    flags: f,
    down: isDown(f),
    masterLinkOk: fields.get("master-link-status") === "ok",
    offset: int(fields.get("slave-repl-offset")) ?? 0,
    priority: int(fields.get("slave-priority")) ?? 100,
  };
}

export function sentinelPeer(fields: ReadonlyMap<string, string>): SentinelPeerView {
  const f = flags(fields.get("flags"));
  return {
    address: { host: fields.get("ip") ?? "", port: int(fields.get("port")) ?? 0 },
    runId: fields.get("runid") ?? "",
    flags: f,
    down: isDown(f),
  };
}

/** The report of a sentinel monitoring a master, from its three SENTINEL replies. */
export function sentinelReport(
  id: number,
  master: ReadonlyMap<string, string>,
  replicas: readonly ReadonlyMap<string, string>[],
  sentinels: readonly ReadonlyMap<string, string>[],
): MonitoringSentinelReport {
  const f = flags(master.get("flags"));
  const state = master.get("failover-state");
  return {
    id,
    reachable: true,
    monitoring: true,
    master: { host: master.get("ip") ?? "", port: int(master.get("port")) ?? 0 },
    flags: f,
    subjectivelyDown: f.includes("s_down"),
    objectivelyDown: f.includes("o_down"),
    failoverInProgress: f.includes("failover_in_progress"),
    ...(state && state !== "none" ? { failoverState: state } : {}),
    configEpoch: int(master.get("config-epoch")) ?? 0,
    quorum: int(master.get("quorum")) ?? 0,
    replicas: replicas.map(sentinelReplica),
    sentinels: sentinels.map(sentinelPeer),
  };
}

function int(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return undefined;
  return Number(value);
}
