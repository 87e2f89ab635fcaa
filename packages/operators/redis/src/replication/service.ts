/**
 * The master Service follows the master: the role label
 * (`redis.ballast.dev/role`) that `<name>-master` selects on is `master`
 * on THE master's pod only, `replica` on every other member's, so
 * `<name>-replicas` selects them. Steps, each a pod label patch, in this
 * order so that no two pods are ever labelled master at once:
 *
 * 1. Every pod labelled master that is not THE master (a demoted or dead
 *    old master, or any while the plan waits for one) is relabelled
 *    replica FIRST.
 * 2. THE master's pod, when `chooseMaster` recognised one, is labelled
 *    master — in the same reconcile as the sentinels' failover is seen.
 * 3. Unlabelled pods (new or recreated) are labelled replica.
 *
 * The readiness gate still decides whether a labelled pod receives
 * traffic: a master that does not accept writes is no endpoint.
 */
import type { PodLike } from "@ballast/stateful";
import { labels } from "../resources.ts";
import type { ReplicationScope } from "./scope.ts";

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

export async function followMaster(s: ReplicationScope): Promise<void> {
  const master = s.master;
  const role = (pod: PodLike) => pod.metadata.labels?.[labels.role];
  const live = [...s.pods].filter(([, pod]) => !pod.metadata.deletionTimestamp);
  // 1.
  for (const [id, pod] of live) {
    if (id !== master && role(pod) === "master") await label(s, pod, "replica");
  }
  // 2.
  const own = master === undefined ? undefined : s.pods.get(master);
  if (own && !own.metadata.deletionTimestamp && role(own) !== "master") {
    await label(s, own, "master");
    s.event("MasterLabelled", "FollowMaster", `the master Service now points at member ${master}`);
  }
  // 3.
  for (const [id, pod] of live) {
    if (id !== master && role(pod) === undefined) await label(s, pod, "replica");
  }
}

async function label(s: ReplicationScope, pod: PodLike, value: "master" | "replica") {
  await s.ctx.client.patch(
    Pod,
    { namespace: s.namespace, name: pod.metadata.name ?? "" },
    { metadata: { labels: { [labels.role]: value } } },
    { signal: s.ctx.signal },
  );
}
