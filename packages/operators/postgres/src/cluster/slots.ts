/**
 * Replication slots: one physical slot `instance_<id>` on the primary for
 * every other instance, so the primary keeps the WAL a standby has not
 * received while it is down or restarting (and pg_basebackup clones
 * through it). PostgreSQL 15 does not copy slots to standbys, so a new
 * primary has none until this step makes them. Steps, with a primary:
 *
 * 1. Make each missing slot of an instance that is not being removed.
 * 2. Drop the primary's inactive `instance_<id>` slots of instances the
 *    cluster no longer has (or of itself): a slot nobody reads keeps WAL
 *    forever, until the disk is full.
 * 3. On each standby, drop inactive `instance_<id>` slots (left from when
 *    it was primary): on a standby too, a slot holds WAL back.
 *
 * Slots that are not the operator's (another name) are never touched.
 */
import type { ReplicationSlot } from "../admin/port.ts";
import { names } from "../resources.ts";
import type { PostgresScope } from "./scope.ts";

const ours = /^instance_([0-9]+)$/;

export function slotChanges(
  primary: number,
  wanted: readonly number[],
  slots: readonly ReplicationSlot[],
): { create: string[]; drop: string[] } {
  const want = new Set(wanted.filter((id) => id !== primary).map((id) => names.slot(id)));
  const have = new Set(slots.map((s) => s.name));
  return {
    create: [...want].filter((n) => !have.has(n)).sort(),
    drop: slots
      .filter((s) => ours.test(s.name) && !s.active && !want.has(s.name))
      .map((s) => s.name)
      .sort(),
  };
}

export async function syncSlots(s: PostgresScope): Promise<string | undefined> {
  const primary = s.pg.primary?.id;
  if (primary === undefined) return undefined;
  const wanted = (s.members() ?? []).filter((m) => !m.removing).map((m) => m.id);
  const problems: string[] = [];
  for (const [id, report] of s.reports) {
    const address = s.address(id);
    if (!report.reachable || !address) continue;
    const isPrimary = id === primary && report.role === "primary";
    if (!isPrimary && report.role === "primary") continue;
    const { create, drop } = slotChanges(primary, isPrimary ? wanted : [], report.slots);
    for (const name of create) {
      await s.postgres.ensureSlot(address, name).catch((err: Error) => {
        problems.push(`cannot create slot ${name} on the primary: ${err.message}`);
      });
    }
    for (const name of drop) {
      await s.postgres.dropSlot(address, name).catch((err: Error) => {
        problems.push(`cannot drop slot ${name} on instance ${id}: ${err.message}`);
      });
    }
  }
  return problems.length > 0 ? problems.join("; ") : undefined;
}
