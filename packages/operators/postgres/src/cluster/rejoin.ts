/**
 * Rejoin: every instance that is not the primary follows it as a standby
 * (plan/rejoin.ts decides, per instance). Runs only with a settled primary
 * and no failover or switchover recorded (those repoint their own
 * standbys). Per instance:
 *
 * 1. `following`: nothing to do; a rewind recorded for it is cleared.
 * 2. `repoint`: its slot on the primary, then its running server pointed
 *    at the primary live (a new pod when it does not answer) — unless its
 *    pod was made to follow the primary already (it is connecting: wait).
 * 3. `rewind`: recorded in status first (`status.rewinding`), CHECKPOINT on
 *    the primary when its control file still names the old timeline
 *    (pg_rewind reads the source's timeline from there), then a new pod
 *    whose start runs pg_rewind from the primary (objects.ts) — unless
 *    its pod was made for that rewind already (it is rewinding or
 *    starting: wait).
 * 4. `fence`: a writer that is not the primary (an old primary back with
 *    its marker): its pod is deleted, its replacement starts in recovery.
 * 5. `foreign`: another cluster's data on its volume: never rejoined,
 *    rewound or deleted — Degraded names it, for a human.
 */
import type { StepResult } from "@ballast/stateful";
import { describeBlocker } from "../plan/blockers.ts";
import { formatLsn } from "../plan/lsn.ts";
import { planRejoin } from "../plan/rejoin.ts";
import { settledPrimary } from "../plan/switchover.ts";
import { annotations, instanceHost } from "../resources.ts";
import { repoint } from "./failover.ts";
import type { PostgresScope } from "./scope.ts";

export interface RejoinOutcome {
  result: StepResult;
  waiting?: string;
  foreign?: string;
}

export async function rejoin(s: PostgresScope): Promise<RejoinOutcome> {
  const obs = s.observation;
  if (!obs) return { result: "continue" };
  const p = settledPrimary(obs);
  if ("kind" in p) return { result: "continue" };
  const waits: string[] = [];
  const foreign: string[] = [];
  let rewinding = s.status.rewinding ?? [];
  const keepRewinding = async (next: typeof rewinding) => {
    if (next.length === rewinding.length) return;
    rewinding = next;
    await s.writeStatus({ rewinding: next });
  };
  for (const m of s.members() ?? []) {
    if (m.id === p.id) continue;
    const d = planRejoin(obs, m.id, p.id);
    switch (d.kind) {
      case "following":
        await keepRewinding(rewinding.filter((w) => w.id !== m.id));
        break;
      case "repoint": {
        const how = (await repoint(s, [m.id], p.id)).get(m.id);
        if (how === "following")
          waits.push(`instance ${m.id} is starting to stream from the primary`);
        else
          s.event(
            "Repointing",
            "Rejoin",
            how === "live"
              ? `instance ${m.id} now streams from the primary (instance ${p.id}), without a restart`
              : `instance ${m.id} does not answer: its new pod streams from the primary (instance ${p.id})`,
          );
        break;
      }
      case "rewind": {
        const pod = s.pod(m.id);
        const madeForIt =
          pod?.metadata.annotations?.[annotations.rewind] === instanceHost(s.r, p.id);
        if (madeForIt) {
          waits.push(`instance ${m.id} is being rewound from the primary`);
          break;
        }
        await keepRewinding([...rewinding.filter((w) => w.id !== m.id), { id: m.id, from: p.id }]);
        const primary = s.address(p.id);
        if (d.checkpointFirst && primary) await s.postgres.checkpoint(primary);
        await s.ensureSlotOn(p.id, m.id);
        await s.deletePod(m.id);
        s.event(
          "Rewinding",
          "Rejoin",
          `instance ${m.id} diverged from the primary (${d.why}): its new pod runs pg_rewind from instance ${p.id} before it starts as a standby`,
          "Warning",
        );
        if (d.discards && d.discards.bytes > 0n) {
          s.deps.metrics?.discardedWal(s.namespace, s.r.metadata.name ?? "", d.discards.bytes);
          s.event(
            "WalDiscarded",
            "Rejoin",
            `instance ${m.id} wrote ${d.discards.bytes} bytes of WAL after its timeline ended at ${formatLsn(d.discards.switchpoint)} in the primary's history: pg_rewind discards them, with any commit in them${s.r.spec.synchronous ? "" : " (synchronous replication is off: some may have been acknowledged to clients)"}`,
            "Warning",
          );
        }
        break;
      }
      case "fence":
        await s.deletePod(m.id);
        s.event(
          "Fencing",
          "Rejoin",
          `instance ${m.id} takes writes but is not the primary (instance ${p.id}): its pod is replaced by one that starts as a standby`,
          "Warning",
        );
        break;
      case "foreign":
        foreign.push(
          `instance ${m.id} holds another cluster's data (system identifier ${d.systemIdentifier}, this cluster's is ${obs.status.systemIdentifier}); it is left alone: check its claim, or delete it (and its pod) to make the instance clone the primary`,
        );
        break;
      case "wait":
        waits.push(...d.blockers.map(describeBlocker));
        break;
    }
  }
  return {
    result: "continue",
    ...(waits.length > 0 ? { waiting: waits.join("; ") } : {}),
    ...(foreign.length > 0 ? { foreign: foreign.join("; ") } : {}),
  };
}
