/**
 * What `ballast status` shows of the Redis operator's two kinds, from
 * `.status` alone:
 *
 * - a RedisReplication: is it serving, which member is master and how
 *   many sentinels agree, each member's role, offset and link, each
 *   sentinel and whom it names, the last repair;
 * - a RedisCluster: nodes serving, slots owned, each shard's master and
 *   replicas (who serves), its slots, its state, each node's role and
 *   node id, a failover in progress and the slot moves remaining;
 *
 * and for both, the conditions and what the operator is doing and
 * waiting for.
 */
import type { KubeObject, StatusView, StatusViewOptions } from "@ballast/runtime";
import { conditionLines, fields, paint, paintStatus, table } from "@ballast/runtime/text";
import { operationLines } from "@ballast/stateful";
import { SLOTS } from "./admin/cluster-port.ts";
import type { RedisReplication } from "./api.ts";
import type { RedisCluster } from "./cluster/api.ts";
import { type ShardHealth, shardHealth } from "./cluster/status.ts";

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

const clusterWords = {
  member: (id: number) => `node ${id}`,
  restarts: "nodes restarted",
  moves: "slot moves done",
};

/** A shard's state in one word or two: what is missing first. */
function shardState(s: ShardHealth, replicasPerShard: number): { text: string; good: boolean } {
  if (s.removing) return { text: "removing", good: true };
  if (s.master === undefined) return { text: "no master", good: false };
  if (!s.masterServing) return { text: "master not serving", good: false };
  if (s.replicasServing < replicasPerShard)
    return { text: `${s.replicasServing}/${replicasPerShard} replicas serving`, good: false };
  return { text: "ok", good: true };
}

export function renderCluster(r: RedisCluster, options: StatusViewOptions): string {
  const { style } = options;
  const status = r.status ?? {};
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const replicasPerShard = r.spec.replicasPerShard ?? 1;
  const desired = r.spec.shards * (1 + replicasPerShard);
  const nodes = status.nodes ?? [];
  const serving = status.readyNodes ?? nodes.filter((n) => n.ready && !n.removing).length;
  const slots = status.slotsAssigned;
  const op = status.operation;
  const moves =
    op && op.type !== "Roll" && op.movesRemaining !== undefined
      ? `${op.movesRemaining} remaining${op.movesTotal === undefined ? "" : ` of ${op.movesTotal}`}`
      : undefined;
  const f = status.failover;
  const shards = shardHealth(status);
  const lines = [
    `RedisCluster ${r.metadata.namespace ?? "default"}/${r.metadata.name ?? ""}: ${ready ? paintStatus(style, ready.status === "True" ? "Ready" : "not Ready", ready.status === "True") : "no status yet"}`,
    ...fields([
      ["Version", `${status.engine ?? r.spec.engine ?? "redis"} ${r.spec.version}`],
      ["Nodes serving", paintStatus(style, `${serving}/${desired}`, serving >= desired)],
      [
        "Shards",
        `${r.spec.shards} × (master + ${replicasPerShard} ${replicasPerShard === 1 ? "replica" : "replicas"})`,
      ],
      [
        "Slots owned",
        slots === undefined
          ? undefined
          : paintStatus(style, `${slots}/${SLOTS}`, slots === SLOTS || undefined),
      ],
      ["Formed", status.formed ? "yes" : "not yet"],
      ["Endpoint", status.endpoint],
      [
        "Failover",
        f &&
          `shard ${f.shard}: node ${f.from} → node ${f.to} (CLUSTER FAILOVER since ${f.startedAt})`,
      ],
      ["Slot moves", moves],
    ]),
    "",
  ];
  if (shards.length === 0) lines.push("Shards: none yet");
  else
    lines.push(
      "Shards:",
      ...table(
        ["SHARD", "MASTER", "REPLICAS", "SLOTS", "COUNT", "STATE"],
        shards.map((s) => {
          const state = shardState(s, replicasPerShard);
          const replicas = s.replicas.map(
            (x) =>
              `${x.id}${x.removing ? " (removing)" : x.ready ? "" : ` ${paint(style, "red", "(not serving)")}`}`,
          );
          return [
            String(s.shard),
            s.master === undefined
              ? paint(style, "red", "none")
              : paintStatus(style, `node ${s.master}`, s.masterServing),
            replicas.length ? replicas.join(", ") : "-",
            s.slots || "-",
            String(s.slotCount),
            paintStatus(style, state.text, state.good),
          ];
        }),
      ).map((line) => `  ${line}`),
    );
  if (nodes.length > 0)
    lines.push(
      "",
      "Nodes:",
      ...table(
        ["ID", "SHARD", "POD", "ROLE", "READY", "NODE ID", "REMOVING"],
        nodes.map((n) => [
          String(n.id),
          String(n.shard),
          n.pod,
          n.role || "-",
          paintStatus(style, n.ready ? "yes" : "no", n.ready),
          n.nodeId ? n.nodeId.slice(0, 8) : "-",
          n.removing ? paint(style, "yellow", "yes") : "-",
        ]),
      ).map((line) => `  ${line}`),
    );
  lines.push("", ...conditionLines(status.conditions, style), "");
  lines.push(...(op ? operationLines(op, options, clusterWords) : ["Operation: none"]));
  return lines.join("\n");
}

/** The Redis operator's `ballast status` view (its descriptor's `status`). */
export const redisStatusView: StatusView = (object: KubeObject, options) => {
  if (object.apiVersion !== "ballast.dev/v1alpha1") return undefined;
  if (object.kind === "RedisReplication")
    return renderReplication(object as RedisReplication, options);
  if (object.kind === "RedisCluster") return renderCluster(object as RedisCluster, options);
  return undefined;
};
