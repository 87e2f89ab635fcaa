/**
 * Watches a KafkaCluster's pods while an operation runs and records the
 * most nodes that were unavailable at once: the end-to-end proof of "never
 * more than one broker down". A node counts as down from the moment its
 * pod is deleted (or not Ready) until a pod for it is Ready again.
 */
import type { TestCluster } from "@ballast/dev/testkit";

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

export interface DisruptionReport {
  maxDown: number;
  /** Samples taken (a monitor that never sampled proves nothing). */
  samples: number;
  /** Each moment the set of down nodes changed: [epoch ms, down node ids]. */
  timeline: [number, number[]][];
}

export function monitorDisruption(
  cluster: TestCluster,
  namespace: string,
  name: string,
  nodeIds: () => number[],
  intervalMs = 250,
): { stop(): Promise<DisruptionReport> } {
  let running = true;
  const report: DisruptionReport = { maxDown: 0, samples: 0, timeline: [] };
  let last = "";
  const loop = (async () => {
    while (running) {
      const res = await cluster.api<PodList>(
        `/api/v1/namespaces/${namespace}/pods?labelSelector=app.kubernetes.io/instance%3D${name}`,
      );
      if (res.status === 200) {
        const up = new Set<number>();
        for (const p of res.body.items) {
          const ready = p.status?.conditions?.some(
            (c) => c.type === "Ready" && c.status === "True",
          );
          const id = Number(p.metadata.labels?.["kafka.ballast.dev/node-id"]);
          if (ready && !p.metadata.deletionTimestamp) up.add(id);
        }
        const down = nodeIds().filter((id) => !up.has(id));
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
