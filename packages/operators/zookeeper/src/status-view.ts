/**
 * What `ballast status` shows of a ZooKeeperEnsemble: is it serving, who
 * leads, each member's role and last zxid, and what the operator is doing
 * and waiting for — from `.status` alone.
 */
import type { KubeObject, StatusView, StatusViewOptions } from "@ballast/runtime";
import { conditionLines, fields, paint, paintStatus, table } from "@ballast/runtime/text";
import { operationLines } from "@ballast/stateful";
import type { ZooKeeperEnsemble } from "./api.ts";

const words = {
  member: (id: number) => `member ${id}`,
  restarts: "members restarted",
  moves: "voters reconfigured",
};

export function renderEnsemble(e: ZooKeeperEnsemble, options: StatusViewOptions): string {
  const { style } = options;
  const status = e.status ?? {};
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const members = status.members ?? [];
  const serving = status.readyMembers ?? members.filter((m) => m.ready).length;
  const lines = [
    `ZooKeeperEnsemble ${e.metadata.namespace ?? "default"}/${e.metadata.name ?? ""}: ${ready ? paintStatus(style, ready.status === "True" ? "Ready" : "not Ready", ready.status === "True") : "no status yet"}`,
    ...fields([
      ["Version", e.spec.version],
      [
        "Members serving",
        paintStatus(style, `${serving}/${e.spec.replicas}`, serving >= e.spec.replicas),
      ],
      ["Leader", status.leader === undefined ? "none" : `member ${status.leader}`],
      ["Config version", status.configVersion],
      ["Connect", status.connectString],
    ]),
    "",
  ];
  if (members.length === 0) lines.push("Members: none yet");
  else
    lines.push(
      "Members:",
      ...table(
        ["ID", "POD", "ROLE", "VOTER", "READY", "ZXID", "REMOVING"],
        members.map((m) => [
          String(m.id),
          m.pod,
          m.role || "-",
          m.voter ? "yes" : "no",
          paintStatus(style, m.ready ? "yes" : "no", m.ready),
          m.zxid ?? "-",
          m.removing ? paint(style, "yellow", "yes") : "-",
        ]),
      ).map((line) => `  ${line}`),
    );
  lines.push("", ...conditionLines(status.conditions, style), "");
  lines.push(
    ...(status.operation ? operationLines(status.operation, options, words) : ["Operation: none"]),
  );
  return lines.join("\n");
}

/** The ZooKeeper operator's `ballast status` view (its descriptor's `status`). */
export const zookeeperStatusView: StatusView = (object: KubeObject, options) =>
  object.apiVersion === "ballast.dev/v1alpha1" && object.kind === "ZooKeeperEnsemble"
    ? renderEnsemble(object as ZooKeeperEnsemble, options)
    : undefined;
