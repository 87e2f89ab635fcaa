/**
 * The PostgreSQL kind, declared once: `PostgresCluster` in
 * `ballast.dev/v1alpha1`. Its TypeScript type, CRD manifest and validator
 * all come from this schema.
 *
 * What can be checked without looking at the running cluster is checked
 * here, at admission (schema and CEL, with messages that say what to fix):
 * no instance, more synchronous standbys than there are standbys, a
 * parameter the operator owns, two ways to bootstrap, a recovery target
 * given twice, a name too long for the objects named after it.
 *
 * Names derived from `metadata.name` (resources.ts): pods `<name>-<id>`,
 * claims `data-<name>-<id>`, the headless Service `<name>-instances`, the
 * Services `<name>-rw` (the primary), `<name>-ro` (standbys) and `<name>-r`
 * (any), the ConfigMap `<name>-config`, the Secrets `<name>-superuser` and
 * `<name>-replication`.
 *
 * operator.ts serves it (cluster/controller.ts); `backup/api.ts` and
 * `backup/scheduled-api.ts` declare the Backup kinds beside it.
 */
import { Conditions, defineResource, type ResourceOf } from "@ballast/runtime";
import {
  ComputeResources,
  MemberStorage,
  memberSetNameRule,
  OperationStatus,
} from "@ballast/stateful";
import Type from "typebox";
import type { Synchronous } from "./plan/types.ts";
import {
  Backup,
  Bootstrap,
  Databases,
  ElectionStatus,
  Parameters,
  Roles,
  SwitchoverStatus,
} from "./schema.ts";

export { ownedParameters } from "./schema.ts";

export const group = "ballast.dev";
export const version = "v1alpha1";

/** Suffixes of the objects named after a cluster (resources.ts `names`), for the name-length rule. */
export const nameSuffixes = [
  "-instances",
  "-rw",
  "-ro",
  "-r",
  "-config",
  "-superuser",
  "-replication",
  "-app",
  "-999",
] as const;

export const PostgresCluster = defineResource({
  group,
  version,
  kind: "PostgresCluster",
  plural: "postgresclusters",
  shortNames: ["pgc"],
  categories: ["ballast", "all"],
  scope: "Namespaced",
  description:
    "PostgreSQL with one primary and streaming standbys. When the primary stops answering for failoverDelaySeconds, the operator fences it (it restarts only as a standby), promotes the standby holding the most WAL (with synchronous, one holding every acknowledged commit) and points the others at it; the old primary rejoins with pg_rewind. <name>-rw always reaches the primary, <name>-ro the standbys, <name>-r any instance.",
  spec: Type.Object(
    {
      version: Type.String({
        description:
          "The PostgreSQL release to run: 15 or 15.<minor>, e.g. 15.18 (Debian bookworm's major, the one the local postgres image runs).",
        pattern: "^15(\\.[0-9]+)?$",
      }),
      image: Type.Optional(
        Type.String({
          description: "The container image. @default postgres:<version>",
          minLength: 1,
          maxLength: 512,
        }),
      ),
      instances: Type.Integer({
        description:
          "How many PostgreSQL servers: one primary and instances - 1 streaming standbys. 1 has no failover.",
        minimum: 1,
        maximum: 9,
      }),
      storage: MemberStorage({
        size: "Size of each instance's data volume (PGDATA and its WAL), e.g. 10Gi.",
        description:
          "Each instance's data volume: a PersistentVolumeClaim kept across restarts and failovers.",
        what: "the cluster",
      }),
      resources: Type.Optional(ComputeResources("Compute resources of each PostgreSQL container.")),
      postgresql: Type.Optional(
        Type.Object(
          { parameters: Type.Optional(Parameters()) },
          { description: "PostgreSQL's own settings." },
        ),
      ),
      synchronous: Type.Optional(
        Type.Object(
          {
            any: Type.Integer({
              description:
                "How many standbys must have flushed a commit before it is acknowledged (synchronous_standby_names = ANY <any> (...)). Less than spec.instances.",
              minimum: 1,
              maximum: 8,
            }),
          },
          {
            description:
              "Synchronous replication: with it, no commit acknowledged to a client is lost by a failover (the standby promoted holds it), and writes wait while fewer than `any` standbys stream. Absent: off — a failover may lose the commits the most advanced standby had not received.",
          },
        ),
      ),
      failoverDelaySeconds: Type.Integer({
        description:
          "How long the primary must not answer before the operator fails over. Shorter fails over sooner and risks failing over on a pause.",
        minimum: 1,
        maximum: 3600,
        default: 3,
      }),
      bootstrap: Type.Optional(Bootstrap()),
      backup: Type.Optional(Backup()),
      roles: Type.Optional(Roles()),
      databases: Type.Optional(Databases()),
    },
    {
      "x-kubernetes-validations": [
        {
          rule: "!has(self.synchronous) || self.synchronous.any < self.instances",
          message:
            "spec.synchronous.any must be less than spec.instances: commits wait for `any` standbys and there are only instances - 1; add instances or lower any",
        },
      ],
    },
  ),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    conditions: Type.Optional(Conditions()),
    systemIdentifier: Type.Optional(
      Type.String({
        description:
          "The cluster's system identifier (set by initdb, kept by every copy), recorded at bootstrap: an instance with another holds another cluster's data and is never promoted or rewound.",
        pattern: "^[0-9]+$",
      }),
    ),
    primary: Type.Optional(
      Type.Object(
        {
          id: Type.Integer({ minimum: 0, description: "The primary's instance id." }),
          timeline: Type.Integer({ minimum: 1, description: "The timeline it writes on." }),
        },
        {
          description:
            "The instance last recognised as THE primary (the one <name>-rw reaches while it is).",
        },
      ),
    ),
    readyInstances: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Instances serving: the primary, and standbys streaming from it.",
      }),
    ),
    instances: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.Integer({
            minimum: 0,
            description: "The instance's id: assigned once, never reused while it exists.",
          }),
          pod: Type.String({ description: "The instance's pod." }),
          role: Type.Optional(
            Type.Union([Type.Literal("primary"), Type.Literal("standby")], {
              description:
                "What the server reports (pg_is_in_recovery()); unset when it does not answer.",
            }),
          ),
          timeline: Type.Optional(
            Type.Integer({ minimum: 1, description: "The timeline of its latest WAL." }),
          ),
          lsn: Type.Optional(
            Type.String({
              description:
                "Its WAL position as last seen: a primary's current LSN, a standby's received (or replayed) one.",
            }),
          ),
          lagBytes: Type.Optional(
            Type.Integer({
              minimum: 0,
              description: "A standby's distance behind the primary, in bytes of WAL.",
            }),
          ),
          ready: Type.Boolean({
            description: "The primary, or a standby streaming from it.",
          }),
          unreachableSince: Type.Optional(
            Type.String({ description: "Since when it has not answered SQL (RFC 3339)." }),
          ),
          problem: Type.Optional(
            Type.String({
              description: "Why the operator got no answer from it, last time it asked.",
              maxLength: 1024,
            }),
          ),
          removing: Type.Optional(
            Type.Boolean({ description: "Being removed by a scale-down (never the primary)." }),
          ),
        }),
        { description: "Every instance the cluster has, by id, recorded before its pod exists." },
      ),
    ),
    synchronous: Type.Optional(
      Type.Object(
        {
          any: Type.Integer({ minimum: 0, description: "The ANY count set." }),
          standbys: Type.Array(Type.Integer({ minimum: 0 }), {
            description: "The instances named.",
          }),
        },
        {
          description:
            "The synchronous_standby_names the primary may be applying, recorded before it is set (the failover plan reads it).",
        },
      ),
    ),
    rewinding: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.Integer({ minimum: 0, description: "The diverged instance." }),
          from: Type.Integer({ minimum: 0, description: "The primary it is rewound from." }),
        }),
        {
          description:
            "Instances being rejoined with pg_rewind, recorded before their pod is replaced by one whose start runs pg_rewind.",
        },
      ),
    ),
    election: Type.Optional(ElectionStatus()),
    switchover: Type.Optional(SwitchoverStatus()),
    operation: Type.Optional(OperationStatus()),
    backup: Type.Optional(
      Type.Object(
        {
          repoPath: Type.String({
            description: "The repository path (bucket prefix) the stanza was made in.",
          }),
          stanzaCreatedAt: Type.String({
            description:
              "When pgBackRest's stanza-create and check succeeded there (RFC 3339): WAL reaches the bucket from then on.",
          }),
          lastArchivedWal: Type.Optional(
            Type.String({
              description: "The WAL file the primary last archived (pg_stat_archiver).",
            }),
          ),
          lastArchivedAt: Type.Optional(
            Type.String({ description: "When it was archived (RFC 3339)." }),
          ),
          lastFailedWal: Type.Optional(
            Type.String({
              description:
                "The WAL file archive_command last failed on; archiving fails now when this is newer than the last archived.",
            }),
          ),
          lastFailedAt: Type.Optional(
            Type.String({ description: "When archive_command last failed (RFC 3339)." }),
          ),
          walFilesAwaitingArchive: Type.Optional(
            Type.Integer({
              minimum: 0,
              description:
                "WAL files the primary has completed and not archived yet (.ready in pg_wal/archive_status); one waiting over a minute makes BackupReady False, ArchivingStalled.",
            }),
          ),
          lastBackup: Type.Optional(
            Type.Object(
              {
                name: Type.String({ description: "The Backup record's name." }),
                label: Type.String({ description: "pgBackRest's label of the set." }),
                type: Type.String({ description: "full, diff or incr." }),
                completedAt: Type.String({ description: "When it completed (RFC 3339)." }),
              },
              {
                description:
                  "The newest Completed Backup of this cluster's repository: the base backup a restore of now would start from.",
              },
            ),
          ),
        },
        {
          description:
            "Continuous archiving as the operator set it up (spec.backup); the BackupReady condition says how it goes.",
        },
      ),
    ),
  }),
  printerColumns: [
    { name: "Ready", type: "integer", jsonPath: ".status.readyInstances" },
    { name: "Instances", type: "integer", jsonPath: ".spec.instances" },
    { name: "Primary", type: "integer", jsonPath: ".status.primary.id" },
    { name: "Failover", type: "string", jsonPath: ".status.election.phase" },
    { name: "Switchover", type: "string", jsonPath: ".status.switchover.phase", priority: 1 },
    { name: "Operation", type: "string", jsonPath: ".status.operation.summary" },
    {
      name: "Healthy",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    },
  ],
  validations: [memberSetNameRule(nameSuffixes)],
});

export type PostgresCluster = ResourceOf<typeof PostgresCluster>;
export type PostgresClusterSpec = PostgresCluster["spec"];
export type PostgresClusterStatus = NonNullable<PostgresCluster["status"]>;
export type InstanceStatus = NonNullable<PostgresClusterStatus["instances"]>[number];

/** spec.synchronous as the plans read it. */
export function synchronousOf(spec: PostgresClusterSpec): Synchronous {
  return spec.synchronous ? { any: spec.synchronous.any } : "off";
}

/** spec.failoverDelaySeconds as the plans read it (ms). */
export function failoverDelayMs(spec: PostgresClusterSpec): number {
  return (spec.failoverDelaySeconds ?? 3) * 1000;
}
