/**
 * The `local` StorageClass's provisioner: a claim the scheduler has placed on
 * a node (WaitForFirstConsumer sets `volume.kubernetes.io/selected-node`) gets
 * a PersistentVolume on a directory of that node, with node affinity, so the
 * pod always comes back to its data. A Released volume with reclaim policy
 * Delete has its directory removed and is deleted.
 */
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Kube } from "../node/kube.ts";
import { listWatch } from "./list-watch.ts";

export const provisionerName = "ballast.dev/local";
export const storageClassName = "local";

interface Claim {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: {
    storageClassName?: string;
    volumeName?: string;
    accessModes?: string[];
    resources?: { requests?: { storage?: string } };
    volumeMode?: string;
  };
  status?: { phase?: string };
}

interface Volume {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { local?: { path: string }; persistentVolumeReclaimPolicy?: string };
  status?: { phase?: string };
}

export async function ensureStorageClass(kube: Kube): Promise<void> {
  const res = await kube.request("/apis/storage.k8s.io/v1/storageclasses", {
    method: "POST",
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: {
        name: storageClassName,
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      },
      provisioner: provisionerName,
      volumeBindingMode: "WaitForFirstConsumer",
      reclaimPolicy: "Delete",
    },
  });
  if (res.status !== 201 && res.status !== 409) {
    throw new Error(`creating StorageClass ${storageClassName}: ${res.status}`);
  }
}

export function volumeDir(clusterDir: string, node: string, pvName: string): string {
  return join(clusterDir, "nodes", node, "volumes", pvName);
}

export function startProvisioner(options: {
  kube: Kube;
  clusterDir: string;
  signal: AbortSignal;
  log: (message: string, fields?: Record<string, unknown>) => void;
}): void {
  const { kube, log } = options;
  const inFlight = new Set<string>();

  const provision = async (claim: Claim) => {
    const annotations = claim.metadata.annotations ?? {};
    const node = annotations["volume.kubernetes.io/selected-node"];
    const ours = annotations["volume.kubernetes.io/storage-provisioner"] === provisionerName;
    if (!node || !ours || claim.spec.volumeName || claim.status?.phase === "Bound") return;
    const pvName = `pvc-${claim.metadata.uid}`;
    if (inFlight.has(pvName)) return;
    inFlight.add(pvName);
    try {
      const path = volumeDir(options.clusterDir, node, pvName);
      // Writable by any pod user unless the pod asks for fsGroup ownership
      // (the node applies it); mkdir's mode is cut by the umask, chmod's is not.
      mkdirSync(path, { recursive: true });
      chmodSync(path, 0o777);
      const res = await kube.request("/api/v1/persistentvolumes", {
        method: "POST",
        body: {
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: {
            name: pvName,
            annotations: { "pv.kubernetes.io/provisioned-by": provisionerName },
          },
          spec: {
            capacity: { storage: claim.spec.resources?.requests?.storage ?? "1Gi" },
            accessModes: claim.spec.accessModes ?? ["ReadWriteOnce"],
            volumeMode: claim.spec.volumeMode ?? "Filesystem",
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: claim.spec.storageClassName ?? storageClassName,
            local: { path },
            claimRef: {
              apiVersion: "v1",
              kind: "PersistentVolumeClaim",
              namespace: claim.metadata.namespace,
              name: claim.metadata.name,
              uid: claim.metadata.uid,
            },
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: "kubernetes.io/hostname", operator: "In", values: [node] },
                    ],
                  },
                ],
              },
            },
          },
        },
      });
      if (res.status === 201)
        log("provisioned", {
          claim: `${claim.metadata.namespace}/${claim.metadata.name}`,
          pv: pvName,
          node,
        });
      else if (res.status !== 409) log("provisioning failed", { pv: pvName, status: res.status });
    } finally {
      inFlight.delete(pvName);
    }
  };

  const reclaim = async (volume: Volume) => {
    const ours =
      volume.metadata.annotations?.["pv.kubernetes.io/provisioned-by"] === provisionerName;
    if (
      !ours ||
      volume.status?.phase !== "Released" ||
      volume.spec.persistentVolumeReclaimPolicy !== "Delete"
    )
      return;
    if (inFlight.has(volume.metadata.name)) return;
    inFlight.add(volume.metadata.name);
    try {
      const path = volume.spec.local?.path;
      // Only ever delete inside this cluster's node directories.
      if (path?.startsWith(join(options.clusterDir, "nodes")))
        rmSync(path, { recursive: true, force: true });
      const res = await kube.request(`/api/v1/persistentvolumes/${volume.metadata.name}`, {
        method: "DELETE",
      });
      if (res.status === 200) log("deleted released volume", { pv: volume.metadata.name });
    } finally {
      inFlight.delete(volume.metadata.name);
    }
  };

  void listWatch<Claim>(
    kube,
    "/api/v1/persistentvolumeclaims",
    (claims) => {
      for (const claim of claims) void provision(claim);
    },
    options.signal,
    log,
  );
  void listWatch<Volume>(
    kube,
    "/api/v1/persistentvolumes",
    (volumes) => {
      for (const volume of volumes) void reclaim(volume);
    },
    options.signal,
    log,
  );
}
