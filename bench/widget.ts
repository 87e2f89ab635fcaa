/**
 * The benchmark's custom resource, shared by the orchestrator (which installs
 * its CRD and writes Widgets) and the Ballast controller. The Go reference
 * reads the same kind as unstructured objects.
 */
import { defineResource, type ResourceOf } from "@ballast/runtime";
import Type from "typebox";

export const Widget = defineResource({
  group: "bench.ballast.dev",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  scope: "Namespaced",
  description: "A benchmark object: its controller gives it a ConfigMap and marks it ready.",
  spec: Type.Object({
    data: Type.Optional(Type.String({ description: "Copied into the Widget's ConfigMap." })),
  }),
  status: Type.Object({
    ready: Type.Optional(Type.Boolean()),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
});

export type Widget = ResourceOf<typeof Widget>;

export const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;

/**
 * Where the load generator writes the wall-clock time (ms, fractional) of an
 * update, so the controller can tell how long the update took to reach it.
 * An annotation, not spec: changing it does not bump the generation, so the
 * reconcile it causes has nothing to write (that is F3's and F4's premise).
 */
export const stampAnnotation = "bench.ballast.dev/stamp";

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
