/**
 * The ScheduledBackup controller: makes the Backup each run of the
 * schedule asks for (the Backup controller takes it). Steps, per
 * ScheduledBackup:
 *
 * 1. spec.schedule is parsed (`parseCron`); one that does not parse or
 *    can never fire is Ready False, InvalidSchedule, naming the field and
 *    what is wrong, and nothing is made.
 * 2. The schedule's Backups (label `ballast.dev/scheduled-backup`) are
 *    listed: is one still Pending or Running?
 * 3. `planSchedule` says what is due (schedule-plan.ts: one Backup for
 *    however many runs were missed, none while the last one runs).
 * 4. A due run: its Backup `<name>-<yyyymmddhhmm>` is created, labelled
 *    but NOT owned by the ScheduledBackup: deleting a schedule must not
 *    take the records a restore names with it. THEN lastScheduleTime is
 *    written. Killed in between, the next reconcile plans the same run,
 *    meets the Backup it made (AlreadyExists) and records it.
 * 5. Failed and Expired records beyond the history limits are deleted
 *    (`recordsToDelete`); Completed ones never are.
 * 6. Status: Ready, lastScheduleTime, lastBackup, nextScheduleTime; looked
 *    at again at the next scheduled time (sooner while a run is busy).
 */
import {
  Action,
  type ControllerContext,
  type ControllerOptions,
  CronParseError,
  controller,
  type EventRecorder,
  isAlreadyExists,
  isNotFound,
  type KubeClient,
  parseCron,
  setCondition,
} from "@ballast/runtime";
import { Backup } from "./api.ts";
import { planSchedule, recordsToDelete } from "./schedule-plan.ts";
import { ScheduledBackup, type ScheduledBackupStatus } from "./scheduled-api.ts";
import { writeStatusOf } from "./status-write.ts";

/** The label on a schedule's Backups: the ScheduledBackup's name. */
export const scheduledBackupLabel = "ballast.dev/scheduled-backup";

export interface ScheduledBackupControllerDeps {
  events?: EventRecorder;
  now?: () => Date;
  /** How soon a run that waits for the previous one is looked at again. @default 10000 */
  busyRequeueMs?: number;
}

export function scheduledBackupController(
  client: KubeClient,
  deps: ScheduledBackupControllerDeps = {},
  options: ControllerOptions = {},
) {
  return controller(client, ScheduledBackup)
    .watches<Backup>(Backup, (b) => {
      const schedule = b.metadata.labels?.[scheduledBackupLabel];
      return schedule ? [{ namespace: b.metadata.namespace ?? "default", name: schedule }] : [];
    })
    .withOptions({ name: "scheduledbackup", ...options })
    .build(async (_ref, ctx) => {
      const sb = ctx.object;
      if (!sb || sb.metadata.deletionTimestamp) return Action.done();
      return runSchedule(sb, ctx, deps);
    });
}

async function runSchedule(
  sb: ScheduledBackup,
  ctx: ControllerContext<ScheduledBackup>,
  deps: ScheduledBackupControllerDeps,
): Promise<Action> {
  const now = deps.now?.() ?? new Date();
  const namespace = sb.metadata.namespace ?? "default";
  const name = sb.metadata.name ?? "";
  const status: ScheduledBackupStatus = { ...(sb.status ?? {}) };
  // 1.
  let schedule: ReturnType<typeof parseCron>;
  try {
    schedule = parseCron(sb.spec.schedule);
  } catch (err) {
    if (!(err instanceof CronParseError)) throw err;
    const { nextScheduleTime: _, ...rest } = status;
    await report(ctx, sb, now, rest, {
      status: "False",
      reason: "InvalidSchedule",
      message: `spec.schedule ${JSON.stringify(sb.spec.schedule)}: ${err.message}`,
    });
    return Action.done();
  }
  // 2.
  const { items } = await ctx.client.listAll<Backup>(Backup, {
    namespace,
    labelSelector: `${scheduledBackupLabel}=${name}`,
    signal: ctx.signal,
  });
  const running = items.some((b) => {
    const phase = b.status?.phase;
    return phase === undefined || phase === "Pending" || phase === "Running";
  });
  // 3.
  const last = status.lastScheduleTime ? new Date(status.lastScheduleTime) : undefined;
  const plan = planSchedule({
    name,
    schedule,
    createdAt: new Date(sb.metadata.creationTimestamp ?? now.toISOString()),
    lastScheduleTime: last,
    immediate: sb.spec.immediate,
    suspend: sb.spec.suspend,
    running,
    now,
  });
  // 5.
  const limits = {
    failed: sb.spec.failedBackupsHistoryLimit,
    expired: sb.spec.expiredBackupsHistoryLimit,
  };
  for (const old of recordsToDelete(
    items.map((b) => ({
      name: b.metadata.name ?? "",
      phase: b.status?.phase,
      createdAt: b.metadata.creationTimestamp ?? "",
    })),
    limits,
  )) {
    try {
      await ctx.client.delete(Backup, { namespace, name: old }, { signal: ctx.signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  switch (plan.kind) {
    case "suspended": {
      const { nextScheduleTime: _, ...rest } = status;
      await report(ctx, sb, now, rest, {
        status: "True",
        reason: "Suspended",
        message: "spec.suspend is true: no Backup is made until it is false",
      });
      return Action.done();
    }
    case "wait":
    case "busy": {
      const message =
        plan.kind === "busy"
          ? `the run of ${plan.due.toISOString()} waits for the previous Backup to end`
          : `next Backup at ${plan.next.toISOString()}`;
      await report(
        ctx,
        sb,
        now,
        { ...status, nextScheduleTime: plan.next.toISOString() },
        {
          status: "True",
          reason: plan.kind === "busy" ? "WaitingForPreviousBackup" : "Scheduled",
          message: message,
        },
      );
      if (plan.kind === "busy") return Action.requeueAfter(deps.busyRequeueMs ?? 10_000);
      return lookAt(plan.next, now);
    }
    case "create": {
      // 4.
      try {
        await ctx.client.create<Backup>(
          {
            apiVersion: Backup.apiVersion,
            kind: Backup.kind,
            metadata: {
              name: plan.backupName,
              namespace,
              labels: { [scheduledBackupLabel]: name },
              annotations: { "ballast.dev/scheduled-at": plan.scheduledAt.toISOString() },
            },
            spec: { cluster: { name: sb.spec.cluster.name }, type: sb.spec.type },
          },
          { signal: ctx.signal },
        );
        deps.events?.event(sb, {
          type: "Normal",
          reason: "BackupCreated",
          action: "Schedule",
          note: `Backup ${plan.backupName} for the run of ${plan.scheduledAt.toISOString()}`,
        });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      // 6.
      await report(
        ctx,
        sb,
        now,
        {
          ...status,
          lastScheduleTime: plan.scheduledAt.toISOString(),
          lastBackup: plan.backupName,
          nextScheduleTime: plan.next.toISOString(),
        },
        {
          status: "True",
          reason: "Scheduled",
          message: `next Backup at ${plan.next.toISOString()}`,
        },
      );
      return lookAt(plan.next, now);
    }
  }
}

/** Writes `status` with its Ready condition set to `ready`. */
function report(
  ctx: ControllerContext<ScheduledBackup>,
  sb: ScheduledBackup,
  now: Date,
  status: ScheduledBackupStatus,
  ready: { status: "True" | "False"; reason: string; message: string },
): Promise<void> {
  const generation = sb.metadata.generation;
  const conditions = setCondition(
    status.conditions ?? [],
    {
      type: "Ready",
      ...ready,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    },
    now,
  );
  return writeStatusOf(ctx, ScheduledBackup, sb, { ...status, conditions });
}

/**
 * The longest a schedule waits between looks: a @monthly schedule's next
 * run is beyond what a timer holds (2^31 ms, 24.8 days), and a look every
 * hour also picks up a clock that jumped.
 */
const maxLookMs = 3600_000;

function lookAt(next: Date, now: Date): Action {
  return Action.requeueAfter(Math.max(1000, Math.min(maxLookMs, next.getTime() - now.getTime())));
}
