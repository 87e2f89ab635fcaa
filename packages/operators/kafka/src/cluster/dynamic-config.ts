/**
 * Dynamic configuration: keys Kafka can change at runtime are changed at
 * runtime, broker by broker, without a restart. Steps:
 *
 * 1. Ask the first live broker which keys are dynamic (not read-only).
 * 2. For each live broker, diff the desired configuration against the one
 *    recorded on its pod; nothing dynamic changed → next broker.
 * 3. AlterConfigs on that broker with the dynamic part of the diff.
 * 4. Record the new applied configuration on its pod, so the diff is empty
 *    next time and the roll (which restarts for the rest) sees it.
 *
 * Keys that need a restart are left to the roll (roll.ts).
 */

import type { PodLike } from "@ballast/stateful";
import { diffConfig } from "../plan/config.ts";
import type { KafkaObservation } from "../plan/state.ts";
import { annotations } from "../resources.ts";
import type { ClusterAdmin } from "./admin-pool.ts";
import type { MemberNode } from "./membership.ts";
import type { ClusterScope } from "./scope.ts";

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

/** Step 1: which keys the running brokers can change without a restart. */
export async function dynamicKeysOf(
  admin: ClusterAdmin,
  obs: KafkaObservation,
): Promise<ReadonlySet<string>> {
  const [first] = [...obs.liveBrokers].sort((a, b) => a - b);
  if (first === undefined) return new Set();
  const entries = await admin.brokerConfig(first);
  const keys = new Set<string>();
  for (const [key, entry] of entries) if (!entry.readOnly) keys.add(key);
  return keys;
}

/** The configuration a pod runs with, as recorded on it. */
export function appliedConfig(p: PodLike): Record<string, string> {
  const text = p.metadata.annotations?.[annotations.appliedConfig];
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return {};
  }
}

/** Steps 2–4. */
export async function applyDynamicConfig(
  s: ClusterScope,
  admin: ClusterAdmin,
  nodes: readonly MemberNode[],
  obs: KafkaObservation,
  dynamicKeys: ReadonlySet<string>,
): Promise<void> {
  const desired = s.desiredConfig();
  for (const node of nodes) {
    const p = s.pods.get(node.id);
    if (!p || !obs.liveBrokers.has(node.id) || p.metadata.deletionTimestamp) continue;
    const applied = appliedConfig(p);
    const diff = diffConfig(desired, applied, dynamicKeys);
    const changed = [...Object.keys(diff.dynamic.set), ...diff.dynamic.delete];
    if (changed.length === 0) continue;
    await admin.alterBrokerConfig(node.id, diff.dynamic.set, diff.dynamic.delete);
    const next = { ...applied, ...diff.dynamic.set };
    for (const key of diff.dynamic.delete) delete next[key];
    await s.ctx.client.patch(
      Pod,
      { namespace: s.namespace, name: p.metadata.name ?? "" },
      { metadata: { annotations: { [annotations.appliedConfig]: JSON.stringify(next) } } },
      { type: "merge", signal: s.ctx.signal },
    );
    s.event(
      "ConfigUpdated",
      "AlterConfigs",
      `broker ${node.id}: ${changed.join(", ")} changed without a restart`,
    );
  }
}
