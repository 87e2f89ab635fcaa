/**
 * The ZooKeeper operator's Kubernetes permissions, declared as data with
 * the reason for each, so the chart's RBAC is generated from them and the
 * e2e runs the operator with exactly these. No wildcards.
 */
import { type DeclaredRule, eventRecorderRule } from "@ballast/runtime";

const ballast = "ballast.dev";

export const namespacedRules: DeclaredRule[] = [
  {
    apiGroups: [ballast],
    resources: ["zookeeperensembles"],
    verbs: ["get", "list", "watch"],
    why: "ZooKeeperEnsemble informer (runtime cache/informer.ts); fresh get in ensemble/controller.ts",
  },
  {
    apiGroups: [ballast],
    resources: ["zookeeperensembles/finalizers"],
    verbs: ["update"],
    why: "resources.ts via stateful controllerReference: blockOwnerDeletion (OwnerReferencesPermissionEnforcement)",
  },
  {
    apiGroups: [ballast],
    resources: ["zookeeperensembles/status"],
    verbs: ["patch"],
    why: "ensemble/scope.ts writeStatus (server-side apply of status)",
  },
  {
    apiGroups: [""],
    resources: ["pods"],
    verbs: ["get", "list", "watch", "create", "delete"],
    why: "owned-pod informer; ensemble/objects.ts create; ensemble/roll.ts and scale.ts delete (stateful deleteMemberPod); get: the exec upgrade of admin/exec-runner.ts reads the pod",
  },
  {
    apiGroups: [""],
    resources: ["pods/status"],
    verbs: ["patch"],
    why: "ensemble/observe.ts setServingGates via stateful setReadinessGates (serving readiness gate)",
  },
  {
    apiGroups: [""],
    resources: ["pods/exec"],
    verbs: ["get", "create"],
    why: "admin/exec-runner.ts: zkCli.sh reconfig in a member's container (the upgrade is a GET; API servers since 1.35 also check create)",
  },
  {
    apiGroups: [""],
    resources: ["persistentvolumeclaims"],
    verbs: ["create", "delete"],
    why: "ensemble/objects.ts create; ensemble/scale.ts scale-down delete (stateful actOnScaleDown), once the ensemble no longer lists the member",
  },
  {
    apiGroups: [""],
    resources: ["secrets"],
    verbs: ["get", "create"],
    why: "ensemble/credentials.ts via stateful ensureGeneratedSecret: the superuser's password, read each reconcile, created once (no list/watch: only the ensemble's own Secret is read)",
  },
  {
    apiGroups: [""],
    resources: ["services", "configmaps"],
    verbs: ["list", "watch", "create", "patch"],
    why: "owned informers; ensemble/objects.ts syncObjects server-side apply (stateful applyDrifted)",
  },
  {
    apiGroups: ["policy"],
    resources: ["poddisruptionbudgets"],
    verbs: ["list", "watch", "create", "patch"],
    why: "owned informer; ensemble/objects.ts syncObjects server-side apply (stateful applyDrifted)",
  },
  { ...eventRecorderRule },
];
