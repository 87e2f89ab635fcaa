/**
 * Object sync for a PostgresCluster. Steps:
 *
 * 1. Apply the shared objects (the ConfigMap first, so a pod created next
 *    mounts what it says; the headless, -rw, -ro and -r Services; the
 *    budget) that are missing or drifted on a field we set.
 * 2. Create the claim, then the pod, of every instance that needs a
 *    running pod and has none, with what the operator decided for it
 *    (`podOptions`):
 *    - before bootstrap (no primary recorded) only the first instance's
 *      pod, which may initdb (or, with spec.bootstrap.recovery, run the
 *      restore step's checked `pgbackrest restore`) and carries the
 *      marker; the others wait for a primary to clone;
 *    - the marker only on THE primary's pod, or on the instance a handover
 *      is promoting — never on an instance a fence is recorded for;
 *    - `rewindFrom` for an instance status records as being rewound;
 *    - every other pod streams from the recorded primary, and its slot is
 *      made on the primary first (pg_basebackup clones through it).
 */
import { type Member, syncMembers } from "@ballast/stateful";
import type { PostgresStatus } from "../plan/types.ts";
import {
  claim,
  configMap,
  disruptionBudget,
  headlessService,
  names,
  type PodOptions,
  pod,
  readOnlyService,
  readService,
  readWriteService,
} from "../resources.ts";
import { fencedId } from "./observe.ts";
import type { PostgresScope } from "./scope.ts";

/** True when it created a pod (the cluster is looked at again sooner). */
export async function syncObjects(s: PostgresScope, members: readonly Member[]): Promise<boolean> {
  const pg = s.pg;
  const first = members[0]?.id;
  // A restore's first pod only with the checked restore: never an initdb in its place.
  const restoreUnchecked = !pg.primary && s.r.spec.bootstrap?.recovery && !s.restore?.command;
  const eligible = pg.primary
    ? members
    : restoreUnchecked
      ? []
      : members.filter((m) => m.id === first);
  await ensureSlotsForNewPods(s, eligible);
  return syncMembers(s.ctx, {
    shared: [
      configMap(s.r),
      headlessService(s.r),
      readWriteService(s.r),
      readOnlyService(s.r),
      readService(s.r),
      disruptionBudget(s.r, members.length),
    ],
    members: eligible,
    pods: s.pods,
    operation: s.operation,
    claim: (m) => claim(s.r, m.id),
    pod: (m) => {
      const options = podOptions(pg, s.status.rewinding ?? [], m.id, first, s.restore?.command);
      const uid = s.deps.postgresUid;
      return pod(s.r, m.id, uid === undefined ? options : { ...options, uid });
    },
  });
}

/** What the pod of instance `id` is made with; pure (see step 2). */
export function podOptions(
  pg: PostgresStatus,
  rewinding: readonly { id: number; from: number }[],
  id: number,
  first: number | undefined,
  restore?: string,
): Omit<PodOptions, "uid"> {
  if (!pg.primary) {
    const bootstrap = !pg.systemIdentifier && id === first;
    return { hint: id, bootstrap, primary: true, ...(bootstrap && restore ? { restore } : {}) };
  }
  const fenced = fencedId(pg);
  const handoverTo =
    pg.election && pg.election.phase !== "fencing"
      ? pg.election.to
      : pg.switchover &&
          (pg.switchover.phase === "promoting" || pg.switchover.phase === "rejoining")
        ? pg.switchover.to
        : undefined;
  const primary =
    id !== fenced && (id === handoverTo || (handoverTo === undefined && id === pg.primary.id));
  const rewind = rewinding.find((w) => w.id === id);
  return {
    hint: handoverTo ?? pg.primary.id,
    primary,
    ...(rewind && !primary ? { rewindFrom: rewind.from } : {}),
  };
}

/**
 * A standby pod about to clone needs its slot on the primary
 * (`pg_basebackup -S`). Made for every instance without a pod, before the
 * pod's start gets that far; failures are left to the slots step.
 */
async function ensureSlotsForNewPods(s: PostgresScope, members: readonly Member[]): Promise<void> {
  const primary = s.pg.primary?.id;
  const address = primary === undefined ? undefined : s.address(primary);
  if (!address) return;
  for (const m of members) {
    if (m.id === primary || s.pods.has(m.id)) continue;
    await s.postgres.ensureSlot(address, names.slot(m.id)).catch(() => undefined);
  }
}
