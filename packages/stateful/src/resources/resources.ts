/**
 * The Kubernetes objects every member set has, as pure functions of the
 * owner (the custom resource) and a few names the system chooses. The system
 * supplies its container and configuration; what is here is the same for
 * Kafka, ZooKeeper, Cassandra, Redis and PostgreSQL:
 *
 * - metadata with the set's labels and a controller owner reference;
 * - one PersistentVolumeClaim per member, WITHOUT an owner reference, so
 *   data outlives the custom resource unless someone deletes it on purpose;
 * - a headless Service that publishes not-ready addresses (members find
 *   each other before any is ready);
 * - a PodDisruptionBudget allowing one member down for voluntary
 *   disruptions by others (the operator's own restarts are deletions, which
 *   a budget does not gate, and follow the system's stricter plans);
 * - the Pod Security "restricted" contexts and a spread over hosts and zones;
 * - a template hash: what a pod was built from, to tell when it must restart.
 */
import { createHash } from "node:crypto";
import type { ApplyObject, KubeObject, OwnerReference } from "@ballast/runtime";

/** The custom resource that owns the set. */
export interface Owner extends KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
}

export const wellKnownLabels = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  managedBy: "app.kubernetes.io/managed-by",
} as const;

export function namespaceOf(owner: KubeObject): string {
  return owner.metadata.namespace ?? "default";
}

/** The labels that select every pod of one set: the system's name and the owner's. */
export function selectorLabels(system: string, owner: KubeObject): Record<string, string> {
  return { [wellKnownLabels.name]: system, [wellKnownLabels.instance]: owner.metadata.name ?? "" };
}

export function controllerReference(owner: Owner): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? "",
    uid: owner.metadata.uid ?? "",
    controller: true,
    // Foreground deletion of the owner waits for these objects.
    blockOwnerDeletion: true,
  };
}

/** How one operator labels what it creates. */
export interface SetIdentity {
  /** `app.kubernetes.io/name` of every object, e.g. "kafka". */
  system: string;
  /** `app.kubernetes.io/managed-by`, e.g. "ballast-kafka-operator". */
  managedBy: string;
}

export function ownedMeta(
  identity: SetIdentity,
  owner: Owner,
  name: string,
  labels: Record<string, string> = {},
) {
  return {
    name,
    namespace: namespaceOf(owner),
    labels: {
      ...selectorLabels(identity.system, owner),
      [wellKnownLabels.managedBy]: identity.managedBy,
      ...labels,
    },
    ownerReferences: [controllerReference(owner)],
  };
}

export interface ClaimSpec {
  /** e.g. 10Gi */
  size: string;
  storageClassName?: string | undefined;
}

/** A member's data volume. No owner reference: see the module comment. */
export function memberClaim(
  identity: SetIdentity,
  owner: Owner,
  name: string,
  labels: Record<string, string>,
  storage: ClaimSpec,
): KubeObject & { spec: unknown } {
  const { ownerReferences: _none, ...metadata } = ownedMeta(identity, owner, name, labels);
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata,
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: storage.size } },
      ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
    },
  };
}

export interface ServicePort {
  name: string;
  port: number;
}

/** The Service that gives each member a stable DNS name (`<hostname>.<service>.<ns>.svc`). */
export function headlessService(
  identity: SetIdentity,
  owner: Owner,
  name: string,
  ports: readonly ServicePort[],
): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: ownedMeta(identity, owner, name),
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selectorLabels(identity.system, owner),
      ports: ports.map((p) => ({ name: p.name, port: p.port })),
    },
  };
}

/**
 * At most one member down for disruptions by others. `minAvailable`, not
 * `maxUnavailable`: the latter needs the owner's scale subresource to count
 * pods, and a set's pods may outnumber what its scale reports.
 */
export function memberDisruptionBudget(
  identity: SetIdentity,
  owner: Owner,
  name: string,
  memberCount: number,
): ApplyObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: ownedMeta(identity, owner, name),
    spec: {
      minAvailable: Math.max(0, memberCount - 1),
      selector: { matchLabels: selectorLabels(identity.system, owner) },
    },
  };
}

/** Pod Security "restricted": non-root with a fixed uid, RuntimeDefault seccomp. */
export function restrictedPodSecurityContext(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Pod Security "restricted" for each container: no privilege escalation, no capabilities. */
export function restrictedContainerSecurityContext() {
  return { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
}

/**
 * Members on different hosts where the scheduler can, and spread over
 * `topologyKey` (zones by default): preferences, never requirements, so a
 * small or single-zone cluster still runs every member.
 */
export function memberSpread(
  selector: Record<string, string>,
  topologyKey = "topology.kubernetes.io/zone",
) {
  return {
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: "kubernetes.io/hostname",
              labelSelector: { matchLabels: selector },
            },
          },
        ],
      },
    },
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: selector },
      },
    ],
  };
}

/** A short, stable hash of what a pod is built from (JSON of `relevant`). */
export function templateHash(relevant: unknown): string {
  return createHash("sha256").update(JSON.stringify(relevant)).digest("hex").slice(0, 16);
}
