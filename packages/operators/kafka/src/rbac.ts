/**
 * The Kafka operator's Kubernetes permissions, declared as data and derived
 * from the calls the code makes, so the Helm chart's RBAC is generated
 * (`node scripts/generate-chart.ts`) rather than written by hand.
 *
 * Three scopes, because the chart binds them differently:
 * - `namespacedRules`: everything the two controllers touch inside the
 *   namespaces they watch; a ClusterRole when watching all namespaces, one
 *   Role per namespace otherwise. Declared here, in the descriptor.
 * - `clusterRules`: cluster-scoped kinds, only the operator's own two CRDs
 *   (installed and upgraded by `--install-crds`); always a ClusterRole.
 *   The runtime derives them from the CRDs (`crdInstallRules`): get and
 *   patch limited to these names, create unnamed.
 * - `leaderElectionRules`: the Lease in the operator's own namespace; the
 *   runtime's elector's, the same for every operator.
 *
 * Server-side apply is a PATCH, but the API server authorizes an apply that
 * creates the object as `create` too, so every applied kind has both verbs.
 * No rule uses a wildcard: a new call in the code needs a new line here, and
 * the chart test proves the ServiceAccount can make exactly these calls.
 */
import {
  crdInstallRules,
  type DeclaredRule,
  leaderElectionRules as electorRules,
  eventRecorderRule,
  type PolicyRule,
  toPolicyRule,
} from "@ballast/runtime";
import { KafkaCluster, KafkaTopic } from "./api.ts";

export type { DeclaredRule, PolicyRule };
export { toPolicyRule };

const ballast = "ballast.dev";

export const namespacedRules: DeclaredRule[] = [
  // KafkaCluster informer (list+watch); cluster/controller.ts GETs it fresh
  // before deciding, and topic/controller.ts GETs a topic's cluster.
  {
    apiGroups: [ballast],
    resources: ["kafkaclusters"],
    verbs: ["get", "list", "watch"],
    why: "KafkaCluster informer (runtime cache/informer.ts); fresh get in cluster/controller.ts and topic/controller.ts",
  },
  // resources.ts (stateful controllerReference) sets blockOwnerDeletion on the owner references of pods,
  // Services, the ConfigMap and the budget; API servers running the
  // OwnerReferencesPermissionEnforcement admission plugin (OpenShift, some
  // hardened clusters) require this to set it.
  {
    apiGroups: [ballast],
    resources: ["kafkaclusters/finalizers"],
    verbs: ["update"],
    why: "resources.ts via stateful controllerReference: blockOwnerDeletion (OwnerReferencesPermissionEnforcement)",
  },
  // cluster/scope.ts writeStatus: applyStatus (server-side apply of /status).
  {
    apiGroups: [ballast],
    resources: ["kafkaclusters/status"],
    verbs: ["patch"],
    why: "cluster/scope.ts writeStatus (server-side apply of status)",
  },
  // KafkaTopic informer; the runtime's finalize() adds/removes the finalizer
  // with a JSON patch, topic/controller.ts records managed keys with a merge patch.
  {
    apiGroups: [ballast],
    resources: ["kafkatopics"],
    verbs: ["list", "watch", "patch"],
    why: "KafkaTopic informer (runtime cache/informer.ts); runtime finalizer/finalize.ts JSON patch; topic/controller.ts managed-config merge patch",
  },
  // topic/controller.ts writeStatus: applyStatus.
  {
    apiGroups: [ballast],
    resources: ["kafkatopics/status"],
    verbs: ["patch"],
    why: "topic/controller.ts writeStatus (server-side apply of status)",
  },
  // Owned pods: informer; objects.ts creates them; the roll and scale-down
  // delete them (stateful deleteMemberPod); dynamic-config.ts merge-patches
  // the applied-config annotation;
  // topic/controller.ts lists broker pods to find a bootstrap address.
  {
    apiGroups: [""],
    resources: ["pods"],
    verbs: ["list", "watch", "create", "delete", "patch"],
    why: "owned-pod informer (runtime cache/informer.ts); cluster/objects.ts create; cluster/roll.ts and cluster/scale.ts delete (stateful deleteMemberPod); cluster/dynamic-config.ts applied-config patch; topic/controller.ts bootstrap list",
  },
  // observe.ts setRunningGates (stateful setReadinessGates): strategic-merge patch of the gate condition.
  {
    apiGroups: [""],
    resources: ["pods/status"],
    verbs: ["patch"],
    why: "cluster/observe.ts setRunningGates via stateful setReadinessGates (broker-running readiness gate)",
  },
  // objects.ts creates one claim per node; scale-down deletes a removed node's.
  {
    apiGroups: [""],
    resources: ["persistentvolumeclaims"],
    verbs: ["create", "delete"],
    why: "cluster/objects.ts create; cluster/scale.ts scale-down delete (stateful actOnScaleDown)",
  },
  // objects.ts syncObjects: owned informers, then server-side apply (patch, and
  // create on the first apply) of the two Services and the ConfigMap.
  {
    apiGroups: [""],
    resources: ["services", "configmaps"],
    verbs: ["list", "watch", "create", "patch"],
    why: "owned informers (runtime cache/informer.ts); cluster/objects.ts syncObjects server-side apply (stateful applyDrifted)",
  },
  // objects.ts syncObjects: the PodDisruptionBudget, likewise.
  {
    apiGroups: ["policy"],
    resources: ["poddisruptionbudgets"],
    verbs: ["list", "watch", "create", "patch"],
    why: "owned informer (runtime cache/informer.ts); cluster/objects.ts syncObjects server-side apply (stateful applyDrifted)",
  },
  // The runtime's EventRecorder creates an Event, then merge-patches its series.
  { ...eventRecorderRule },
];

/** operator.ts's `crds`: get/patch by name, create (see the header). */
export const clusterRules: DeclaredRule[] = crdInstallRules([KafkaCluster, KafkaTopic]);

export const leaderElectionRules: DeclaredRule[] = electorRules.map((rule) => ({ ...rule }));

/** Every permission the operator needs, in all three scopes. */
export const kafkaOperatorRules: PolicyRule[] = [
  ...namespacedRules,
  ...clusterRules,
  ...leaderElectionRules,
].map(toPolicyRule);
