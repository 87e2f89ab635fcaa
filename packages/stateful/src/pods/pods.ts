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
