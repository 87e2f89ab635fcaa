/**
 * Schema pieces both Redis kinds share (RedisReplication, RedisCluster):
 * persistence, redis.conf overrides with the keys the operator owns
 * refused, and authentication. Each builder takes what differs (which
 * keys are owned, what the volume is for) so the messages name the kind.
 */
import { IntOrString } from "@ballast/runtime";
import { MemberStorage } from "@ballast/stateful";
import Type from "typebox";

export function Persistence(what: string) {
  return Type.Object(
    {
      mode: Type.Union([Type.Literal("aof"), Type.Literal("rdb"), Type.Literal("none")], {
        description:
          "aof: every write is appended to a log (appendonly yes; appendfsync everysec unless config says otherwise), and RDB snapshots too; rdb: periodic snapshots only (Redis's default save points unless config.save is set), minutes of writes may be lost with a member; none: no files, a restarted member resyncs everything from its master. Switching between none and the others is refused: it changes whether members have volumes.",
        default: "aof",
      }),
      storage: Type.Optional(
        MemberStorage({
          size: "Size of each member's data volume (the AOF and RDB files), e.g. 2Gi. Leave room for a rewrite: the AOF or RDB being written sits next to the old one.",
          description:
            "Each member's data volume: a PersistentVolumeClaim kept across restarts. Required unless mode is none.",
          what,
        }),
      ),
    },
    {
      description: "How each member keeps its data on disk.",
      "x-kubernetes-validations": [
        {
          rule: "self.mode == 'none' || has(self.storage)",
          message: "spec.persistence.storage (a size) is required unless mode is none",
        },
        {
          rule: "(self.mode == 'none') == (oldSelf.mode == 'none')",
          message:
            "spec.persistence.mode cannot switch between none and aof/rdb once the set exists (it decides whether members have volumes); aof and rdb may be swapped",
        },
      ],
    },
  );
}

export function RedisConfig(owned: readonly string[], description: string) {
  const list = owned.map((k) => `'${k}'`).join(", ");
  return Type.Record(Type.String({ minLength: 1, maxLength: 64 }), IntOrString(), {
    description: `${description} Keys are lower-case redis.conf directives; keys the operator owns (${owned.join(", ")}) are refused.`,
    maxProperties: 128,
    "x-kubernetes-validations": [
      {
        rule: "self.all(k, k.matches('^[a-z][a-z0-9-]*$'))",
        message:
          "spec.config keys are redis.conf directives written in lower case, e.g. maxmemory-policy",
      },
      {
        rule: `self.all(k, !(k in [${list}]))`,
        message: `spec.config sets a key the operator owns; remove it (owned: ${owned.join(", ")})`,
      },
      {
        rule: "!('maxmemory' in self) || string(self['maxmemory']).matches('^[0-9]+([kKmMgG][bB]?)?$')",
        message:
          "spec.config.maxmemory must be a byte count with an optional unit, e.g. 100mb, 1gb or 1073741824",
      },
    ],
  });
}

export function Auth(defaultSecret: string, who = "every redis-server") {
  return Type.Object(
    {
      secretName: Type.Optional(
        Type.String({
          description: `A Secret in the same namespace whose key \`password\` ${who} requires. @default ${defaultSecret}, generated once and kept`,
          minLength: 1,
          maxLength: 253,
          pattern: secretNamePattern,
        }),
      ),
      users: Type.Optional(
        Type.Array(AclUser(), {
          description:
            "ACL users for applications, besides the operator's own (the default user, with the password above). Each gets a password in its own Secret; adding, changing or removing a user is applied on every running member with ACL SETUSER / ACL DELUSER, without a restart (the first user added, and the last removed, roll the set once: the users' file is mounted into the pods).",
          maxItems: 32,
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
        }),
      ),
    },
    {
      description:
        "Authentication. Every member requires a password (requirepass; replicas use it as masterauth); the operator never writes it into a pod spec, an event or a log.",
    },
  );
}

const secretNamePattern = "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";

/** ACL rule tokens that set passwords or switch users on and off: those are the operator's. */
export const reservedAclTokens = ["on", "off", "nopass", "resetpass", "reset"] as const;

function AclUser() {
  return Type.Object({
    name: Type.String({
      description: "The ACL user name applications AUTH as.",
      minLength: 1,
      maxLength: 64,
      pattern: "^[a-z][a-z0-9_-]*$",
      "x-kubernetes-validations": [
        {
          rule: "self != 'default'",
          message:
            "spec.auth.users[].name cannot be default: that is the operator's user (its password is spec.auth.secretName's)",
        },
      ],
    }),
    rules: Type.String({
      description:
        "What the user may do, as ACL rules, e.g. `~app:* &app:* +@read +@write -@dangerous` (keys, channels, commands). Checked by Redis before anything is applied; a rule Redis refuses is reported in Degraded, naming the user.",
      minLength: 1,
      maxLength: 1024,
      "x-kubernetes-validations": [
        {
          rule: `!self.matches('(^|\\\\s)([<>#!]|(${reservedAclTokens.join("|")})(\\\\s|$))')`,
          message: `spec.auth.users[].rules holds permissions only: passwords (>, <, #, !) come from the user's Secret and ${reservedAclTokens.join(", ")} are the operator's`,
        },
      ],
    }),
    secretName: Type.Optional(
      Type.String({
        description:
          "A Secret in the same namespace whose key `password` is this user's password. @default <name>-redis-user-<user>, generated once and kept",
        minLength: 1,
        maxLength: 253,
        pattern: secretNamePattern,
      }),
    ),
  });
}

/**
 * `maxmemory` in bytes, read as Redis reads it (`memtoull`): `k`, `m`, `g`
 * are powers of 1000, `kb`, `mb`, `gb` powers of 1024. Undefined when
 * unset, malformed or 0 (no limit).
 */
export function maxmemoryBytes(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = String(value).match(/^([0-9]+)(?:([kKmMgG])([bB])?)?$/);
  if (!m?.[1]) return undefined;
  const power = { k: 1, m: 2, g: 3 }[(m[2] ?? "").toLowerCase()] ?? 0;
  const bytes = Number(m[1]) * (m[3] ? 1024 : 1000) ** power;
  return bytes > 0 ? bytes : undefined;
}
