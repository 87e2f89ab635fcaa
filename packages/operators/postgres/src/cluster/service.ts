/**
 * The Services follow the primary: `<name>-rw` selects the pod labelled
 * `role=primary`, `<name>-ro` those labelled `standby`, and each only once
 * its readiness gate says it serves. Steps:
 *
 * 1. The label `standby` on every pod that is not THE primary, first: a
 *    fenced or demoted instance stops taking clients through -rw before
 *    anything else happens.
 * 2. `primary` on THE primary's pod — only when no election is fencing or
 *    promoting, and synchronous_standby_names is in place
 *    (synchronous.ts), so -rw never reaches a primary that could
 *    acknowledge a commit no standby holds.
 * 3. The readiness gate of every pod from `serving` (observe.ts).
 */
import { setReadinessGates } from "@ballast/stateful";
import { labels, servingGate } from "../resources.ts";
import { serving } from "./observe.ts";
import type { PostgresScope } from "./scope.ts";

export async function followPrimary(s: PostgresScope, syncInPlace: boolean): Promise<void> {
  const obs = s.observation;
  const primary = s.pg.primary?.id;
  const settled =
    primary !== undefined &&
    syncInPlace &&
    (!s.pg.election || s.pg.election.phase === "repointing") &&
    serving(obs, primary).role === "primary";
  const want = (id: number) => (settled && id === primary ? "primary" : "standby");
  const ordered = [...s.pods.keys()].sort(
    (a, b) => (want(a) === "primary" ? 1 : 0) - (want(b) === "primary" ? 1 : 0),
  );
  for (const id of ordered) {
    const pod = s.pods.get(id);
    if (!pod || pod.metadata.deletionTimestamp) continue;
    const role = want(id);
    if (pod.metadata.labels?.[labels.role] === role) continue;
    await s.ctx.client.patch(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: s.namespace, name: pod.metadata.name ?? "" },
      { metadata: { labels: { [labels.role]: role } } },
      { type: "merge", signal: s.ctx.signal },
    );
  }
  const members = (s.members() ?? []).flatMap((m) => {
    const pod = s.pods.get(m.id);
    return pod ? [{ member: m, pod }] : [];
  });
  await setReadinessGates(
    s.ctx,
    servingGate,
    members,
    (m) => {
      const state = serving(obs, m.id);
      const labelled = state.role !== "primary" || (settled && m.id === primary);
      return {
        running: state.serving && labelled,
        reason: state.serving ? (state.role === "primary" ? "Primary" : "Streaming") : "NotServing",
        message: `instance ${m.id} ${state.why}`,
      };
    },
    s.now(),
  );
}
