/**
 * The Redis operator's Kubernetes permissions, declared as data with the
 * reason for each, so the chart's RBAC is generated from them and an e2e
 * runs the operator with exactly these. No wildcards, no pod exec: Redis
 * and Sentinel are reached over their own protocol (admin/admin.ts).
 */
import { type DeclaredRule, eventRecorderRule } from "@ballast/runtime";

const ballast = "ballast.dev";

export const namespacedRules: DeclaredRule[] = [
  {
    apiGroups: [ballast],
    resources: ["redisreplications", "redisclusters"],
    verbs: ["get", "list", "watch"],
    why: "RedisReplication and RedisCluster informers (runtime cache/informer.ts); fresh get in stateful memberSetController",
  },
  {
    apiGroups: [ballast],
    resources: ["redisreplications/finalizers", "redisclusters/finalizers"],
    verbs: ["update"],
    why: "resources.ts via stateful controllerReference: blockOwnerDeletion (OwnerReferencesPermissionEnforcement)",
  },
  {
    apiGroups: [ballast],
    resources: ["redisreplications/status", "redisclusters/status"],
    verbs: ["patch"],
    why: "replication/scope.ts and cluster/scope.ts writeStatus (server-side apply of status)",
  },
  {
    apiGroups: [""],
    resources: ["pods"],
    verbs: ["list", "watch", "create", "delete", "patch"],
    why: "owned-pod informer; replication/objects.ts create (members and sentinels); replication/roll.ts and scale.ts delete (stateful deleteMemberPod); replication/service.ts patch: the role label the master Service selects on",
  },
  {
    apiGroups: [""],
    resources: ["pods/status"],
    verbs: ["patch"],
    why: "replication/observe.ts setServingGates via stateful setReadinessGates (serving readiness gate)",
  },
  {
    apiGroups: [""],
    resources: ["persistentvolumeclaims"],
    verbs: ["create", "delete"],
    why: "replication/objects.ts create (stateful syncMembers); replication/scale.ts scale-down delete (stateful actOnScaleDown), after the member's pod is gone",
  },
  {
    apiGroups: [""],
    resources: ["secrets"],
    verbs: ["get", "create", "patch"],
    why: "replication/credentials.ts and users/sync.ts via stateful ensureGeneratedSecret: the set's password and each ACL user's, read each reconcile, created once (no list/watch: only the set's own Secrets are read); users/sync.ts patch: the users' file (server-side apply)",
  },
  {
    apiGroups: [""],
    resources: ["services", "configmaps"],
    verbs: ["list", "watch", "create", "patch"],
    why: "owned informers; replication/objects.ts syncObjects server-side apply (stateful applyDrifted)",
  },
  {
    apiGroups: ["policy"],
    resources: ["poddisruptionbudgets"],
    verbs: ["list", "watch", "create", "patch"],
    why: "owned informer; replication/objects.ts syncObjects server-side apply (stateful applyDrifted)",
  },
  { ...eventRecorderRule },
];
