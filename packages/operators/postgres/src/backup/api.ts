/**
 * `Backup` (ballast.dev/v1alpha1, `pgbackup`): one base backup of a
 * PostgresCluster asked for now, taken by pgBackRest in the primary's
 * container into the cluster's spec.backup repository. Its status says
 * how it went, with what a restore needs: pgBackRest's label, the WAL
 * positions it starts and is consistent at, its sizes and times. A
 * Backup is a record: deleting it deletes nothing in the bucket
 * (retention, spec.backup.retention, decides what goes there).
 */
import { Conditions, defineResource, type ResourceOf } from "@ballast/runtime";
import Type from "typebox";

/** spec.cluster of both backup kinds: the PostgresCluster, in the same namespace. */
export function ClusterRef() {
  return Type.Object(
    {
      name: Type.String({
        description: "The PostgresCluster, in this namespace, to back up.",
        minLength: 1,
        maxLength: 63,
      }),
    },
    { description: "Which cluster." },
  );
}

export const Backup = defineResource({
  group: "ballast.dev",
  version: "v1alpha1",
  kind: "Backup",
  plural: "backups",
  shortNames: ["pgbackup"],
  categories: ["ballast"],
  scope: "Namespaced",
  description:
    "A base backup of a PostgresCluster (in this namespace) into its spec.backup object store, taken once by pgBackRest on the primary.",
  spec: Type.Object(
    {
      cluster: ClusterRef(),
      type: Type.Union([Type.Literal("full"), Type.Literal("diff"), Type.Literal("incr")], {
        description:
          "full: every file; diff: what changed since the last full; incr: since the last backup of any type. A diff or incr with no full before it is taken as a full (pgBackRest's rule).",
        default: "full",
      }),
    },
    {
      "x-kubernetes-validations": [
        {
          rule: "self == oldSelf",
          message: "a Backup's spec cannot change; create another Backup",
        },
      ],
    },
  ),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    conditions: Type.Optional(Conditions()),
    phase: Type.Optional(
      Type.Union(
        [
          Type.Literal("Pending"),
          Type.Literal("Running"),
          Type.Literal("Completed"),
          Type.Literal("Failed"),
          Type.Literal("Expired"),
        ],
        {
          description:
            "Pending (waiting, the message says for what), Running, Completed, Failed, or Expired: it completed, and the cluster's retention has since removed its set from the repository (nothing left to restore).",
        },
      ),
    ),
    message: Type.Optional(
      Type.String({ description: "Why it waits or failed.", maxLength: 2048 }),
    ),
    startedAt: Type.Optional(
      Type.String({ description: "When the operator started pgBackRest (RFC 3339)." }),
    ),
    completedAt: Type.Optional(Type.String({ description: "When it ended (RFC 3339)." })),
    expiredAt: Type.Optional(
      Type.String({
        description:
          "When the operator saw its set gone from the repository (RFC 3339): at the end of a later backup, when pgBackRest applies retention.",
      }),
    ),
    instance: Type.Optional(
      Type.Integer({ minimum: 0, description: "The instance backed up (the primary then)." }),
    ),
    label: Type.Optional(
      Type.String({ description: "pgBackRest's label of the backup set, e.g. 20261203-101500F." }),
    ),
    type: Type.Optional(Type.String({ description: "What pgBackRest took: full, diff or incr." })),
    startLsn: Type.Optional(
      Type.String({ description: "The WAL position the backup starts from." }),
    ),
    stopLsn: Type.Optional(
      Type.String({
        description: "The WAL position it is consistent at: the earliest a restore reaches.",
      }),
    ),
    repository: Type.Optional(
      Type.Object(
        {
          endpoint: Type.String({ description: "The object store's endpoint." }),
          bucket: Type.String({ description: "Its bucket." }),
          path: Type.String({ description: "The cluster's repository path in it." }),
          stanza: Type.String({ description: "pgBackRest's stanza (the cluster's name)." }),
        },
        {
          description:
            "Where the backup is, recorded as it completed: a restore finds it even once the cluster it came from is gone.",
        },
      ),
    ),
    databaseBytes: Type.Optional(Type.Integer({ minimum: 0, description: "The database's size." })),
    repositoryBytes: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "What the backup set takes in the bucket (compressed).",
      }),
    ),
  }),
  printerColumns: [
    { name: "Cluster", type: "string", jsonPath: ".spec.cluster.name" },
    { name: "Type", type: "string", jsonPath: ".spec.type" },
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Label", type: "string", jsonPath: ".status.label" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
});

export type Backup = ResourceOf<typeof Backup>;
export type BackupStatus = NonNullable<Backup["status"]>;
