/**
 * Kafka's rolling restart, on the shared roll state machine
 * (`@ballast/stateful` planRoll → actOnRoll). What Kafka adds:
 *
 * 1. Which pods are stale: built from another template (image, JVM, node
 *    config, a restart request), or a broker running a configuration that
 *    differs from the desired one on a key that needs a restart.
 * 2. Whether the node restarted last is back (`caughtUpBlockers`): a live
 *    broker in every ISR it belongs to, a controller caught up with the
 *    metadata log.
 * 3. Which node may restart next (`chooseNextRestart`): controllers first,
 *    the active controller last, never a broker whose restart would take a
 *    partition below min.insync.replicas, never a controller whose restart
 *    would cost the quorum its majority, nothing while partitions move or
 *    are offline.
 *
 * "Where does Kafka decide a broker may restart?" — plan/restart.ts; this
 * file only wires it in.
 */
import {
  actOnRoll,
  type PodLike,
  planRoll,
  type RollHooks,
  type StepResult,
} from "@ballast/stateful";
import { diffConfig } from "../plan/config.ts";
import {
  type Blocker,
  caughtUpBlockers,
  chooseNextRestart,
  describeBlockers,
} from "../plan/restart.ts";
import type { KafkaObservation } from "../plan/state.ts";
import { annotations, image, templateHash } from "../resources.ts";
import { appliedConfig } from "./dynamic-config.ts";
import type { MemberNode } from "./membership.ts";
import { type ClusterScope, nodeName } from "./scope.ts";

export const kafkaRollHooks: RollHooks<MemberNode, KafkaObservation> = {
  chooseNext(pending, obs, lastRestarted) {
    const decision = chooseNextRestart(
      pending,
      obs,
      lastRestarted ? { catchingUp: lastRestarted.id } : {},
    );
    if ("restart" in decision) {
      const member = pending.find((n) => n.id === decision.restart.id);
      if (member) return { kind: "restart", member };
    }
    return { kind: "wait", blockers: "wait" in decision ? sentences(decision.wait) : [] };
  },
  caughtUp: (node, obs) => sentences(caughtUpBlockers(node, obs)),
};

function sentences(blockers: readonly Blocker[]): string[] {
  return describeBlockers(blockers);
}

/** Step 1: must this node's pod be replaced to run what the spec says? */
export function isStale(
  s: ClusterScope,
  node: MemberNode,
  nodes: readonly MemberNode[],
  dynamicKeys: ReadonlySet<string>,
  pod: PodLike,
): boolean {
  if (pod.metadata.annotations?.[annotations.templateHash] !== templateHash(s.c, node, nodes))
    return true;
  if (!node.roles.includes("broker")) return false;
  return diffConfig(s.desiredConfig(), appliedConfig(pod), dynamicKeys).restart.length > 0;
}

export function rollReason(s: ClusterScope, pending: readonly MemberNode[]): string {
  const requested = s.c.metadata.annotations?.[annotations.restartRequested];
  const images = new Set(pending.map((n) => s.pods.get(n.id)?.spec?.containers?.[0]?.image ?? ""));
  if (!s.c.spec.image && !images.has(image(s.c))) return `upgrade to Kafka ${s.c.spec.version}`;
  if (requested) return `restart requested (${requested})`;
  return "configuration change";
}

export async function roll(
  s: ClusterScope,
  nodes: readonly MemberNode[],
  obs: KafkaObservation,
  dynamicKeys: ReadonlySet<string>,
): Promise<StepResult> {
  const plan = planRoll<MemberNode, KafkaObservation>({
    operation: s.operation,
    members: nodes,
    pods: s.pods,
    stale: (node, pod) => isStale(s, node, nodes, dynamicKeys, pod),
    observed: obs,
    hooks: kafkaRollHooks,
    reason: (pending) => rollReason(s, pending),
    name: nodeName,
    now: s.now(),
  });
  return actOnRoll(plan, s.io());
}
