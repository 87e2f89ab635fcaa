/**
 * The Greeting kind: a message the operator publishes in a ConfigMap.
 * Declared once; the type, the CRD and the validator all come from here.
 */
import { Conditions, defineResource, type ResourceOf } from "@ballast/runtime";
import Type from "typebox";

export const Greeting = defineResource({
  group: "example.ballast.dev",
  version: "v1",
  kind: "Greeting",
  plural: "greetings",
  shortNames: ["greet"],
  scope: "Namespaced",
  description: "A message to publish in a ConfigMap of the same namespace.",
  spec: Type.Object({
    message: Type.String({
      description: "What to say, e.g. hello, world.",
      minLength: 1,
      maxLength: 256,
      "x-kubernetes-validations": [
        {
          rule: "self == self.trim()",
          message: "spec.message must not start or end with spaces",
        },
      ],
    }),
  }),
  status: Type.Object({
    observedGeneration: Type.Optional(
      Type.Integer({ description: "The metadata.generation last acted on.", minimum: 0 }),
    ),
    configMap: Type.Optional(Type.String({ description: "The ConfigMap holding the message." })),
    conditions: Type.Optional(Conditions()),
  }),
  printerColumns: [
    { name: "Message", type: "string", jsonPath: ".spec.message" },
    { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
});

export type Greeting = ResourceOf<typeof Greeting>;
