/**
 * What `ballast status` shows of a RedisReplication: is it serving, which
 * member is master and how many sentinels agree, each member's role,
 * offset and link, each sentinel and whom it names, the last repair, and
 * what the operator is doing and waiting for — from `.status` alone.
 */
import type { KubeObject, StatusView, StatusViewOptions } from "@ballast/runtime";
import { conditionLines, fields, paint, paintStatus, table } from "@ballast/runtime/text";
import { operationLines } from "@ballast/stateful";
import type { RedisReplication } from "./api.ts";

const words = {
  member: (id: number) => `member ${id}`,
  restarts: "members restarted",
  moves: "replicas settled",
};

export function renderReplication(r: RedisReplication, options: StatusViewOptions): string {
  const { style } = options;
  const status = r.status ?? {};
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const members = status.members ?? [];
  const desired = r.spec.replicas + 1;
  const serving = status.readyMembers ?? members.filter((m) => m.ready).length;
  const sw = status.switchover;
  const lines = [
    `RedisReplication ${r.metadata.namespace ?? "default"}/${r.metadata.name ?? ""}: ${ready ? paintStatus(style, ready.status === "True" ? "Ready" : "not Ready", ready.status === "True") : "no status yet"}`,
    ...fields([
      ["Version", r.spec.version],
      ["Members serving", paintStatus(style, `${serving}/${desired}`, serving >= desired)],
      ["Master", status.master === undefined ? "none" : `member ${status.master}`],
      [
        "Sentinels agreeing",
        status.sentinelsAgreeing === undefined
          ? undefined
          : `${status.sentinelsAgreeing}/${r.spec.sentinels}`,
      ],
      ["Master endpoint", status.masterEndpoint],
      ["Sentinels", status.sentinelEndpoint && `${status.sentinelEndpoint} (${status.masterName})`],
      [
        "Switchover",
        sw && `member ${sw.from} → member ${sw.to} through sentinel ${sw.via}, writes paused`,
      ],
      [
        "Last repair",
        status.lastRepair && `${status.lastRepair.action}: ${status.lastRepair.reason}`,
      ],
    ]),
    "",
  ];
  if (members.length === 0) lines.push("Members: none yet");
  else
    lines.push(
      "Members:",
      ...table(
        ["ID", "POD", "ROLE", "READY", "OFFSET", "LINK", "REMOVING"],
        members.map((m) => [
          String(m.id),
          m.pod,
          m.role || "-",
          paintStatus(style, m.ready ? "yes" : "no", m.ready),
          m.offset === undefined ? "-" : String(m.offset),
          m.masterLink ?? "-",
          m.removing ? paint(style, "yellow", "yes") : "-",
        ]),
      ).map((line) => `  ${line}`),
    );
  const sentinels = status.sentinels ?? [];
  if (sentinels.length > 0)
    lines.push(
      "",
      "Sentinels:",
      ...table(
        ["ID", "POD", "MONITORING", "NAMES"],
        sentinels.map((s) => [
          String(s.id),
          s.pod,
          paintStatus(style, s.ready ? "yes" : "no", s.ready),
          s.names === undefined ? "-" : `member ${s.names}`,
        ]),
      ).map((line) => `  ${line}`),
    );
  lines.push("", ...conditionLines(status.conditions, style), "");
  lines.push(
    ...(status.operation ? operationLines(status.operation, options, words) : ["Operation: none"]),
  );
  return lines.join("\n");
}

/** The Redis operator's `ballast status` view (its descriptor's `status`). */
export const redisStatusView: StatusView = (object: KubeObject, options) =>
  object.apiVersion === "ballast.dev/v1alpha1" && object.kind === "RedisReplication"
    ? renderReplication(object as RedisReplication, options)
    : undefined;
