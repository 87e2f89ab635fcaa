/**
 * The PostgreSQL operator's Kubernetes permissions, declared as data with
 * the reason for each, so the chart's RBAC is generated from them and an
 * e2e runs the operator with exactly these. No wildcards. PostgreSQL is
 * reached over its own protocol (admin/admin.ts), pg_rewind and
 * pg_basebackup run in the pods' start script; pod exec is only for
 * pgBackRest, which must run beside PGDATA (cluster/backup.ts).
 */
import { type DeclaredRule, eventRecorderRule } from "@ballast/runtime";

const ballast = "ballast.dev";

export const namespacedRules: DeclaredRule[] = [
  {
    apiGroups: [ballast],
    resources: ["postgresclusters"],
    verbs: ["get", "list", "watch", "patch"],
    why: "PostgresCluster informer; fresh get in stateful memberSetController and backup/controller.ts (the cluster a Backup names); cluster/switchover.ts patch: removes the switchover request annotation once done",
  },
  {
    apiGroups: [ballast],
    resources: ["backups"],
    verbs: ["list", "watch"],
    why: "backup/controller.ts: the Backup informer (also watched by cluster/controller.ts and backup/scheduled.ts); backup/controller.ts and cluster/backup.ts list the namespace's records (the sets retention removed, the newest Completed)",
  },
  {
    apiGroups: [ballast],
    resources: ["backups"],
    verbs: ["create", "delete"],
    why: "backup/scheduled.ts: the Backup of each scheduled run; the Failed and Expired records beyond the history limits",
  },
  {
    apiGroups: [ballast],
    resources: ["scheduledbackups"],
    verbs: ["list", "watch"],
    why: "backup/scheduled.ts: the ScheduledBackup informer",
  },
  {
    apiGroups: [ballast],
    resources: ["scheduledbackups/status"],
    verbs: ["patch"],
    why: "backup/scheduled.ts writeStatus (server-side apply of status)",
  },
  {
    apiGroups: [ballast],
    resources: ["backups"],
    verbs: ["get"],
    why: "cluster/restore.ts: the Backup spec.bootstrap.recovery.backup names, read fresh (its phase, label and repository)",
  },
  {
    apiGroups: [ballast],
    resources: ["backups/status"],
    verbs: ["patch"],
    why: "backup/controller.ts writeStatus (server-side apply of status)",
  },
  {
    apiGroups: [ballast],
    resources: ["postgresclusters/finalizers"],
    verbs: ["update"],
    why: "resources.ts via stateful controllerReference: blockOwnerDeletion (OwnerReferencesPermissionEnforcement)",
  },
  {
    apiGroups: [ballast],
    resources: ["postgresclusters/status"],
    verbs: ["patch"],
    why: "cluster/scope.ts writeStatus (server-side apply of status)",
  },
  {
    apiGroups: [""],
    resources: ["pods"],
    verbs: ["list", "watch", "create", "delete", "patch"],
    why: "owned-pod informer; cluster/objects.ts create; cluster/failover.ts, switchover.ts, rejoin.ts, roll.ts, scale.ts delete (fence, repoint, rewind, restart; stateful deleteMemberPod); cluster/scope.ts patch: the primary marker; cluster/service.ts patch: the role label the -rw and -ro Services select on; cluster/restore.ts create and delete: the short-lived pod a restore's target is checked in",
  },
  {
    apiGroups: [""],
    resources: ["pods/status"],
    verbs: ["patch"],
    why: "cluster/service.ts via stateful setReadinessGates (serving readiness gate)",
  },
  {
    apiGroups: [""],
    resources: ["persistentvolumeclaims"],
    verbs: ["create", "delete"],
    why: "cluster/objects.ts create (stateful syncMembers); cluster/scale.ts scale-down delete (stateful actOnScaleDown), after the instance's pod is gone",
  },
  {
    apiGroups: [""],
    resources: ["secrets"],
    verbs: ["get", "create", "patch"],
    why: "cluster/credentials.ts via stateful ensureGeneratedSecret: the superuser's and the replication user's passwords, read each reconcile, created once (no list/watch: only the cluster's own Secrets are read); cluster/backup.ts: get spec.backup's credentials Secret, server-side apply (create + patch) of the <name>-pgbackrest Secret rendered from it; cluster/roles.ts: get each spec.roles[].passwordSecret, and the generated <name>-role-<role> Secrets via ensureGeneratedSecret (created once)",
  },
  {
    apiGroups: [""],
    resources: ["pods/exec"],
    verbs: ["get", "create"],
    why: "cluster/backup.ts and backup/controller.ts via runtime exec: pgBackRest's stanza-create, check, backup and info in the primary's container (pgBackRest reads PGDATA from the pod's disk); cluster/restore.ts: pgBackRest's info of a restore's source in the check pod, and psql in a restored first instance (promoted? then this cluster's passwords); a WebSocket exec is a GET the API server also authorizes as create",
  },
  {
    apiGroups: [""],
    resources: ["services", "configmaps"],
    verbs: ["list", "watch", "create", "patch"],
    why: "owned informers; cluster/objects.ts syncObjects server-side apply (stateful applyDrifted)",
  },
  {
    apiGroups: ["policy"],
    resources: ["poddisruptionbudgets"],
    verbs: ["list", "watch", "create", "patch"],
    why: "owned informer; cluster/objects.ts syncObjects server-side apply (stateful applyDrifted)",
  },
  { ...eventRecorderRule },
];

/** Cluster-scoped kinds beyond the operator's own CRDs (the runtime adds those). */
export const clusterRules: DeclaredRule[] = [
  {
    apiGroups: [""],
    resources: ["nodes"],
    verbs: ["get"],
    why: "cluster/observe.ts via stateful nodeStoppedReporting: whether a fenced primary's node has stopped reporting, only while its pod's deletion waits on it",
  },
];
