/**
 * The ZooKeeper kind, declared once: `ZooKeeperEnsemble` in
 * `ballast.dev/v1alpha1`. Its TypeScript type, CRD manifest and validator
 * all come from this schema.
 *
 * What can be checked without looking at the running ensemble is checked
 * here, at admission (schema and CEL, with messages that say what to fix):
 * an even or zero member count, a key of zoo.cfg the operator owns, a
 * version that is not a ZooKeeper release. What cannot (a version the image
 * source cannot serve) becomes a Degraded condition.
 */
import { Conditions, defineResource, IntOrString, type ResourceOf } from "@ballast/runtime";
import {
  ComputeResources,
  MemberStorage,
  memberSetNameRule,
  OperationStatus,
} from "@ballast/stateful";
import Type from "typebox";

export const group = "ballast.dev";
export const version = "v1alpha1";

/**
 * zoo.cfg keys the operator sets itself: identity, addresses, paths and the
 * reconfiguration machinery. A user value for any of them would break what
 * the operator relies on, so admission refuses them.
 */
export const ownedConfigKeys = [
  "dataDir",
  "dataLogDir",
  "clientPort",
  "clientPortAddress",
  "secureClientPort",
  "dynamicConfigFile",
  "reconfigEnabled",
  "standaloneEnabled",
  "skipACL",
  "DigestAuthenticationProvider.superDigest",
  "admin.enableServer",
  "admin.serverPort",
  "admin.serverAddress",
  "4lw.commands.whitelist",
  "quorumListenOnAllIPs",
] as const;

const resources = ComputeResources("Compute resources of each ZooKeeper container.");

const ownedList = ownedConfigKeys.map((k) => `'${k}'`).join(", ");

export const ZooKeeperEnsemble = defineResource({
  group,
  version,
  kind: "ZooKeeperEnsemble",
  plural: "zookeeperensembles",
  shortNames: ["zk", "zke"],
  categories: ["ballast", "all"],
  scope: "Namespaced",
  description:
    "An Apache ZooKeeper ensemble. The operator restarts it one member at a time (followers first, the leader last, each back and synced before the next) and changes its membership by dynamic reconfiguration, one voter at a time.",
  spec: Type.Object({
    version: Type.String({
      description:
        "The ZooKeeper release to run, e.g. 3.9.5 (3.8 or later: dynamic reconfiguration and the AdminServer's JSON commands). Changing it upgrades the ensemble with a rolling restart.",
      pattern: "^3\\.(8|9|[1-9][0-9])\\.[0-9]+$",
    }),
    image: Type.Optional(
      Type.String({
        description: "The container image. @default zookeeper:<version>",
        minLength: 1,
        maxLength: 512,
      }),
    ),
    replicas: Type.Integer({
      description:
        "How many voting members: 1, 3, 5 or 7 (an even count adds no fault tolerance). A change is carried out one member at a time by dynamic reconfiguration; status.operation says which member is being added or removed.",
      enum: [1, 3, 5, 7],
    }),
    storage: MemberStorage({
      size: "Size of each member's data volume (snapshots, transaction log, myid and the dynamic configuration), e.g. 1Gi.",
      description:
        "Each member's data volume: a PersistentVolumeClaim kept across restarts, deleted only once the ensemble no longer lists the member.",
      what: "the ensemble",
    }),
    config: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 253 }), IntOrString(), {
        description: `Extra zoo.cfg settings, e.g. tickTime: 2000, maxClientCnxns: 100. A change rolls the ensemble. Keys the operator owns (${ownedConfigKeys.join(", ")}, server.N, group.N, weight.N) are refused.`,
        maxProperties: 128,
        "x-kubernetes-validations": [
          {
            rule: `self.all(k, !(k in [${ownedList}]))`,
            message: `spec.config sets a key the operator owns; remove it (owned: ${ownedConfigKeys.join(", ")})`,
          },
          {
            rule: "self.all(k, !k.startsWith('server.') && !k.startsWith('group.') && !k.startsWith('weight.'))",
            message:
              "spec.config cannot set server.N, group.N or weight.N: membership is the operator's, changed through spec.replicas",
          },
        ],
      }),
    ),
    resources: Type.Optional(resources),
    jvm: Type.Optional(
      Type.Object(
        {
          heap: Type.String({
            description: "Heap size of each member (-Xms and -Xmx), e.g. 256m.",
            pattern: "^[0-9]+[kKmMgG]$",
            default: "256m",
          }),
        },
        { description: "JVM settings of the ZooKeeper servers." },
      ),
    ),
  }),
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
    conditions: Type.Optional(Conditions()),
    version: Type.Optional(
      Type.String({ description: "The ZooKeeper version every member runs (unset mid-upgrade)." }),
    ),
    readyMembers: Type.Optional(
      Type.Integer({ minimum: 0, description: "Members serving in the ensemble." }),
    ),
    ready: Type.Optional(
      Type.String({ description: "Serving members out of spec.replicas, e.g. 3/3." }),
    ),
    leader: Type.Optional(
      Type.Integer({ minimum: 0, description: "The id of the member leading the ensemble." }),
    ),
    configVersion: Type.Optional(
      Type.String({
        description:
          "The version of the ensemble's dynamic configuration (hex), as the members report it.",
      }),
    ),
    connectString: Type.Optional(
      Type.String({ description: "host:port for clients inside the cluster." }),
    ),
    members: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.Integer({
            minimum: 1,
            maximum: 255,
            description: "The member's myid: assigned once, never reused while it exists.",
          }),
          pod: Type.String({ description: "The member's pod." }),
          role: Type.Optional(
            Type.String({
              description:
                "What the member reports: leader, follower, observer, or empty when it does not answer.",
            }),
          ),
          ready: Type.Boolean({ description: "Serving in the ensemble." }),
          zxid: Type.Optional(
            Type.String({ description: "The last transaction id the member has seen (hex)." }),
          ),
          voter: Type.Optional(
            Type.Boolean({
              description: "Listed as a participant in the ensemble's dynamic configuration.",
            }),
          ),
          removing: Type.Optional(
            Type.Boolean({
              description: "Set while the member is being removed from the ensemble.",
            }),
          ),
        }),
        {
          description:
            "Every member the ensemble has, by id, recorded before its pod exists. The list is the operator's intent; voter says what the ensemble itself agreed to.",
        },
      ),
    ),
    operation: Type.Optional(OperationStatus()),
  }),
  printerColumns: [
    { name: "Ready", type: "string", jsonPath: ".status.ready" },
    { name: "Leader", type: "integer", jsonPath: ".status.leader" },
    { name: "Version", type: "string", jsonPath: ".status.version" },
    { name: "Operation", type: "string", jsonPath: ".status.operation.summary" },
    {
      name: "Healthy",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    },
  ],
  scale: {
    specReplicasPath: ".spec.replicas",
    statusReplicasPath: ".status.readyMembers",
  },
  // Services <name>-members, <name>-client; pods <name>-<myid> (1–255).
  validations: [memberSetNameRule(["-members", "-client", "-config", "-zookeeper", "-255"])],
});

export type ZooKeeperEnsemble = ResourceOf<typeof ZooKeeperEnsemble>;
export type ZooKeeperEnsembleStatus = NonNullable<ZooKeeperEnsemble["status"]>;
export type MemberStatus = NonNullable<ZooKeeperEnsembleStatus["members"]>[number];
