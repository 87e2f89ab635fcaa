/**
 * What `ballast status` shows of a PostgresCluster, from the object alone
 * (`.status` and the switchover request annotation): is it serving, which
 * instance is the primary and on which timeline, which standbys commits
 * wait for, a failover or a switchover under way and its phase, a
 * switchover asked for and not begun, what is Degraded and why, whether
 * WAL archiving works and which base backup is the newest, each
 * instance's role, WAL position and lag, and what the operator is doing
 * and waiting for.
 */
import type { KubeObject, StatusView, StatusViewOptions } from "@ballast/runtime";
import {
  ago,
  conditionLines,
  fields,
  paint,
  paintStatus,
  type Style,
  table,
} from "@ballast/runtime/text";
import { operationLines } from "@ballast/stateful";
import type { PostgresCluster, PostgresClusterStatus } from "./api.ts";
import { annotations, names } from "./resources.ts";

const instance = (id: number) => `instance ${id}`;

const words = {
  member: instance,
  restarts: "instances restarted",
  moves: "instances settled",
};

/** `512 B`, `3.2 MiB`: a standby's lag, readable. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function since(at: string, now: Date): string {
  const when = ago(at, now);
  return when ? `since ${at}, ${when}` : `since ${at}`;
}

/** The failover record (status.election) in one line. */
function failoverLine(e: NonNullable<PostgresClusterStatus["election"]>, now: Date): string {
  switch (e.phase) {
    case "fencing":
      return `${instance(e.from)} lost: fencing it (${since(e.startedAt, now)})`;
    case "promoting":
      return `${instance(e.from)} → ${instance(e.to)}: promoting (${since(e.startedAt, now)})`;
    case "repointing":
      return `${instance(e.from)} → ${instance(e.to)}: repointing the standbys (${since(e.startedAt, now)})`;
  }
}

const switchoverPhases = {
  checkpointing: "checkpoint on the primary",
  stopping: "stopping the primary",
  promoting: "promoting",
  rejoining: "repointing the old primary and the standbys",
} as const;

/** The synchronous_standby_names the primary applies, or off. */
function synchronousLine(r: PostgresCluster): string {
  const s = r.status?.synchronous;
  if (!r.spec.synchronous) return "off";
  if (!s) return `ANY ${r.spec.synchronous.any} (not set yet)`;
  const named = s.standbys.length ? s.standbys.map(instance).join(", ") : "none";
  return `ANY ${s.any} of ${named}`;
}

/** The switchover the annotation asks for, while the operator has not begun it. */
function requestLine(r: PostgresCluster): string | undefined {
  const value = r.metadata.annotations?.[annotations.switchoverTo];
  if (value === undefined || r.status?.switchover) return undefined;
  const v = value.trim();
  const to = v === "any" || v === "" ? "the most advanced standby" : `instance ${v}`;
  return `to ${to} (${annotations.switchoverTo}=${value}), not begun yet`;
}

/** spec.backup's WAL archiving: the BackupReady verdict and the last WAL archived. */
function archivingLine(r: PostgresCluster, style: Style, now: Date): string | undefined {
  if (!r.spec.backup) return undefined;
  const c = r.status?.conditions?.find((x) => x.type === "BackupReady");
  const b = r.status?.backup;
  const last = b?.lastArchivedWal
    ? `, last ${b.lastArchivedWal}${b.lastArchivedAt ? ` ${ago(b.lastArchivedAt, now) ?? b.lastArchivedAt}` : ""}`
    : "";
  const waiting = b?.walFilesAwaitingArchive
    ? `, ${b.walFilesAwaitingArchive} WAL files waiting`
    : "";
  if (!c) return paint(style, "yellow", "not set up yet");
  const verdict = c.status === "True" ? c.reason : `${c.reason}: ${c.message}`;
  return paintStatus(style, `${verdict}${last}${waiting}`, c.status === "True");
}

/** The newest Completed Backup (status.backup.lastBackup). */
function lastBackupLine(r: PostgresCluster, style: Style, now: Date): string | undefined {
  if (!r.spec.backup) return undefined;
  const l = r.status?.backup?.lastBackup;
  if (!l) return paint(style, "yellow", "none yet");
  const when = ago(l.completedAt, now);
  return `${l.name} (${l.type} ${l.label}), completed ${l.completedAt}${when ? `, ${when}` : ""}`;
}

function degradedLine(status: PostgresClusterStatus, style: Style): string | undefined {
  const d = status.conditions?.find((c) => c.type === "Degraded" && c.status === "True");
  return d && paint(style, "red", `${d.reason}: ${d.message || "-"}`);
}

function problemOf(
  i: NonNullable<PostgresClusterStatus["instances"]>[number],
  now: Date,
): string | undefined {
  if (i.unreachableSince === undefined) return i.problem;
  const when = ago(i.unreachableSince, now);
  const silent = `no answer${when ? ` since ${when.replace(/ ago$/, "")}` : ""}`;
  return i.problem ? `${silent}: ${i.problem}` : silent;
}

function instanceLines(r: PostgresCluster, options: StatusViewOptions): string[] {
  const { style, now } = options;
  const status = r.status ?? {};
  const list = status.instances ?? [];
  if (list.length === 0) return ["Instances: none yet"];
  const sync = new Set(status.synchronous?.standbys ?? []);
  const rewinding = new Map((status.rewinding ?? []).map((x) => [x.id, x.from]));
  return [
    "Instances:",
    ...table(
      ["ID", "POD", "ROLE", "READY", "TIMELINE", "LSN", "LAG", "SYNC", "PROBLEM"],
      list.map((i) => {
        const from = rewinding.get(i.id);
        const problem = [
          from === undefined ? undefined : `rewinding from ${instance(from)}`,
          i.removing ? "removing" : undefined,
          problemOf(i, now),
        ].filter(Boolean);
        return [
          `${i.id}${status.primary?.id === i.id ? "*" : ""}`,
          i.pod,
          i.role ?? "-",
          paintStatus(style, i.ready ? "yes" : "no", i.ready),
          i.timeline === undefined ? "-" : String(i.timeline),
          i.lsn ?? "-",
          i.lagBytes === undefined ? "-" : formatBytes(i.lagBytes),
          sync.has(i.id) ? "yes" : "-",
          problem.length ? paint(style, "yellow", problem.join("; ")) : "-",
        ];
      }),
    ).map((line) => `  ${line}`),
  ];
}

export function renderPostgresCluster(r: PostgresCluster, options: StatusViewOptions): string {
  const { style, now } = options;
  const status = r.status ?? {};
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const serving = status.readyInstances ?? (status.instances ?? []).filter((i) => i.ready).length;
  const sw = status.switchover;
  const ns = r.metadata.namespace ?? "default";
  const lines = [
    `PostgresCluster ${ns}/${r.metadata.name ?? ""}: ${ready ? paintStatus(style, ready.status === "True" ? "Ready" : "not Ready", ready.status === "True") : "no status yet"}`,
    ...fields([
      ["Version", r.spec.version],
      [
        "Instances serving",
        paintStatus(style, `${serving}/${r.spec.instances}`, serving >= r.spec.instances),
      ],
      [
        "Primary",
        status.primary
          ? `${instance(status.primary.id)} (timeline ${status.primary.timeline})`
          : paint(style, "red", "none"),
      ],
      ["Synchronous", synchronousLine(r)],
      ["Failover", status.election && paint(style, "yellow", failoverLine(status.election, now))],
      [
        "Switchover",
        sw &&
          paint(
            style,
            "yellow",
            `${instance(sw.from)} → ${instance(sw.to)}: ${switchoverPhases[sw.phase]} (${since(sw.startedAt, now)})`,
          ),
      ],
      ["Switchover asked", requestLine(r)],
      ["Degraded", degradedLine(status, style)],
      ["Archiving", archivingLine(r, style, now)],
      ["Last backup", lastBackupLine(r, style, now)],
      [
        "Services",
        `${names.readWrite(r)} (primary), ${names.readOnly(r)} (standbys), ${names.read(r)} (any)`,
      ],
      ["System id", status.systemIdentifier],
    ]),
    "",
    ...instanceLines(r, options),
    "",
    ...conditionLines(status.conditions, style),
    "",
    ...(status.operation ? operationLines(status.operation, options, words) : ["Operation: none"]),
  ];
  return lines.join("\n");
}

/** The PostgreSQL operator's `ballast status` view. */
export const postgresStatusView: StatusView = (object: KubeObject, options) =>
  object.apiVersion === "ballast.dev/v1alpha1" && object.kind === "PostgresCluster"
    ? renderPostgresCluster(object as PostgresCluster, options)
    : undefined;
