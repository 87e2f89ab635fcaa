/**
 * Which `spec.config` keys Redis changes at run time, and whether a change
 * of them may be applied now. Pure.
 *
 * A key is dynamic unless Redis 7.0 refuses to change it at run time:
 * - `immutableConfigKeys`: the configs `CONFIG SET` answers "can't set
 *   immutable config" for — the `IMMUTABLE_CONFIG` flag of Redis 7.0's
 *   `src/config.c`. The list was read off redis-server 7.0.15 (every key
 *   of `CONFIG GET *` set to its own value), and admin.test.ts checks it
 *   against the real server on every run, both ways: each listed key is
 *   refused as immutable, and every other key `CONFIG GET *` lists is
 *   accepted.
 * - `fileOnlyDirectives`: redis.conf directives that are no config at all
 *   (`CONFIG GET` does not know them), read only when the server starts.
 *
 * Everything else — including a key Redis does not know (a typo) — is sent
 * with `CONFIG SET`, and Redis's own answer decides: a refused key or value
 * is reported (Degraded, naming it and Redis's message), and nothing is
 * applied, since one `CONFIG SET k1 v1 k2 v2 …` is all-or-nothing in 7.0.
 * A typo therefore never reaches a pod's redis.conf, where it would stop
 * redis-server from starting.
 *
 * Dynamic keys are not part of the pod template hash (resources.ts), so
 * changing them restarts nothing; a dynamic key REMOVED from spec.config
 * is the exception (`removedKeys`): Redis has no "reset to default", so
 * only a restart takes a key back to its default.
 */
import { createHash } from "node:crypto";

/** Redis 7.0's configs with `IMMUTABLE_CONFIG` (see the module comment for where they come from). */
export const immutableConfigKeys: readonly string[] = [
  "aclfile",
  "always-show-logo",
  "aof_rewrite_cpulist",
  "appenddirname",
  "appendfilename",
  "bgsave_cpulist",
  "bio_cpulist",
  "cluster-config-file",
  "cluster-enabled",
  "cluster-port",
  "daemonize",
  "databases",
  "disable-thp",
  "enable-debug-command",
  "enable-module-command",
  "enable-protected-configs",
  "io-threads",
  "io-threads-do-reads",
  "logfile",
  "pidfile",
  "rdbchecksum",
  "replicaof",
  "server_cpulist",
  "set-proc-title",
  "slaveof",
  "socket-mark-id",
  "supervised",
  "syslog-enabled",
  "syslog-facility",
  "syslog-ident",
  "tcp-backlog",
  "unixsocket",
  "unixsocketperm",
];

/** redis.conf directives that are not configs: read at start only (`CONFIG SET` does not know them). */
export const fileOnlyDirectives: readonly string[] = [
  "include",
  "loadmodule",
  "rename-command",
  "user",
  "sentinel",
];

/**
 * What Valkey 8.0.1 also refuses at run time (read off valkey-server
 * 8.0.1 the same way by admin.test.ts run on Valkey): hyphenated aliases
 * of the CPU-list settings and unixsocketgroup. Restart-only for either
 * server: on Redis 7.0 the aliases are no configs at all.
 */
export const valkeyImmutableConfigKeys: readonly string[] = [
  "aof-rewrite-cpulist",
  "bgsave-cpulist",
  "bio-cpulist",
  "server-cpulist",
  "unixsocketgroup",
];

const restartOnly = new Set([
  ...immutableConfigKeys,
  ...valkeyImmutableConfigKeys,
  ...fileOnlyDirectives,
]);

/** Whether `key` is applied with `CONFIG SET` (true) or needs a restart (false). */
export function isDynamicKey(key: string): boolean {
  return !restartOnly.has(key.toLowerCase());
}

export type Settings = readonly (readonly [string, string])[];

/**
 * spec.config split by how a change of each key is applied, each part in
 * the spec's order (the restart part is hashed as redis.conf text, which
 * must not change for a set that has no dynamic keys: see resources.ts).
 */
export function splitConfig(config: Readonly<Record<string, string | number>> | undefined): {
  dynamic: Settings;
  restart: Settings;
} {
  const entries = Object.entries(config ?? {}).map(([k, v]) => [k, String(v)] as const);
  return {
    dynamic: entries.filter(([k]) => isDynamicKey(k)),
    restart: entries.filter(([k]) => !isDynamicKey(k)),
  };
}

/** A short, stable digest of dynamic settings: what a pod's annotation says it has live. */
export function settingsHash(settings: Settings): string {
  const canonical = JSON.stringify([...settings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

/** Keys a member has live (its annotation) that the spec no longer sets: only a restart resets them. */
export function removedKeys(live: readonly string[], desired: Settings): string[] {
  const want = new Set(desired.map(([k]) => k));
  return live.filter((k) => !want.has(k));
}

/**
 * Bytes of a redis.conf memory value, as Redis reads it (`memtoull`):
 * k = 1000, kb = 1024, m = 10^6, mb = 2^20, g = 10^9, gb = 2^30, any case.
 * Undefined when it is not one.
 */
export function parseMemory(value: string): number | undefined {
  const m = /^\s*(\d+)\s*(b|k|kb|m|mb|g|gb)?\s*$/i.exec(value);
  if (!m) return undefined;
  const units: Record<string, number> = {
    b: 1,
    k: 1000,
    kb: 1024,
    m: 1_000_000,
    mb: 1024 ** 2,
    g: 1_000_000_000,
    gb: 1024 ** 3,
  };
  return Number(m[1]) * (units[(m[2] ?? "b").toLowerCase()] ?? 1);
}

/** What the master has now, read only when a change is about to be applied. */
export interface MasterMemory {
  id: number;
  /** INFO memory's `used_memory`. */
  usedMemory: number;
  /** CONFIG GET maxmemory (bytes; 0 = no limit). */
  maxmemory: number;
  /** CONFIG GET maxmemory-policy. */
  policy: string;
}

/**
 * Why the new settings would make the master refuse writes, or undefined:
 * with `maxmemory-policy noeviction` and `maxmemory` below what the master
 * already uses, every write that allocates is refused with OOM (Redis
 * accepts the CONFIG SET and evicts nothing). What either setting becomes
 * is the new value if the change sets it, else the one live now; a
 * change that sets neither is never refused for it.
 */
export function maxmemoryProblem(desired: Settings, master: MasterMemory): string | undefined {
  const get = (k: string) => desired.find(([key]) => key === k)?.[1];
  const newMax = get("maxmemory");
  const newPolicy = get("maxmemory-policy");
  // A set already in that state was not put there by this change.
  if (newMax === undefined && newPolicy === undefined) return undefined;
  const max = newMax === undefined ? master.maxmemory : parseMemory(newMax);
  const policy = (newPolicy ?? master.policy).toLowerCase();
  if (max === undefined || max === 0 || policy !== "noeviction") return undefined;
  if (max >= master.usedMemory) return undefined;
  const what =
    newMax === undefined
      ? `maxmemory-policy noeviction with the maxmemory live now (${master.maxmemory} bytes)`
      : `maxmemory ${newMax} (${max} bytes) with maxmemory-policy noeviction`;
  return `spec.config: ${what} is below the ${master.usedMemory} bytes the master (member ${master.id}) uses: it would refuse every write with OOM. Raise maxmemory above that, choose an evicting maxmemory-policy (e.g. allkeys-lru), or delete keys first; nothing was applied`;
}

/** A member as the config step sees it. */
export interface ConfigMember {
  id: number;
  /** The hash of the dynamic settings live on it (its pod's annotation); undefined: not known. */
  applied: string | undefined;
  /** It answers (a report with reachable). */
  answers: boolean;
}

export type ConfigDecision =
  /** Every member has the desired settings live. */
  | { kind: "done" }
  /** Send the settings to these members (master first), in one CONFIG SET each. */
  | { kind: "apply"; ids: readonly number[] }
  /** Members behind, but one of them does not answer: wait, apply to none yet (all or none). */
  | { kind: "wait"; why: string };

/**
 * Which members to send the desired dynamic settings to. All members
 * behind are sent them in one reconcile, the master first, so the set
 * never runs two configurations for long; none while a member that is
 * behind does not answer (it would keep the old value with no one to say
 * so) or while there is no master (the memory check reads the master).
 */
export function planConfig(
  desiredHash: string,
  members: readonly ConfigMember[],
  master: number | undefined,
): ConfigDecision {
  const behind = members.filter((m) => m.applied !== desiredHash);
  if (behind.length === 0) return { kind: "done" };
  if (master === undefined) return { kind: "wait", why: "the set has no master" };
  const silent = behind.filter((m) => !m.answers).map((m) => m.id);
  if (silent.length > 0)
    return {
      kind: "wait",
      why: `members ${silent.join(", ")} do not answer; the new settings are applied to every member at once`,
    };
  const ids = behind
    .map((m) => m.id)
    .sort((a, b) => (a === master ? -1 : b === master ? 1 : a - b));
  return { kind: "apply", ids };
}
