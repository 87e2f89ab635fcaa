/**
 * The Redis replication kind, declared once: `RedisReplication` in
 * `ballast.dev/v1alpha1`. Its TypeScript type, CRD manifest and validator
 * all come from this schema.
 *
 * What can be checked without looking at the running set is checked here,
 * at admission (schema and CEL, with messages that say what to fix): an
 * even number of sentinels, `minReplicasToWrite` above the replicas there
 * are, a redis.conf key the operator owns, a malformed `maxmemory`, a
 * persistent mode without a volume size.
 *
 * Names derived from `metadata.name` (resources.ts): pods `<name>-<id>` and `<name>-sentinel-<id>`, Services
 * `<name>-members`, `<name>-master`, `<name>-replicas`, `<name>-sentinel`,
 * ConfigMaps `<name>-config` and `<name>-sentinel-config`, the password
 * Secret `<name>-redis-auth`.
 *
 * Served by the controller in `replication/`.
 */
import { Conditions, defineResource, type ResourceOf } from "@ballast/runtime";
import { ComputeResources, memberSetNameRule, OperationStatus } from "@ballast/stateful";
import Type from "typebox";
import { Engine, engineRules, Image, Version } from "./engine.ts";
import { Auth, Persistence, RedisConfig } from "./schema.ts";

export const group = "ballast.dev";
export const version = "v1alpha1";

/**
 * redis.conf directives the operator sets itself: identity and addresses
 * (announced hostnames), authentication, paths and persistence mode,
 * replication (who follows whom is the operator's and Sentinel's, and
 * replicas stay read-only: that is what keeps a demoted master from taking
 * writes), the priorities it uses to steer a controlled failover, the
 * write-safety settings that have their own spec fields, and what would
 * let a user rename or reach around the commands the operator sends. Each
 * with its pre-5.0 `slave` alias, since Redis accepts both.
 */
export const ownedConfigKeys = [
  "port",
  "bind",
  "unixsocket",
  "tls-port",
  "tls-replication",
  "daemonize",
  "supervised",
  "pidfile",
  "logfile",
  "include",
  "dir",
  "dbfilename",
  "appendonly",
  "appendfilename",
  "appenddirname",
  "requirepass",
  "masterauth",
  "masteruser",
  "user",
  "aclfile",
  "rename-command",
  "enable-protected-configs",
  "replicaof",
  "slaveof",
  "replica-announce-ip",
  "slave-announce-ip",
  "replica-announce-port",
  "slave-announce-port",
  "replica-announced",
  "replica-read-only",
  "slave-read-only",
  "replica-priority",
  "slave-priority",
  "min-replicas-to-write",
  "min-slaves-to-write",
  "min-replicas-max-lag",
  "min-slaves-max-lag",
  "cluster-enabled",
  "cluster-config-file",
] as const;

export const RedisReplication = defineResource({
  group,
  version,
  kind: "RedisReplication",
  plural: "redisreplications",
  shortNames: ["rr", "redisrepl"],
  categories: ["ballast", "all"],
  scope: "Namespaced",
  description:
    "Redis with one master, replicas and Sentinel. Sentinel detects a failed master and promotes a replica; the operator verifies and repairs: exactly one master, every replica following it, every sentinel agreeing, an old master that returns demoted before it takes clients. Rolls restart the replicas one at a time, each back in sync before the next, then fail over to the replica with the highest offset before the old master restarts.",
  spec: Type.Object(
    {
      engine: Engine(),
      version: Version("Sentinel and replicas"),
      image: Image(),
      replicas: Type.Integer({
        description:
          "How many replicas besides the master (the set has replicas + 1 redis-servers). Every replica can be promoted.",
        minimum: 1,
        maximum: 31,
      }),
      sentinels: Type.Integer({
        description:
          "How many sentinels watch the set: 1, 3, 5 or 7. A failover needs a majority of them, so an even count adds no fault tolerance; 1 is for development only.",
        minimum: 1,
        maximum: 7,
        default: 3,
        "x-kubernetes-validations": [
          {
            rule: "self % 2 == 1",
            message:
              "spec.sentinels must be odd (1, 3, 5 or 7): a failover needs a majority of the sentinels, and an even count adds none",
          },
        ],
      }),
      persistence: Persistence("the replication set"),
      config: Type.Optional(
        RedisConfig(
          ownedConfigKeys,
          "Extra redis.conf settings, e.g. maxmemory: 1gb, maxmemory-policy: allkeys-lru, appendfsync: always. Settings Redis can change at run time are applied with CONFIG SET without a restart; others roll the set.",
        ),
      ),
      auth: Type.Optional(Auth("<name>-redis-auth", "every redis-server and sentinel")),
      minReplicasToWrite: Type.Integer({
        description:
          "The master refuses writes unless at least this many replicas acknowledged within minReplicasMaxLag seconds (min-replicas-to-write). It bounds what a partitioned master can accept. Equal to spec.replicas, every replica restart of a roll stops writes for its duration. 0: off.",
        minimum: 0,
        maximum: 31,
        default: 0,
      }),
      minReplicasMaxLag: Type.Integer({
        description:
          "Seconds since a replica's last acknowledgement for it to count towards minReplicasToWrite (min-replicas-max-lag).",
        minimum: 1,
        maximum: 3600,
        default: 10,
      }),
      resources: Type.Optional(
        ComputeResources("Compute resources of each redis-server container."),
      ),
      sentinel: Type.Optional(
        Type.Object(
          {
            downAfterMilliseconds: Type.Integer({
              description:
                "How long the master must not answer before a sentinel considers it down (down-after-milliseconds). Shorter fails over sooner and risks failing over on a pause.",
              minimum: 500,
              maximum: 600_000,
              default: 5000,
            }),
            failoverTimeoutMilliseconds: Type.Integer({
              description:
                "Sentinel's failover-timeout: how long a failover may take before another sentinel retries it.",
              minimum: 1000,
              maximum: 3_600_000,
              default: 60_000,
            }),
            resources: Type.Optional(
              ComputeResources("Compute resources of each sentinel container."),
            ),
          },
          { description: "Settings of the sentinels (their number is spec.sentinels)." },
        ),
      ),
    },
    {
      "x-kubernetes-validations": [
        ...engineRules,
        {
          rule: "self.minReplicasToWrite <= self.replicas",
          message:
            "spec.minReplicasToWrite cannot exceed spec.replicas: the master would refuse every write",
        },
      ],
    },
  ),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    conditions: Type.Optional(Conditions()),
    engine: Type.Optional(
      Type.String({ description: "The engine every member runs (unset mid-change)." }),
    ),
    version: Type.Optional(
      Type.String({ description: "The version every member runs (unset mid-upgrade)." }),
    ),
    master: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "The id of the member last recognised as THE master (the one the master Service points at while it is; Degraded says when there is none). The operator records a member it promotes here before promoting it.",
      }),
    ),
    masterName: Type.Optional(
      Type.String({
        description: "The name the sentinels monitor the set under, for Sentinel-aware clients.",
      }),
    ),
    masterEndpoint: Type.Optional(
      Type.String({
        description: "host:port of the master Service, for clients inside the cluster.",
      }),
    ),
    sentinelEndpoint: Type.Optional(
      Type.String({
        description: "host:port of the sentinel Service, for Sentinel-aware clients.",
      }),
    ),
    readyMembers: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Members serving: the master, and replicas in sync with it.",
      }),
    ),
    ready: Type.Optional(
      Type.String({ description: "Serving members out of spec.replicas + 1, e.g. 3/3." }),
    ),
    sentinelsAgreeing: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Sentinels that name the master the operator sees.",
      }),
    ),
    members: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.Integer({
            minimum: 0,
            description: "The member's id: assigned once, never reused while it exists.",
          }),
          pod: Type.String({ description: "The member's pod." }),
          role: Type.Optional(
            Type.String({
              description:
                "What the member reports: master or replica; empty when it does not answer.",
            }),
          ),
          ready: Type.Boolean({ description: "The master, or a replica in sync with it." }),
          offset: Type.Optional(
            Type.Integer({ minimum: 0, description: "Its replication offset, as last reported." }),
          ),
          masterLink: Type.Optional(
            Type.String({ description: "A replica's link to the master: up or down." }),
          ),
          removing: Type.Optional(
            Type.Boolean({
              description:
                "Being removed by a scale-down: its pod is stopped, then its volume deleted.",
            }),
          ),
          unreachableSince: Type.Optional(
            Type.String({
              description:
                "When the operator first saw this member not answer (RFC 3339); unset while it answers. The operator promotes a replica itself only after the lost master has not answered for a while.",
            }),
          ),
        }),
        {
          description:
            "Every member the set has, by id, recorded before its pod exists. role says what Redis itself reports.",
        },
      ),
    ),
    sentinels: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.Integer({ minimum: 0, description: "The sentinel's id." }),
          pod: Type.String({ description: "The sentinel's pod." }),
          ready: Type.Boolean({ description: "Answers and monitors the set." }),
          names: Type.Optional(
            Type.Integer({
              minimum: 0,
              description: "The member this sentinel believes is master.",
            }),
          ),
        }),
        { description: "Every sentinel, and the master it names." },
      ),
    ),
    operation: Type.Optional(OperationStatus()),
    switchover: Type.Optional(
      Type.Object(
        {
          from: Type.Integer({ minimum: 0, description: "The master handing over." }),
          to: Type.Integer({ minimum: 0, description: "The replica meant to be promoted." }),
          via: Type.Integer({ minimum: 0, description: "The sentinel asked to fail over." }),
          startedAt: Type.String({ description: "When the failover was asked (RFC 3339)." }),
        },
        {
          description:
            "A controlled failover the roll asked for, recorded before writes were paused on the old master: until the old master is a replica its writes stay paused.",
        },
      ),
    ),
    config: Type.Optional(
      Type.Object(
        {
          hash: Type.String({
            description:
              "A digest of the applied settings (what each member pod's redis.ballast.dev/config-hash annotation says it has live).",
          }),
          applied: Type.Record(Type.String(), Type.String(), {
            description:
              "The spec.config settings Redis changes at run time, as sent with CONFIG SET and accepted by every member (a member started later reads them from its redis.conf).",
          }),
          live: Type.Record(Type.String(), Type.String(), {
            description:
              "The same keys as CONFIG GET on the master reported them after they were applied (Redis's own form, e.g. bytes for maxmemory).",
          }),
          at: Type.String({ description: "When every member had them (RFC 3339)." }),
        },
        {
          description:
            "The spec.config settings applied without a restart. Keys Redis 7.0 cannot change at run time (its immutable configs such as io-threads or databases, and file-only directives such as loadmodule) roll the set instead.",
        },
      ),
    ),
    lastRepair: Type.Optional(
      Type.Object(
        {
          action: Type.String({
            description: "demote, promote, follow, monitor or reset, and on whom.",
          }),
          reason: Type.String({ description: "Why the operator took it." }),
          at: Type.String({ description: "When it was decided (RFC 3339), before it was sent." }),
        },
        {
          description:
            "The last repair the operator made (a demotion, a promotion, a replica re-pointed, a sentinel told to monitor or reset), recorded before it was sent.",
        },
      ),
    ),
  }),
  printerColumns: [
    { name: "Ready", type: "string", jsonPath: ".status.ready" },
    { name: "Master", type: "integer", jsonPath: ".status.master" },
    { name: "Sentinels", type: "integer", jsonPath: ".status.sentinelsAgreeing" },
    { name: "Engine", type: "string", jsonPath: ".status.engine", priority: 1 },
    { name: "Version", type: "string", jsonPath: ".status.version" },
    { name: "Operation", type: "string", jsonPath: ".status.operation.summary" },
    {
      name: "Healthy",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    },
  ],
  validations: [
    memberSetNameRule([
      "-members",
      "-master",
      "-replicas",
      "-sentinel",
      "-sentinel-99",
      "-sentinel-config",
      "-redis-auth",
      "-redis-users",
      "-config",
      "-999",
    ]),
  ],
});

export type RedisReplication = ResourceOf<typeof RedisReplication>;
export type RedisReplicationSpec = RedisReplication["spec"];
export type RedisReplicationStatus = NonNullable<RedisReplication["status"]>;
export type MemberStatus = NonNullable<RedisReplicationStatus["members"]>[number];
export type SentinelStatus = NonNullable<RedisReplicationStatus["sentinels"]>[number];
