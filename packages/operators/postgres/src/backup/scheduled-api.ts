/**
 * `ScheduledBackup` (ballast.dev/v1alpha1, `pgschedbackup`): a Backup of a
 * PostgresCluster made on a cron schedule, in UTC, like a CronJob makes
 * Jobs. Each run is an ordinary Backup named `<name>-<yyyymmddhhmm>` (its
 * scheduled minute), labelled `ballast.dev/scheduled-backup: <name>` and
 * not owned by it (deleting a schedule keeps the records a restore
 * names), so it shows, restores and expires like one made by hand. Completed records are never deleted
 * by the schedule: retention (spec.backup.retention) decides what stays
 * in the bucket, and a record turns Expired when its set goes; only Failed
 * and Expired records beyond the history limits are deleted.
 */
import { Conditions, defineResource, type ResourceOf } from "@ballast/runtime";
import Type from "typebox";
import { ClusterRef } from "./api.ts";

/** The name is the value of the label on its Backups (`ballast.dev/scheduled-backup`), at most 63 characters. */
export const scheduledNameMax = 63;

export const ScheduledBackup = defineResource({
  group: "ballast.dev",
  version: "v1alpha1",
  kind: "ScheduledBackup",
  plural: "scheduledbackups",
  shortNames: ["pgschedbackup"],
  categories: ["ballast"],
  scope: "Namespaced",
  description:
    "Backups of a PostgresCluster (in this namespace) on a cron schedule: each run is a Backup named <name>-<yyyymmddhhmm>.",
  spec: Type.Object({
    cluster: ClusterRef(),
    schedule: Type.String({
      description:
        "When, as a 5-field cron expression in UTC (minute hour day-of-month month day-of-week, e.g. '0 2 * * *' for 02:00 every day) or @hourly, @daily, @weekly, @monthly, @yearly. An expression that cannot fire is reported in status (Ready False, InvalidSchedule).",
      minLength: 1,
      maxLength: 256,
      "x-kubernetes-validations": [
        {
          rule: "self.matches('^(@[a-z]+|\\\\S+( +\\\\S+){4})$')",
          message:
            "spec.schedule is five cron fields in UTC (minute hour day-of-month month day-of-week, e.g. '0 2 * * *') or @hourly, @daily, @weekly, @monthly, @yearly; a schedule with a seconds field (six fields, as CloudNativePG's) is not taken: drop the seconds",
        },
      ],
    }),
    type: Type.Union([Type.Literal("full"), Type.Literal("diff"), Type.Literal("incr")], {
      description: "What each run takes (Backup spec.type).",
      default: "full",
    }),
    immediate: Type.Boolean({
      description:
        "Also take one as soon as the ScheduledBackup is created, not only at the first scheduled time.",
      default: false,
    }),
    suspend: Type.Boolean({
      description:
        "Make no Backup while true. When it turns false again, one Backup is made for the runs missed, as for an operator that was down.",
      default: false,
    }),
    failedBackupsHistoryLimit: Type.Integer({
      description: "How many Failed Backups of this schedule are kept (the oldest are deleted).",
      minimum: 0,
      maximum: 100,
      default: 3,
    }),
    expiredBackupsHistoryLimit: Type.Integer({
      description:
        "How many Expired Backups of this schedule (their set removed by retention) are kept.",
      minimum: 0,
      maximum: 100,
      default: 1,
    }),
  }),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    conditions: Type.Optional(Conditions()),
    lastScheduleTime: Type.Optional(
      Type.String({
        description:
          "The scheduled time of the last Backup made (RFC 3339); runs are counted from it.",
      }),
    ),
    lastBackup: Type.Optional(Type.String({ description: "The last Backup made." })),
    nextScheduleTime: Type.Optional(
      Type.String({ description: "When the next Backup is due (RFC 3339)." }),
    ),
  }),
  printerColumns: [
    { name: "Cluster", type: "string", jsonPath: ".spec.cluster.name" },
    { name: "Schedule", type: "string", jsonPath: ".spec.schedule" },
    { name: "Suspend", type: "boolean", jsonPath: ".spec.suspend" },
    { name: "Last", type: "date", jsonPath: ".status.lastScheduleTime" },
    { name: "Next", type: "string", jsonPath: ".status.nextScheduleTime" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
  validations: [
    {
      rule: `size(self.metadata.name) <= ${scheduledNameMax}`,
      message: `metadata.name must be at most ${scheduledNameMax} characters: its Backups carry it as a label value (ballast.dev/scheduled-backup), and are named <name>-<yyyymmddhhmm>`,
    },
  ],
});

export type ScheduledBackup = ResourceOf<typeof ScheduledBackup>;
export type ScheduledBackupStatus = NonNullable<ScheduledBackup["status"]>;
