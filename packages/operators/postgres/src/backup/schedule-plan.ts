/**
 * What a ScheduledBackup does now, as pure functions: whether a run is
 * due and the Backup it makes, and which of its records go.
 *
 * - Runs are counted from the last scheduled time made (status), else
 *   from the object's creation: a time at or before it never fires.
 * - However many runs were missed (the operator down, the schedule
 *   suspended), ONE Backup is made, for the latest of them: a backup
 *   taken now covers them all, and a queue of them would only load the
 *   primary.
 * - While a Backup of the schedule is still Pending or Running, nothing
 *   new is made (pgBackRest takes one backup of a stanza at a time); the
 *   run stays due and is made once it ends.
 * - A run's Backup is named after its scheduled minute, so making it
 *   twice (an operator killed between the create and the status write)
 *   meets the first one instead of taking a second backup.
 */
import { type CronSchedule, latestCronTime, nextCronTime } from "@ballast/runtime";

export interface ScheduleInput {
  /** The ScheduledBackup's name. */
  name: string;
  schedule: CronSchedule;
  createdAt: Date;
  lastScheduleTime?: Date | undefined;
  immediate: boolean;
  suspend: boolean;
  /** A Backup of this schedule is Pending or Running. */
  running: boolean;
  now: Date;
}

export type SchedulePlan =
  | { kind: "suspended" }
  /** Nothing due; look again at `next`. */
  | { kind: "wait"; next: Date }
  /** `due` is due but the previous run has not ended. */
  | { kind: "busy"; due: Date; next: Date }
  | { kind: "create"; scheduledAt: Date; backupName: string; next: Date };

/** `<name>-<yyyymmddhhmm>` of a scheduled minute, in UTC. */
export function runName(name: string, at: Date): string {
  const iso = at.toISOString(); // 2026-12-04T01:30:00.000Z
  return `${name}-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

function minuteOf(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 60_000) * 60_000);
}

export function planSchedule(input: ScheduleInput): SchedulePlan {
  if (input.suspend) return { kind: "suspended" };
  const { schedule, now } = input;
  const next = nextCronTime(schedule, now);
  let due: Date | undefined;
  if (input.lastScheduleTime) {
    due = latestCronTime(schedule, now, input.lastScheduleTime);
  } else if (input.immediate) {
    due = minuteOf(now);
  } else {
    due = latestCronTime(schedule, now, input.createdAt);
  }
  if (!due) return { kind: "wait", next };
  if (input.running) return { kind: "busy", due, next };
  return { kind: "create", scheduledAt: due, backupName: runName(input.name, due), next };
}

/** What `recordsToDelete()` reads of the schedule's Backups. */
export interface ScheduledRecord {
  name: string;
  phase: string | undefined;
  createdAt: string;
}

/** The Failed and Expired records beyond the limits, oldest first; Completed, Pending and Running ones are never named. */
export function recordsToDelete(
  records: readonly ScheduledRecord[],
  limits: { failed: number; expired: number },
): string[] {
  const beyond = (phase: string, keep: number) =>
    records
      .filter((r) => r.phase === phase)
      .sort(
        (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.name < b.name ? 1 : -1),
      )
      .slice(keep)
      .reverse()
      .map((r) => r.name);
  return [...beyond("Failed", limits.failed), ...beyond("Expired", limits.expired)];
}
