/**
 * Object sync, the act side: create what is missing, re-apply what drifted.
 *
 * Member pods and claims are created, never applied: a pod's spec cannot be
 * changed in place anyway (the roll replaces it), and a claim kept from a
 * removed or deleted set must be adopted as it is, data and all. Shared
 * objects (Services, the budget, configuration) are server-side applied
 * under the operator's field manager, and only when they drifted on a field
 * we set, so a quiet set makes no write.
 *
 * An object the API server refuses (invalid, forbidden, over quota) raises
 * `ObjectRejectedError` naming it, with the server's message (rejected.ts):
 * the set's controller turns it into `Degraded`.
 */
import {
  type ApplyObject,
  type ControllerContext,
  isAlreadyExists,
  type KubeObject,
} from "@ballast/runtime";
import { drifted } from "./drift.ts";
import { asRejection } from "./rejected.ts";

/** Creates `object`; one that exists already (a pod still terminating, a kept claim) is left as it is. */
export async function createIfMissing(
  ctx: Pick<ControllerContext, "client" | "signal">,
  object: KubeObject,
): Promise<"created" | "existed"> {
  try {
    await ctx.client.create(object, { signal: ctx.signal });
    return "created";
  } catch (err) {
    if (isAlreadyExists(err)) return "existed";
    throw asRejection(err, "create", object);
  }
}

/**
 * Applies each wanted object that is missing from `have` or drifted from it;
 * returns the names applied (for events and tests).
 */
export async function applyDrifted(
  ctx: Pick<ControllerContext, "client" | "signal">,
  want: readonly ApplyObject[],
  have: readonly KubeObject[],
): Promise<string[]> {
  const applied: string[] = [];
  for (const object of want) {
    const current = have.find(
      (h) => h.kind === object.kind && h.metadata.name === object.metadata.name,
    );
    if (current && !drifted(current, object)) continue;
    try {
      await ctx.client.apply(object, { force: true, signal: ctx.signal });
    } catch (err) {
      throw asRejection(err, "apply", object);
    }
    applied.push(`${object.kind}/${object.metadata.name}`);
  }
  return applied;
}
