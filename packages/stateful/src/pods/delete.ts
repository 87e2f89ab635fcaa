/**
 * Deleting a member's pod: always with the uid we decided on as a
 * precondition, so a decision made from a cache that lags cannot delete the
 * NEW pod that replaced the one we meant.
 */
import { type ControllerContext, isConflict, isNotFound } from "@ballast/runtime";
import type { PodLike } from "./pods.ts";

/** "deleted", or "gone" when that pod no longer exists (deleted already, or replaced). */
export async function deleteMemberPod(
  ctx: Pick<ControllerContext, "client" | "signal">,
  pod: PodLike,
): Promise<"deleted" | "gone"> {
  try {
    await ctx.client.delete(
      { apiVersion: "v1", kind: "Pod" },
      { namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name ?? "" },
      { preconditions: { uid: pod.metadata.uid ?? "" }, signal: ctx.signal },
    );
    return "deleted";
  } catch (err) {
    // A uid that no longer matches means a new pod stands there: not ours to delete.
    if (isNotFound(err) || isConflict(err)) return "gone";
    throw err;
  }
}
