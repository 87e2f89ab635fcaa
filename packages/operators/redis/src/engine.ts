/**
 * Which server a set runs: Redis, or Valkey (the Linux Foundation's fork of
 * Redis 7.2, taken up by many after Redis's 2024 licence change). Both
 * kinds take `spec.engine`; everything the operator sends is the same
 * protocol on either, so the engine decides only the image, the programs a
 * pod's start script calls, and which versions are valid.
 *
 * Moving a set from Redis to Valkey is a rolling restart like an upgrade:
 * replicas first (a Valkey replica syncs from a Redis master), the master
 * last after a failover. The way back is refused at admission: Redis 7.0
 * cannot load the RDB format Valkey writes (11), so a Redis replica of a
 * Valkey master could never sync.
 */
import Type from "typebox";

export type Engine = "redis" | "valkey";

export const Engine = () =>
  Type.Union([Type.Literal("redis"), Type.Literal("valkey")], {
    description:
      "The server to run: redis, or valkey (Valkey, the fork of Redis 7.2). redis may be changed to valkey, which rolls the set like an upgrade; valkey cannot be changed back (Redis cannot load the files Valkey writes).",
    default: "redis",
  });

export function Version(what: string) {
  return Type.String({
    description: `The release of spec.engine to run, e.g. 7.0.15 for Redis or 8.0.1 for Valkey (Redis 7.0 or later, Valkey 7.2 or later: ${what} announce hostnames). Changing it upgrades with a rolling restart.`,
    pattern: "^[0-9]+\\.[0-9]+\\.[0-9]+$",
  });
}

export const Image = () =>
  Type.Optional(
    Type.String({
      description:
        "The container image. @default redis:<version> for Redis, valkey/valkey:<version> for Valkey",
      minLength: 1,
      maxLength: 512,
    }),
  );

/** The spec-level rules: versions each engine offers, and no way back from Valkey. */
export const engineRules = [
  {
    rule: "self.engine != 'redis' || self.version.matches('^[78]\\\\.')",
    message:
      "spec.version must be a Redis 7 or 8 release, e.g. 7.0.15 (7.0 is the first whose members announce hostnames)",
  },
  {
    rule: "self.engine != 'valkey' || self.version.matches('^(7\\\\.2\\\\.|[89]\\\\.)')",
    message: "spec.version must be a Valkey 7.2, 8 or 9 release, e.g. 8.0.1",
  },
  {
    rule: "!has(oldSelf.engine) || oldSelf.engine != 'valkey' || self.engine == 'valkey'",
    message:
      "spec.engine cannot change from valkey back to redis: Redis cannot load the RDB files Valkey writes, so its replicas could never sync. Create a new Redis set and copy the data instead",
  },
] as const;

/** The image a set's pods run unless spec.image says otherwise. */
export function defaultImage(engine: Engine | undefined, version: string): string {
  return engine === "valkey" ? `valkey/valkey:${version}` : `redis:${version}`;
}

/** The programs a start script calls (both images have them on the PATH). */
export function programs(engine: Engine | undefined): { server: string; cli: string } {
  return engine === "valkey"
    ? { server: "valkey-server", cli: "valkey-cli" }
    : { server: "redis-server", cli: "redis-cli" };
}
