/**
 * TypeBox building blocks for Kubernetes idioms a plain JSON Schema type
 * cannot say: integer-or-string fields, free-form objects, and the standard
 * status condition list.
 */
import Type, { type TSchemaOptions, type TUnsafe } from "typebox";

/** A field holding an integer or a string (`8080` or `"http"`, `3` or `"50%"`). */
export function IntOrString(options: TSchemaOptions = {}) {
  return Type.Union([Type.Integer(), Type.String()], options);
}

/**
 * An object the API server stores as given, without pruning unknown fields
 * (e.g. a data system's free-form configuration).
 */
export function PreserveUnknownFields(
  options: TSchemaOptions = {},
): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({
    ...options,
    type: "object",
    "x-kubernetes-preserve-unknown-fields": true,
  });
}

/** One status condition, shaped like Kubernetes' own `metav1.Condition`. */
export const ConditionSchema = Type.Object({
  type: Type.String({
    description: "The aspect of the resource this condition is about, e.g. Ready.",
    minLength: 1,
    maxLength: 316,
  }),
  status: Type.Union([Type.Literal("True"), Type.Literal("False"), Type.Literal("Unknown")], {
    description: "Whether the condition holds: True, False or Unknown.",
  }),
  observedGeneration: Type.Optional(
    Type.Integer({
      description: "The metadata.generation this condition was computed from.",
      minimum: 0,
    }),
  ),
  lastTransitionTime: Type.String({
    description: "When the status last changed.",
    format: "date-time",
  }),
  reason: Type.String({
    description: "A one-word, CamelCase reason for the last transition.",
    minLength: 1,
    maxLength: 1024,
    pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
  }),
  message: Type.String({
    description: "A human-readable explanation of the last transition; may be empty.",
    maxLength: 32768,
  }),
});

/** `status.conditions`: one entry per type, merged by type under server-side apply. */
export function Conditions(options: TSchemaOptions = {}) {
  return Type.Array(ConditionSchema, {
    description: "The latest observations of the resource's state.",
    maxItems: 32,
    ...options,
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
  });
}
