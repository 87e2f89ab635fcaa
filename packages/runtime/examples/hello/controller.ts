/**
 * The Greeting controller: observe the Greeting and its ConfigMap (from
 * the cache), act only on a difference, record what was done in `.status`.
 *
 * Steady state costs nothing: when the ConfigMap already says the message
 * and the status already says so, the reconcile makes no API call at all.
 */
import {
  Action,
  type ApplyObject,
  ConditionType,
  type ControllerContext,
  type ControllerOptions,
  controller,
  type EventRecorder,
  finalize,
  type KubeClient,
  type KubeObject,
  setCondition,
  statusEqual,
} from "@ballast/runtime";
import { Greeting } from "./api.ts";

type ConfigMapLike = KubeObject & { data?: Record<string, string> };

export const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;

/** Ours alone: lets the operator say goodbye before a Greeting goes. */
export const finalizerName = "example.ballast.dev/goodbye";

export function configMapName(greeting: Greeting): string {
  return `${greeting.metadata.name}-greeting`;
}

/** The ConfigMap a Greeting should have: pure, so it is tested without a cluster. */
export function desiredConfigMap(greeting: Greeting) {
  return {
    ...ConfigMap,
    metadata: {
      name: configMapName(greeting),
      namespace: greeting.metadata.namespace ?? "default",
      labels: { "app.kubernetes.io/managed-by": "hello-operator" },
      ownerReferences: [
        {
          apiVersion: Greeting.apiVersion,
          kind: Greeting.kind,
          name: greeting.metadata.name ?? "",
          uid: greeting.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    data: { message: greeting.spec.message },
  };
}

/** The Greeting controller, ready for `manager.add()`; `events` tells users what it did. */
export function greetingController(
  client: KubeClient,
  options: ControllerOptions = {},
  events?: EventRecorder,
) {
  return controller(client, Greeting)
    .owns(ConfigMap)
    .withOptions({ name: "greeting", ...options })
    .build(async (_ref, ctx) => {
      const greeting = ctx.object;
      // Gone: its ConfigMap goes with it (garbage collection follows the owner reference).
      if (!greeting) return Action.done();
      return finalize(ctx.client, greeting, finalizerName, {
        apply: (live) => publish(live, ctx, events),
        cleanup: async (live) => {
          ctx.log.info("goodbye", { message: live.spec.message });
          return Action.done();
        },
      });
    });
}

async function publish(
  greeting: Greeting,
  ctx: ControllerContext<Greeting>,
  events: EventRecorder | undefined,
): Promise<Action> {
  const want = desiredConfigMap(greeting);
  const have = ctx
    .owned<ConfigMapLike>(ConfigMap)
    .find((cm) => cm.metadata.name === want.metadata.name);
  if (have?.data?.message !== want.data.message) {
    // Server-side apply: create or update, owning exactly the fields we set.
    await ctx.client.apply(want, { force: true, signal: ctx.signal });
    ctx.log.info("published", { configMap: want.metadata.name });
    events?.event(greeting, {
      type: "Normal",
      reason: "Published",
      action: "ApplyConfigMap",
      note: `ConfigMap ${want.metadata.name} says ${JSON.stringify(want.data.message)}`,
    });
  }

  const status = {
    observedGeneration: greeting.metadata.generation,
    configMap: want.metadata.name,
    conditions: setCondition(
      greeting.status?.conditions,
      {
        type: ConditionType.Ready,
        status: "True",
        reason: "Published",
        message: `ConfigMap ${want.metadata.name} holds the message`,
        ...(greeting.metadata.generation === undefined
          ? {}
          : { observedGeneration: greeting.metadata.generation }),
      },
      new Date(),
    ),
  };
  if (!statusEqual(greeting.status, status)) {
    const patch: ApplyObject & { status: typeof status } = {
      apiVersion: Greeting.apiVersion,
      kind: Greeting.kind,
      metadata: {
        name: greeting.metadata.name ?? "",
        namespace: greeting.metadata.namespace ?? "",
      },
      status,
    };
    await ctx.client.applyStatus(patch, { force: true, signal: ctx.signal });
  }
  return Action.done();
}
