/**
 * Readiness decided by the data system. A member pod declares a readiness
 * gate; the operator sets the gate's condition from what the system says
 * (Kafka: registered and unfenced; ZooKeeper: serving in the ensemble), so
 * `Ready` — and with it Services, budgets and every tool that reads pods —
 * means "serving", not "a port is open".
 */
import type { ControllerContext } from "@ballast/runtime";
import type { PodLike } from "./pods.ts";

export interface GateState {
  running: boolean;
  /** CamelCase, e.g. BrokerRunning / BrokerNotRunning. */
  reason: string;
  message: string;
}

/** Whether the pod's gate condition already says `state` (then no write is needed). */
export function gateUpToDate(pod: PodLike, gate: string, state: GateState): boolean {
  const current = pod.status?.conditions?.find((c) => c.type === gate);
  return current?.status === (state.running ? "True" : "False");
}

/**
 * Sets `gate` on each pod whose condition differs from what `isRunning`
 * says. Pods being deleted are left alone: they are on their way out.
 */
export async function setReadinessGates<M>(
  ctx: Pick<ControllerContext, "client" | "signal">,
  gate: string,
  members: readonly { member: M; pod: PodLike }[],
  isRunning: (member: M, pod: PodLike) => GateState,
  now: Date = new Date(),
): Promise<number> {
  let written = 0;
  for (const { member, pod } of members) {
    if (pod.metadata.deletionTimestamp) continue;
    const state = isRunning(member, pod);
    if (gateUpToDate(pod, gate, state)) continue;
    await ctx.client.patchStatus(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name ?? "" },
      {
        status: {
          conditions: [
            {
              type: gate,
              status: state.running ? "True" : "False",
              reason: state.reason,
              message: state.message,
              lastTransitionTime: now.toISOString(),
            },
          ],
        },
      },
      { type: "strategic", signal: ctx.signal },
    );
    written++;
  }
  return written;
}
