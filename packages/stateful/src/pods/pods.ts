/**
 * What the member-set machinery reads of a pod, and the two readiness
 * questions it asks. A pod being deleted is never ready: it is on its way out.
 */
import type { KubeObject } from "@ballast/runtime";
import type { MemberId } from "../members/ids.ts";

export interface PodLike extends KubeObject {
  spec?: { containers?: { name?: string; image?: string }[]; nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name: string;
      ready?: boolean;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string } };
    }[];
  };
}

export function podReady(p: PodLike): boolean {
  return podCondition(p, "Ready");
}

/** The pod's containers pass their probes (Ready may still wait for a readiness gate). */
export function containersReady(p: PodLike): boolean {
  return podCondition(p, "ContainersReady");
}

export function podCondition(p: PodLike, type: string): boolean {
  if (p.metadata.deletionTimestamp) return false;
  return p.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;
}

/** Owned pods by the member id in `label`; pods without a valid id are not members. */
export function podsByMember<P extends PodLike>(
  pods: readonly P[],
  label: string,
): Map<MemberId, P> {
  const out = new Map<MemberId, P>();
  for (const p of pods) {
    const id = Number(p.metadata.labels?.[label]);
    if (Number.isInteger(id) && id >= 0) out.set(id, p);
  }
  return out;
}

/** Waiting reasons that do not go away by waiting: the pod needs a fix (its image, its config). */
const stuckReasons = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "CrashLoopBackOff",
]);

/**
 * Why a member's pod is not starting, when the pod says so: an image that
 * cannot be pulled, a container config error, a crash loop (with its
 * restart count), or a pod the scheduler cannot place. Undefined while it
 * is merely on its way (pulling, starting, probing).
 */
export function podStartProblem(pod: PodLike): string | undefined {
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    const restarts = c.restartCount ?? 0;
    if (!(waiting?.reason && stuckReasons.has(waiting.reason)) && restarts === 0) continue;
    const detail = waiting?.message ? `: ${waiting.message}` : "";
    if (restarts > 0)
      return `container ${c.name} restarted ${restarts} time(s)${waiting?.reason ? ` (${waiting.reason})` : ""}${detail}`;
    return `container ${c.name} ${waiting?.reason}${detail}`;
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False")
    return `not scheduled${scheduled.reason ? ` (${scheduled.reason})` : ""}${scheduled.message ? `: ${scheduled.message}` : ""}`;
  return undefined;
}

/**
 * For status: why each of the `ids` that is not ready has a pod that
 * cannot start (`podStartProblem`), as "node 2's pod: container … ErrImagePull: …".
 */
export function startProblems(
  ids: readonly MemberId[],
  pods: ReadonlyMap<MemberId, PodLike>,
  name: (id: MemberId) => string,
): string[] {
  return ids.flatMap((id) => {
    const pod = pods.get(id);
    const problem = pod ? podStartProblem(pod) : undefined;
    return problem ? [`${name(id)}'s pod: ${problem}`] : [];
  });
}
