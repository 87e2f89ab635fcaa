/**
 * The real Redis port, on npm `ioredis`.
 *
 * One short-lived connection per call: connect, `AUTH`, the command(s),
 * disconnect. The operator asks Redis something a few times per reconcile,
 * not in a loop, so a pool would save little and cost much: a pooled
 * connection outlives a failover (Sentinel kills normal clients on the
 * members it reconfigures), keeps a pod IP that a restart has changed
 * behind the same hostname, and reconnects on its own. Here nothing
 * reconnects (`retryStrategy` returns null), nothing queues while offline
 * (`enableOfflineQueue: false`), and connect and every command are bounded
 * by short timeouts, so an unreachable member costs one timeout, not a storm.
 *
 * `AUTH` is sent by this module as the first command rather than through
 * ioredis's `password` option: ioredis reports a refused password as
 * "Stream isn't writeable" on the next command (the reason only goes to an
 * `error` event), where an explicit `AUTH` fails with Redis's own
 * `WRONGPASS` and is told apart as `reason: "auth"`.
 */
import type { Redis } from "ioredis";
import { memberReport, pairs, parseInfo, sentinelReport } from "./_parse.ts";
import {
  endpoint,
  type Failure,
  type MemberAddress,
  type MemberReport,
  type MonitorSettings,
  type RedisAddress,
  type RedisPort,
  RedisPortError,
  type ReplicaAcknowledgement,
  type SentinelAddress,
  type SentinelReport,
  type SentinelSubscription,
} from "./port.ts";
import { errorText, Sessions, type SessionTarget } from "./session.ts";

export interface RedisAdminOptions {
  /** The password every redis-server requires (`requirepass`) and replicas use (`masterauth`). */
  password: string;
  /** The ACL user to authenticate as. @default "default" (`AUTH password`) */
  username?: string;
  /**
   * The password sentinels require (their `requirepass`); an empty string
   * sends no `AUTH` to sentinels. @default password
   */
  sentinelPassword?: string;
  /** @default 2000 */
  connectTimeoutMs?: number;
  /** How long one command may take. @default 3000 */
  commandTimeoutMs?: number;
  /** How often `waitForReplicas` reads the master's replica offsets. @default 100 */
  pollIntervalMs?: number;
}

type Target = SessionTarget;

export class RedisAdmin implements RedisPort {
  readonly #options: RedisAdminOptions;
  readonly #sessions: Sessions;

  constructor(options: RedisAdminOptions) {
    this.#options = options;
    this.#sessions = new Sessions([options.password, options.sentinelPassword ?? ""], options);
  }

  #member(m: MemberAddress): Target {
    return { address: m, password: this.#options.password, what: `member ${m.id}` };
  }

  #sentinel(s: SentinelAddress): Target {
    const password = this.#options.sentinelPassword ?? this.#options.password;
    return { address: s, password, what: `sentinel ${s.id}` };
  }

  #session<T>(
    target: SessionTarget,
    command: string,
    work: (conn: Redis) => Promise<T>,
    secret?: string,
  ): Promise<T> {
    return this.#sessions.run(target, command, work, secret);
  }

  #failure(err: unknown): Failure {
    return this.#sessions.failure(err);
  }

  async report(member: MemberAddress): Promise<MemberReport> {
    try {
      return await this.#session(this.#member(member), "INFO", async (conn) => {
        const info = await conn.call("INFO", ["replication", "persistence"]);
        return memberReport(member.id, parseInfo(String(info)));
      });
    } catch (err) {
      return { id: member.id, reachable: false, role: "unknown", error: this.#failure(err) };
    }
  }

  async sentinelReport(sentinel: SentinelAddress, masterName: string): Promise<SentinelReport> {
    try {
      return await this.#session(this.#sentinel(sentinel), "SENTINEL MASTER", async (conn) => {
        let master: unknown;
        try {
          master = await conn.call("SENTINEL", ["MASTER", masterName]);
        } catch (err) {
          if (/no such master/i.test(errorText(err))) {
            return { id: sentinel.id, reachable: true as const, monitoring: false as const };
          }
          throw err;
        }
        const [replicas, peers] = await Promise.all([
          conn.call("SENTINEL", ["REPLICAS", masterName]),
          conn.call("SENTINEL", ["SENTINELS", masterName]),
        ]);
        return sentinelReport(sentinel.id, pairs(master), list(replicas), list(peers));
      });
    } catch (err) {
      return { id: sentinel.id, reachable: false, monitoring: false, error: this.#failure(err) };
    }
  }

  async replicaOf(member: MemberAddress, master: RedisAddress | "no one"): Promise<void> {
    const args = master === "no one" ? ["NO", "ONE"] : [master.host, String(master.port)];
    await this.#session(this.#member(member), `REPLICAOF ${args.join(" ")}`, (conn) =>
      conn.call("REPLICAOF", args),
    );
  }

  async configSet(member: MemberAddress, key: string, value: string): Promise<void> {
    const secret = /pass|auth/i.test(key) && value ? value : undefined;
    await this.#session(
      this.#member(member),
      `CONFIG SET ${key}`,
      (conn) => conn.call("CONFIG", ["SET", key, value]),
      secret,
    );
  }

  async configSetAll(
    member: MemberAddress,
    settings: readonly (readonly [string, string])[],
  ): Promise<void> {
    if (settings.length === 0) return;
    const secrets = settings.filter(([k, v]) => /pass|auth/i.test(k) && v).map(([, v]) => v);
    const keys = settings.map(([k]) => k).join(" ");
    await this.#session(
      this.#member(member),
      `CONFIG SET ${keys}`,
      (conn) => conn.call("CONFIG", ["SET", ...settings.flat()]),
      secrets[0],
    );
  }

  async configGet(member: MemberAddress, keys: readonly string[]): Promise<Record<string, string>> {
    if (keys.length === 0) return {};
    return this.#session(this.#member(member), `CONFIG GET ${keys.join(" ")}`, async (conn) => {
      const reply = await conn.call("CONFIG", ["GET", ...keys]);
      const out: Record<string, string> = {};
      const flat = Array.isArray(reply) ? reply.map(String) : [];
      for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] ?? ""] = flat[i + 1] ?? "";
      // Redis names a key as it was asked (an alias stays an alias); only what was asked is returned.
      return Object.fromEntries(keys.filter((k) => k in out).map((k) => [k, out[k] ?? ""]));
    });
  }

  async usedMemory(member: MemberAddress): Promise<number> {
    return this.#session(this.#member(member), "INFO memory", async (conn) => {
      const info = parseInfo(String(await conn.call("INFO", ["memory"])));
      const used = Number(info.get("used_memory"));
      if (!Number.isFinite(used)) throw new Error("INFO memory has no used_memory");
      return used;
    });
  }

  async pauseWrites(member: MemberAddress, ms: number): Promise<void> {
    await this.#session(this.#member(member), `CLIENT PAUSE ${ms} WRITE`, (conn) =>
      conn.call("CLIENT", ["PAUSE", String(Math.max(1, Math.round(ms))), "WRITE"]),
    );
  }

  async resumeWrites(member: MemberAddress): Promise<void> {
    await this.#session(this.#member(member), "CLIENT UNPAUSE", (conn) =>
      conn.call("CLIENT", ["UNPAUSE"]),
    );
  }

  async waitForReplicas(
    member: MemberAddress,
    replicas: number,
    timeoutMs: number,
  ): Promise<ReplicaAcknowledgement> {
    const interval = this.#options.pollIntervalMs ?? 100;
    return this.#session(
      this.#member(member),
      "waitForReplicas (INFO replication)",
      async (conn) => {
        const read = async () =>
          memberReport(member.id, parseInfo(String(await conn.call("INFO", ["replication"]))));
        const first = await read();
        if (first.role !== "master") {
          throw new RedisPortError(
            "error",
            endpoint(member),
            `waitForReplicas on member ${member.id} (${endpoint(member)}): it is a ${first.role}, not a master`,
          );
        }
        // Replicas acknowledge their offset every second; the master lists the last one.
        const target = first.offset;
        const deadline = Date.now() + timeoutMs;
        let acknowledged = 0;
        for (let report: MemberReport = first; ; report = await read()) {
          acknowledged =
            report.role === "master"
              ? report.replicas.filter((r) => r.state === "online" && r.offset >= target).length
              : 0;
          if (acknowledged >= replicas || Date.now() >= deadline) break;
          await new Promise((r) =>
            setTimeout(r, Math.min(interval, Math.max(1, deadline - Date.now()))),
          );
        }
        return { offset: target, acknowledged };
      },
    );
  }

  async subscribe(
    sentinel: SentinelAddress,
    channels: readonly string[],
    onEvent: (channel: string, message: string) => void,
  ): Promise<SentinelSubscription> {
    const command = `SUBSCRIBE ${channels.join(" ")}`;
    const session = await this.#sessions.open(this.#sentinel(sentinel), command);
    try {
      // Wrapped: an async function returning the bare promise would wait for the end.
      const { ended } = await session.do(command, async (conn) => {
        const gone = new Promise<void>((resolve) => conn.once("end", () => resolve()));
        conn.on("message", (channel: string, message: string) => onEvent(channel, message));
        await conn.subscribe(...channels);
        return { ended: gone };
      });
      return { ended, close: () => session.close() };
    } catch (err) {
      session.close();
      throw err;
    }
  }

  async sentinelFailover(sentinel: SentinelAddress, masterName: string): Promise<void> {
    await this.#session(this.#sentinel(sentinel), `SENTINEL FAILOVER ${masterName}`, (conn) =>
      conn.call("SENTINEL", ["FAILOVER", masterName]),
    );
  }

  async sentinelMonitor(
    sentinel: SentinelAddress,
    masterName: string,
    master: RedisAddress,
    settings: MonitorSettings,
  ): Promise<void> {
    const set: string[] = [
      "down-after-milliseconds",
      String(settings.downAfterMilliseconds ?? 5000),
      "failover-timeout",
      String(settings.failoverTimeoutMilliseconds ?? 60_000),
      "parallel-syncs",
      String(settings.parallelSyncs ?? 1),
    ];
    if (this.#options.password) set.push("auth-pass", this.#options.password);
    if (this.#options.username) set.push("auth-user", this.#options.username);
    await this.#session(
      this.#sentinel(sentinel),
      `SENTINEL MONITOR ${masterName} ${endpoint(master)}`,
      async (conn) => {
        try {
          await conn.call("SENTINEL", ["REMOVE", masterName]);
        } catch (err) {
          if (!/no such master/i.test(errorText(err))) throw err;
        }
        await conn.call("SENTINEL", [
          "MONITOR",
          masterName,
          master.host,
          String(master.port),
          String(settings.quorum),
        ]);
        await conn.call("SENTINEL", ["SET", masterName, ...set]);
      },
    );
  }

  async sentinelReset(sentinel: SentinelAddress, masterName: string): Promise<void> {
    // RESET takes a glob pattern: escape it so it resets this name only.
    const pattern = masterName.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
    await this.#session(this.#sentinel(sentinel), `SENTINEL RESET ${masterName}`, (conn) =>
      conn.call("SENTINEL", ["RESET", pattern]),
    );
  }
}

function list(reply: unknown): Map<string, string>[] {
  return Array.isArray(reply) ? reply.map(pairs) : [];
}
