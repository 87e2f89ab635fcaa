/**
 * synchronous_standby_names on the primary, from spec.synchronous: `ANY
 * <any> ("<pod>", …)` over every other instance not being removed, or
 * empty when synchronous replication is off. What the primary may be
 * applying is recorded in status BEFORE it is set (the failover plan reads
 * it to know which standbys hold every acknowledged commit). Steps:
 *
 * 1. The primary applies the wanted value and status records it: done.
 * 2. The value differs: record the union of the recorded and the wanted
 *    standbys with the smaller `any` (a record the primary may be applying
 *    either side of the change: both only make the failover rule stricter),
 *    then set it (ALTER SYSTEM, reload, read back).
 * 3. Applied but status records the union: record exactly the wanted one.
 *
 * The -rw label moves to a new primary only once this step has set its
 * value (service.ts): until then it may acknowledge a commit no standby
 * holds.
 */
import { formatSynchronousStandbyNames } from "../admin/synchronous-standby-names.ts";
import type { SyncRecord } from "../plan/types.ts";
import { names } from "../resources.ts";
import type { PostgresScope } from "./scope.ts";

/** The value wanted and its record, for primary `primary` of `standbys` ids (pure). */
export function wantedSynchronous(
  any: number | undefined,
  podName: (id: number) => string,
  standbys: readonly number[],
): { value: string; record?: SyncRecord } {
  if (any === undefined || standbys.length === 0) return { value: "" };
  const sorted = [...standbys].sort((a, b) => a - b);
  const count = Math.min(any, sorted.length);
  return {
    value: formatSynchronousStandbyNames({ method: "ANY", count, names: sorted.map(podName) }),
    record: { any: count, standbys: sorted },
  };
}

/** The record while a change from `was` to `next` is in flight. */
export function inFlight(
  was: SyncRecord | undefined,
  next: SyncRecord | undefined,
): SyncRecord | undefined {
  if (!was) return next;
  if (!next) return was;
  const standbys = [...new Set([...was.standbys, ...next.standbys])].sort((a, b) => a - b);
  return { any: Math.min(was.any, next.any), standbys };
}

const same = (a: SyncRecord | undefined, b: SyncRecord | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** True when the primary applies what the spec asks (the -rw label may be on it). */
export async function syncSynchronous(s: PostgresScope): Promise<boolean> {
  const id = s.pg.primary?.id;
  const report = id === undefined ? undefined : s.reports.get(id);
  const address = id === undefined ? undefined : s.address(id);
  if (id === undefined || !report?.reachable || report.role !== "primary" || !address) return false;
  const standbys = (s.members() ?? []).filter((m) => !m.removing && m.id !== id).map((m) => m.id);
  const want = wantedSynchronous(s.r.spec.synchronous?.any, (i) => names.pod(s.r, i), standbys);
  const recorded = s.pg.synchronous;
  if (report.synchronousStandbyNames === want.value) {
    if (!same(recorded, want.record)) await s.recordPg(withSync(s, want.record));
    return true;
  }
  const flight = inFlight(recorded, want.record);
  if (!same(recorded, flight)) await s.recordPg(withSync(s, flight));
  await s.postgres.setSynchronousStandbyNames(address, want.value);
  await s.recordPg(withSync(s, want.record));
  return true;
}

function withSync(s: PostgresScope, record: SyncRecord | undefined) {
  const { synchronous: _, ...rest } = s.pg;
  return record ? { ...rest, synchronous: record } : rest;
}
