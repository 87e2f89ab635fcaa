/**
 * Object sync of a member set, in the order that is safe:
 *
 * 1. Apply the shared objects (Services, the budget, configuration) that are
 *    missing or drifted on a field we set.
 * 2. Create the claim, then the pod, of every member that needs a running
 *    pod and has none (a member drained for removal does not). The claim
 *    first: a pod whose claim does not exist cannot be scheduled, and a kept
 *    claim is adopted with its data.
 */
import type { ApplyObject, ControllerContext, KubeObject } from "@ballast/runtime";
import { memberSetOwnedKinds } from "../controller/controller.ts";
import type { Member } from "../members/membership.ts";
import type { Operation } from "../operation/operation.ts";
import type { PodLike } from "../pods/pods.ts";
import { needsPod } from "../scale/scale-down.ts";
import { applyDrifted, createIfMissing } from "./sync.ts";

export interface MemberObjects<M extends Member> {
  /** The shared objects as they should be. */
  shared: readonly ApplyObject[];
  members: readonly M[];
  pods: ReadonlyMap<number, PodLike>;
  operation: Operation | undefined;
  claim(member: M): KubeObject;
  pod(member: M): KubeObject;
}

/** True when it created a pod (the set is looked at again sooner). */
export async function syncMembers<M extends Member>(
  ctx: Pick<ControllerContext, "client" | "signal" | "owned">,
  want: MemberObjects<M>,
): Promise<boolean> {
  const have = memberSetOwnedKinds.filter((k) => k.kind !== "Pod").flatMap((k) => ctx.owned(k));
  await applyDrifted(ctx, want.shared, have);
  let created = false;
  for (const member of want.members) {
    if (want.pods.has(member.id) || !needsPod(member, want.operation)) continue;
    await createIfMissing(ctx, want.claim(member));
    // Not `created ||= await …`: that would skip creating every pod after the first.
    const made = await createIfMissing(ctx, want.pod(member));
    if (made === "created") created = true;
  }
  return created;
}
