/**
 * The sharded Redis kind, declared once: `RedisCluster` in
 * `ballast.dev/v1alpha1`. Its TypeScript type, CRD manifest and validator
 * all come from this schema.
 *
 * Checked at admission: at least 3 shards (a failover needs a majority of
 * masters to vote), replicas per shard in range, owned redis.conf keys
 * (the replication kind's and the cluster's own), a malformed maxmemory,
 * a persistent mode without a volume size.
 *
 * Names derived from `metadata.name` (cluster/resources.ts): pods
 * `<name>-<id>`, Services `<name>-nodes` (headless) and `<name>` (clients'
 * seed), ConfigMap `<name>-config`, Secret `<name>-redis-auth`.
 */
import { Conditions, defineResource, type ResourceOf } from "@ballast/runtime";
import { ComputeResources, memberSetNameRule, OperationStatus } from "@ballast/stateful";
import Type from "typebox";
import { group, ownedConfigKeys, version } from "../api.ts";
import { Engine, engineRules, Image, Version } from "../engine.ts";
import { Auth, Persistence, RedisConfig } from "../schema.ts";

/** Besides the replication kind's: the cluster bus and identity settings the operator sets. */
export const clusterOwnedConfigKeys = [
  ...ownedConfigKeys.filter((k) => !k.startsWith("min-") && !k.startsWith("replica-priority")),
  "cluster-port",
  "cluster-node-timeout",
  "cluster-announce-ip",
  "cluster-announce-port",
  "cluster-announce-bus-port",
  "cluster-announce-tls-port",
  "cluster-announce-hostname",
  "cluster-preferred-endpoint-type",
  "cluster-require-full-coverage",
  "cluster-allow-replica-migration",
  "cluster-migration-barrier",
] as const;

export const RedisCluster = defineResource({
  group,
  version,
  kind: "RedisCluster",
  plural: "redisclusters",
  // Not "rc": kubectl already has it for ReplicationControllers.
  shortNames: ["rcl", "rediscluster"],
  categories: ["ballast", "all"],
  scope: "Namespaced",
  description:
    "Sharded Redis (Redis Cluster): the 16384 hash slots spread over shards, each a master and its replicas. Redis fails a shard over to its replica; the operator forms the cluster, keeps every node knowing every other at its current address (a full restart re-forms with the same node ids), moves slots with their keys when shards are added or removed, and rolls replicas first, then each master after a coordinated CLUSTER FAILOVER.",
  spec: Type.Object(
    {
      engine: Engine(),
      version: Version("nodes"),
      image: Image(),
      shards: Type.Integer({
        description:
          "How many masters share the slots (at least 3: a replica is promoted by a majority vote of the masters). Adding shards moves slots with their keys onto the new masters, evenly; removing shards moves their slots off before their pods go.",
        minimum: 3,
        maximum: 100,
      }),
      replicasPerShard: Type.Integer({
        description:
          "Replicas of each master. With 0, a master's restart (a roll) makes its slots unavailable for its duration and a lost master loses its shard's writes since its last save.",
        minimum: 0,
        maximum: 5,
        default: 1,
      }),
      persistence: Persistence("the cluster"),
      config: Type.Optional(
        RedisConfig(
          clusterOwnedConfigKeys,
          "Extra redis.conf settings, e.g. maxmemory: 1gb, maxmemory-policy: allkeys-lru. A change rolls the cluster.",
        ),
      ),
      auth: Type.Optional(Auth("<name>-redis-auth")),
      nodeTimeoutMilliseconds: Type.Integer({
        description:
          "cluster-node-timeout: how long a node must not answer before it is flagged failing and its replica is promoted. Shorter fails over sooner and risks failing over on a pause.",
        minimum: 500,
        maximum: 600_000,
        default: 5000,
      }),
      resources: Type.Optional(
        ComputeResources("Compute resources of each redis-server container."),
      ),
    },
    { "x-kubernetes-validations": [...engineRules] },
  ),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    conditions: Type.Optional(Conditions()),
    engine: Type.Optional(
      Type.String({ description: "The engine every node runs (unset mid-change)." }),
    ),
    version: Type.Optional(
      Type.String({ description: "The version every node runs (unset mid-upgrade)." }),
    ),
    formed: Type.Optional(
      Type.Boolean({
        description:
          "Every slot has been assigned once. From then on the operator never assigns a slot: one no node owns is reported, since its keys may be on a node that is down.",
      }),
    ),
    slotsAssigned: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 16384,
        description: "Slots owned by a node of the set.",
      }),
    ),
    readyNodes: Type.Optional(Type.Integer({ minimum: 0, description: "Nodes serving." })),
    ready: Type.Optional(
      Type.String({
        description: "Serving nodes out of shards × (1 + replicasPerShard), e.g. 6/6.",
      }),
    ),
    endpoint: Type.Optional(
      Type.String({ description: "host:port of the client Service, a seed for cluster clients." }),
    ),
    shards: Type.Optional(
      Type.Array(
        Type.Object({
          shard: Type.Integer({ minimum: 0, description: "The shard's number." }),
          master: Type.Optional(
            Type.Integer({ minimum: 0, description: "The member that is its master now." }),
          ),
          members: Type.Array(Type.Integer({ minimum: 0 }), {
            description: "Its members (the master and its replicas).",
          }),
          slots: Type.String({ description: "The slots it owns, e.g. 0-5460." }),
          slotCount: Type.Integer({ minimum: 0, description: "How many." }),
          removing: Type.Optional(
            Type.Boolean({ description: "Being removed: its slots move off first." }),
          ),
        }),
        { description: "Where the slots are, by shard." },
      ),
    ),
    nodes: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.Integer({
            minimum: 0,
            description: "The member's id: assigned once, never reused while it exists.",
          }),
          shard: Type.Integer({ minimum: 0, description: "The shard it belongs to." }),
          pod: Type.String({ description: "Its pod." }),
          nodeId: Type.Optional(
            Type.String({
              description: "Its Redis node id (kept in nodes.conf on its volume).",
              maxLength: 40,
            }),
          ),
          role: Type.Optional(
            Type.String({
              description: "master or replica, as it reports; empty when it does not answer.",
            }),
          ),
          ready: Type.Boolean({
            description: "Serving: its shard's master, or a replica linked to it.",
          }),
          removing: Type.Optional(Type.Boolean({ description: "Being removed by a scale-in." })),
        }),
        { description: "Every member, recorded before its pod exists." },
      ),
    ),
    operation: Type.Optional(OperationStatus()),
    failover: Type.Optional(
      Type.Object(
        {
          shard: Type.Integer({ minimum: 0 }),
          from: Type.Integer({ minimum: 0, description: "The master handing over." }),
          to: Type.Integer({ minimum: 0, description: "The replica asked to take over." }),
          startedAt: Type.String({ description: "When CLUSTER FAILOVER was sent (RFC 3339)." }),
        },
        {
          description:
            "A coordinated CLUSTER FAILOVER the roll asked for before restarting a master, recorded before it was sent.",
        },
      ),
    ),
  }),
  printerColumns: [
    { name: "Shards", type: "integer", jsonPath: ".spec.shards" },
    { name: "Ready", type: "string", jsonPath: ".status.ready" },
    { name: "Slots", type: "integer", jsonPath: ".status.slotsAssigned" },
    { name: "Engine", type: "string", jsonPath: ".status.engine", priority: 1 },
    { name: "Version", type: "string", jsonPath: ".status.version" },
    { name: "Operation", type: "string", jsonPath: ".status.operation.summary" },
    {
      name: "Healthy",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    },
  ],
  validations: [memberSetNameRule(["-nodes", "-config", "-redis-auth", "-redis-users", "-999"])],
});

export type RedisCluster = ResourceOf<typeof RedisCluster>;
export type RedisClusterSpec = RedisCluster["spec"];
export type RedisClusterStatus = NonNullable<RedisCluster["status"]>;
export type ClusterNodeStatus = NonNullable<RedisClusterStatus["nodes"]>[number];
