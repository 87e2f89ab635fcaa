/**
 * The controller of a member set, as every data-system operator wires it:
 * the custom resource as primary, owning the kinds a member set creates
 * (pods, ConfigMaps, Services, the budget), at most two sets reconciled at
 * once, and each reconcile starting from the object read FRESH from the API
 * server — a decision to take a member down must not rest on a cached copy
 * that has not seen the last status write. The system supplies the
 * pipeline (`reconcile`) and what to forget when the object is gone.
 *
 * An owned object the API server refuses (`ObjectRejectedError` from the
 * sync step) is never only a log line: unless the pipeline reported it in
 * its own status, it is written here as `Degraded=True, ObjectRejected` with
 * the server's message, and the set is tried again slowly — a person has to
 * change something first. The system's next status write replaces it once
 * the object is accepted.
 */
import {
  Action,
  type Condition,
  type ControllerContext,
  type ControllerOptions,
  controller,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type ObjectRef,
  type ResourceDefinition,
  type ResourceOf,
  type ResourceType,
} from "@ballast/runtime";
import { ObjectRejectedError, rejectedRetryMs, withRejection } from "../sync/rejected.ts";

/** What a member set owns, and so watches. */
export const memberSetOwnedKinds = [
  { apiVersion: "v1", kind: "Pod" },
  { apiVersion: "v1", kind: "ConfigMap" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "policy/v1", kind: "PodDisruptionBudget" },
] as const;

export interface MemberSetControllerSpec<O extends KubeObject> {
  /** Names the controller in metrics and logs, e.g. "kafkacluster". */
  name: string;
  /** One reconcile of the object as read fresh. */
  reconcile(live: O, ctx: ControllerContext<O>): Promise<Action>;
  /** The object is gone: forget what was kept for it (connections, metric series). */
  deleted?(ref: ObjectRef): Promise<void> | void;
  /** Other kinds whose changes concern a member set, and which set each names (e.g. a backup record → its cluster). */
  watches?: readonly {
    type: ResourceType;
    // biome-ignore lint/suspicious/noExplicitAny: each watch maps its own kind
    map: (object: any) => Iterable<ObjectRef>;
  }[];
}

// biome-ignore lint/suspicious/noExplicitAny: any definition; ResourceOf gives the object type
export function memberSetController<D extends ResourceDefinition<string, string, any, any>>(
  client: KubeClient,
  kind: D,
  spec: MemberSetControllerSpec<ResourceOf<D>>,
  options: ControllerOptions = {},
) {
  let builder = controller(client, kind);
  for (const owned of memberSetOwnedKinds) builder = builder.owns(owned);
  for (const w of spec.watches ?? []) builder = builder.watches(w.type, w.map);
  return builder
    .withOptions({ name: spec.name, maxConcurrentReconciles: 2, ...options })
    .build(async (ref, ctx) => {
      if (!ctx.object) {
        await spec.deleted?.(ref);
        return Action.done();
      }
      let live: ResourceOf<D>;
      try {
        live = await ctx.client.get<ResourceOf<D>>(kind, ref, { signal: ctx.signal });
      } catch (err) {
        if (isNotFound(err)) return Action.done();
        throw err;
      }
      try {
        return await spec.reconcile(live, ctx);
      } catch (err) {
        if (!(err instanceof ObjectRejectedError)) throw err;
        await reportRejection(kind, live, err, ctx);
        return Action.requeueAfter(rejectedRetryMs);
      }
    });
}

/**
 * Sets `Degraded` to the refusal on `live`'s status, leaving every other
 * condition and field as it is (a merge patch of the conditions list only).
 */
async function reportRejection(
  kind: ResourceDefinition<string, string, unknown, unknown>,
  live: KubeObject & { status?: { conditions?: Condition[] } },
  err: ObjectRejectedError,
  ctx: Pick<ControllerContext, "client" | "signal">,
): Promise<void> {
  const conditions = withRejection(
    live.status?.conditions,
    live.metadata.generation,
    err,
    new Date(),
  );
  if (!conditions) return;
  await ctx.client.patchStatus(
    kind,
    { namespace: live.metadata.namespace ?? "default", name: live.metadata.name ?? "" },
    { status: { conditions } },
    { type: "merge", signal: ctx.signal },
  );
}
