/**
 * Whether a pod's node has stopped reporting: the node controller has set
 * its Ready condition to Unknown or False (no kubelet heartbeat for the
 * node-monitor grace period), or the Node is gone. A pod there cannot be
 * deleted (no kubelet confirms it) and no new container can start there;
 * an operator that must act without that pod (a failover) reads this as
 * the second, independent signal that the member is lost, beside the
 * member's own silence.
 */
import { type ControllerContext, isNotFound, type KubeObject } from "@ballast/runtime";
import type { PodLike } from "./pods.ts";

interface NodeLike extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

export async function nodeStoppedReporting(
  ctx: Pick<ControllerContext, "client" | "signal">,
  pod: PodLike,
): Promise<boolean> {
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) return false;
  try {
    const node = await ctx.client.get<NodeLike>(
      { apiVersion: "v1", kind: "Node" },
      { name: nodeName },
      { signal: ctx.signal },
    );
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    return ready !== undefined && ready.status !== "True";
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
}
