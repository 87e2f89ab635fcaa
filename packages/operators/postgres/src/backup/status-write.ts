/**
 * The status write both backup kinds make: server-side apply of the whole
 * status under the operator's field manager, with observedGeneration, and
 * only when it differs from what the object holds (a reconcile that
 * changes nothing writes nothing). The object's status is updated in
 * place so the rest of the reconcile sees what was written.
 */
import {
  type ControllerContext,
  type KubeObject,
  type ResourceType,
  statusEqual,
} from "@ballast/runtime";

export async function writeStatusOf<S extends { observedGeneration?: number }>(
  ctx: Pick<ControllerContext, "client" | "signal">,
  kind: ResourceType,
  object: KubeObject & { status?: S | undefined },
  status: S,
): Promise<void> {
  const full: S = {
    ...status,
    ...(object.metadata.generation !== undefined
      ? { observedGeneration: object.metadata.generation }
      : {}),
  };
  if (statusEqual(object.status, full)) return;
  await ctx.client.applyStatus(
    {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: {
        name: object.metadata.name ?? "",
        namespace: object.metadata.namespace ?? "default",
      },
      status: full,
    },
    { force: true, signal: ctx.signal },
  );
  object.status = full;
}
