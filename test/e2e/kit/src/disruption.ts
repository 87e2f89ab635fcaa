/**
 * Watches a data system's member pods while an operation runs and records
 * the most members that were unavailable at once: the end-to-end proof of
 * "never more than one member down". A member counts as down from the
 * moment its pod is deleted (or not Ready) until a pod carrying its id in
 * `memberLabel` is Ready again.
 */
import type { TestCluster } from "@ballast/dev/testkit";
import { isServing, listPods, type PodView } from "./objects.ts";

export type MemberId = string | number;

export interface DisruptionOptions<Id extends MemberId> {
  /** Label selector for the system's pods, e.g. `app.kubernetes.io/instance=events`. */
  selector: string;
  /** The pod label holding the member's id, e.g. `kafka.ballast.dev/node-id`. */
  memberLabel: string;
  /** The members that should be up now; asked at every sample (scaling changes it). */
  members: () => readonly Id[];
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
): Id[] {
  const up = new Set<string>();
  for (const p of pods) {
    const id = p.metadata.labels?.[memberLabel];
    if (id !== undefined && isServing(p)) up.add(id);
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
        const down = membersDown(pods, options.memberLabel, options.members());
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
