/**
 * A sample kind the crd tests share: a small cache cluster using every
 * feature a CRD author reaches for. A factory, so each test file installs it
 * under its own group and plural.
 */
import Type from "typebox";
import { defineResource } from "./define.ts";
import { Conditions, IntOrString } from "./schemas.ts";

export const sampleSpec = Type.Object(
  {
    replicas: Type.Integer({
      description: "How many cache nodes to run.",
      minimum: 1,
      maximum: 9,
      default: 3,
    }),
    version: Type.String({
      description: "The cache server version, e.g. 7.2.4.",
      pattern: "^[0-9]+\\.[0-9]+\\.[0-9]+$",
    }),
    mode: Type.Union([Type.Literal("standalone"), Type.Literal("cluster")], {
      description: "standalone runs one node; cluster shards keys over all nodes.",
      default: "cluster",
    }),
    port: Type.Optional(IntOrString({ description: "Client port, a number or a named port." })),
    config: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: "Extra server settings, passed through as-is.",
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean({ description: "Serve clients over TLS.", default: false }),
          secretName: Type.Optional(
            Type.String({ description: "Secret holding tls.crt and tls.key.", maxLength: 253 }),
          ),
        },
        {
          description: "Transport security for client connections.",
          "x-kubernetes-validations": [
            {
              rule: "!self.enabled || has(self.secretName)",
              message: "tls.secretName is required when tls.enabled is true",
              fieldPath: ".secretName",
              reason: "FieldValueRequired",
            },
          ],
        },
      ),
    ),
    users: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String({ description: "The user's login.", maxLength: 64 }),
          role: Type.Union([Type.Literal("admin"), Type.Literal("reader")], {
            default: "reader",
          }),
        }),
        {
          description: "Users allowed to connect.",
          maxItems: 16,
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
        },
      ),
    ),
  },
  {
    "x-kubernetes-validations": [
      {
        rule: "self.mode == 'cluster' || self.replicas == 1",
        message: "standalone mode runs exactly one replica",
        // Not string(self.replicas): the API server costs int-to-string
        // conversions as unbounded and refuses the CRD.
        messageExpression:
          "'mode ' + self.mode + ' runs exactly one replica; set replicas to 1 or mode to cluster'",
      },
    ],
  },
);

export const sampleStatus = Type.Object({
  phase: Type.Optional(
    Type.Union([Type.Literal("Pending"), Type.Literal("Running"), Type.Literal("Failed")], {
      description: "Where the cluster is in its life.",
    }),
  ),
  replicas: Type.Optional(Type.Integer({ minimum: 0 })),
  readyReplicas: Type.Optional(Type.Integer({ minimum: 0 })),
  selector: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
  conditions: Type.Optional(Conditions()),
});

export function sampleResource(group: string, plural: string, shortName: string) {
  return defineResource({
    group,
    version: "v1alpha1",
    kind: "CacheCluster",
    plural,
    shortNames: [shortName],
    categories: ["ballast-test"],
    scope: "Namespaced",
    description: "A replicated in-memory cache (a sample kind for the crd tests).",
    spec: sampleSpec,
    status: sampleStatus,
    printerColumns: [
      { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
      { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
      { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Life phase." },
      { name: "Mode", type: "string", jsonPath: ".spec.mode", priority: 1 },
    ],
    scale: {
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.selector",
    },
    selectableFields: [".spec.mode"],
    validations: [
      {
        rule: "self.metadata.name.size() <= 40",
        message: "a CacheCluster name has at most 40 characters (it prefixes its pods' names)",
      },
    ],
  });
}
