/**
 * Watches a data system's member pods while an operation runs and records
 * the most members that were unavailable at once: the end-to-end proof of
 * "never more than one member down". A member counts as down from the
 * moment its pod is deleted (or not up) until a pod carrying its id in
 * `memberLabel` is up again — up meaning Ready (serving) by default, or
 * ContainersReady (its process runs and passes its probe) where the system
 * makes healthy members stop serving for a moment by design.
 */
import type { TestCluster } from "@ballast/dev/testkit";
import { isUp, listPods, type PodView, type UpCondition } from "./objects.ts";

export type MemberId = string | number;

export type { UpCondition };

export interface DisruptionOptions<Id extends MemberId> {
  /** Label selector for the system's pods, e.g. `app.kubernetes.io/instance=events`. */
  selector: string;
  /** The pod label holding the member's id, e.g. `kafka.ballast.dev/node-id`. */
  memberLabel: string;
  /** The members that should be up now; asked at every sample (scaling changes it). */
  members: () => readonly Id[];
  /**
   * Which pod condition counts as up. `Ready` includes the operator's
   * readiness gate: the member serves. `ContainersReady`: the member's
   * process is up — for systems where one member's restart makes the others
   * stop serving for a moment by design (a ZooKeeper leader's restart starts
   * an election), which is unavailability to measure, not members down.
   * @default "Ready"
   */
  up?: UpCondition;
  /** Pause between two samples. @default 250 */
  intervalMs?: number;
  /** The monitor stops sampling by itself this long after it started. @default 3600000 */
  maxDurationMs?: number;
}

export interface DisruptionReport<Id extends MemberId = MemberId> {
  maxDown: number;
  /** Samples taken (a monitor that never sampled proves nothing). */
  samples: number;
  /** Each moment the set of down members changed: [epoch ms, down member ids]. */
  timeline: [number, Id[]][];
}

/** The members with no serving pod among `pods`. Pure. */
export function membersDown<Id extends MemberId>(
  pods: readonly PodView[],
  memberLabel: string,
  members: readonly Id[],
  condition: UpCondition = "Ready",
): Id[] {
  const up = new Set<string>();
  for (const p of pods) {
    const id = p.metadata.labels?.[memberLabel];
    if (id !== undefined && isUp(p, condition)) up.add(id);
  }
  return members.filter((id) => !up.has(String(id)));
}

export function monitorDisruption<Id extends MemberId>(
  cluster: TestCluster,
  namespace: string,
  options: DisruptionOptions<Id>,
): { stop(): Promise<DisruptionReport<Id>> } {
  const intervalMs = options.intervalMs ?? 250;
  const endBy = Date.now() + (options.maxDurationMs ?? 60 * 60_000);
  let running = true;
  const report: DisruptionReport<Id> = { maxDown: 0, samples: 0, timeline: [] };
  let last: string | undefined;
  const loop = (async () => {
    while (running && Date.now() < endBy) {
      // A failed list is a sample not taken, never a member counted up or down.
      const pods = await listPods(cluster, namespace, options.selector).catch(() => undefined);
      if (pods) {
        const down = membersDown(pods, options.memberLabel, options.members(), options.up);
        report.samples++;
        report.maxDown = Math.max(report.maxDown, down.length);
        const key = down.join(",");
        if (key !== last) {
          report.timeline.push([Date.now(), down]);
          last = key;
        }
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return report;
    },
  };
}
