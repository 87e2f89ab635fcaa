/**
 * Pod volumes, materialised as directories on the node that the container
 * launcher bind-mounts at each mountPath.
 *
 * ConfigMap, Secret, downward API and projected volumes are re-synced while the
 * pod runs, and each file is replaced by rename, so a process that re-reads a
 * mounted file sees the update (a subPath mount, as in Kubernetes, does not).
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fieldValue, type PodRuntimeFacts, resourceValue } from "./fields.ts";
import type { ConfigMapLike, DownwardItem, KeyToPath, Kube, Pod, Volume } from "./kube.ts";

export class VolumeError extends Error {
  override name = "VolumeError";
}

type Files = Map<string, { content: Buffer; mode: number }>;

interface TokenCache {
  token: string;
  refreshAt: number;
}

export class PodVolumes {
  readonly #kube: Kube;
  readonly #pod: Pod;
  readonly #root: string;
  readonly #tokens = new Map<string, TokenCache>();

  constructor(kube: Kube, pod: Pod, podDir: string) {
    this.#kube = kube;
    this.#pod = pod;
    this.#root = join(podDir, "volumes");
  }

  /** Host path of a volume (after `sync`). */
  async hostPath(volume: Volume): Promise<string> {
    if (volume.hostPath) return volume.hostPath.path;
    if (volume.persistentVolumeClaim)
      return this.#claimPath(volume.persistentVolumeClaim.claimName);
    return join(this.#root, volume.name);
  }

  /** Creates or refreshes every volume; throws a VolumeError naming what is missing. */
  async sync(facts: PodRuntimeFacts): Promise<void> {
    for (const volume of this.#pod.spec.volumes ?? []) {
      const dir = join(this.#root, volume.name);
      if (volume.emptyDir) {
        mkdirSync(dir, { recursive: true, mode: 0o777 });
        this.#applyFsGroup(dir);
      } else if (volume.configMap) {
        const cm = await this.#configMap(volume.configMap.name, volume.configMap.optional);
        writeFiles(
          dir,
          keyFiles(cm, volume.configMap.items, volume.configMap.defaultMode ?? 0o644),
        );
        this.#applyFsGroupReadOnly(dir);
      } else if (volume.secret) {
        const secret = await this.#secret(volume.secret.secretName, volume.secret.optional);
        writeFiles(dir, keyFiles(secret, volume.secret.items, volume.secret.defaultMode ?? 0o644));
        this.#applyFsGroupReadOnly(dir);
      } else if (volume.downwardAPI) {
        writeFiles(
          dir,
          this.#downward(volume.downwardAPI.items, facts, volume.downwardAPI.defaultMode ?? 0o644),
        );
        this.#applyFsGroupReadOnly(dir);
      } else if (volume.projected) {
        const files: Files = new Map();
        const mode = volume.projected.defaultMode ?? 0o644;
        for (const source of volume.projected.sources) {
          if (source.configMap) {
            const cm = await this.#configMap(source.configMap.name, source.configMap.optional);
            merge(files, keyFiles(cm, source.configMap.items, mode));
          } else if (source.secret) {
            const secret = await this.#secret(source.secret.name, source.secret.optional);
            merge(files, keyFiles(secret, source.secret.items, mode));
          } else if (source.downwardAPI) {
            merge(files, this.#downward(source.downwardAPI.items, facts, mode));
          } else if (source.serviceAccountToken) {
            const { path, audience, expirationSeconds } = source.serviceAccountToken;
            const token = await this.#token(audience, expirationSeconds ?? 3607);
            files.set(path, { content: Buffer.from(token), mode });
          }
        }
        writeFiles(dir, files);
        this.#applyFsGroupReadOnly(dir);
      } else if (volume.persistentVolumeClaim) {
        const path = await this.#claimPath(volume.persistentVolumeClaim.claimName);
        if (!existsSync(path)) mkdirSync(path, { recursive: true });
        this.#applyFsGroup(path);
      } else if (volume.hostPath) {
        const type = volume.hostPath.type ?? "";
        if (type === "DirectoryOrCreate") mkdirSync(volume.hostPath.path, { recursive: true });
        else if (type === "Directory" && !isDir(volume.hostPath.path)) {
          throw new VolumeError(`hostPath ${volume.hostPath.path} is not a directory`);
        }
      } else {
        throw new VolumeError(`volume "${volume.name}" has a type the local nodes do not support`);
      }
    }
  }

  /**
   * `securityContext.fsGroup`, as the kubelet applies it to volumes that
   * support ownership management: every file group-owned by fsGroup and
   * group-writable, directories setgid so new files inherit the group.
   * Like `fsGroupChangePolicy: OnRootMismatch`, a volume whose root already
   * has the group is left alone (a restart does not walk a large volume).
   */
  #applyFsGroup(root: string): void {
    const gid = this.#pod.spec.securityContext?.fsGroup;
    if (gid === undefined) return;
    const rootStat = statSync(root);
    if (rootStat.gid === gid && (rootStat.mode & 0o2070) === 0o2070) return;
    chownTree(root, gid, { dirs: 0o2070, files: 0o060 });
  }

  /**
   * The same for the volumes the kubelet writes itself (Secret, ConfigMap,
   * downward API, projected), read-only: files `| 0440`, directories
   * `| 0550` and setgid. So a Secret mounted with `defaultMode: 0400` is
   * readable by the pod's group, as on a real node. At every refresh: the
   * files are rewritten each time.
   */
  #applyFsGroupReadOnly(root: string): void {
    const gid = this.#pod.spec.securityContext?.fsGroup;
    if (gid !== undefined) chownTree(root, gid, { dirs: 0o2550, files: 0o440 });
  }

  /** Removes the pod's own volumes (never PVC or hostPath data). */
  cleanup(): void {
    rmSync(this.#root, { recursive: true, force: true });
  }

  async #configMap(name: string, optional = false): Promise<ConfigMapLike> {
    const ns = this.#pod.metadata.namespace ?? "default";
    const cm = await this.#kube.get<ConfigMapLike>(`/api/v1/namespaces/${ns}/configmaps/${name}`);
    if (cm) return cm;
    if (optional) return { metadata: { name, uid: "" } };
    throw new VolumeError(`configmap "${name}" not found`);
  }

  async #secret(name: string, optional = false): Promise<ConfigMapLike> {
    const ns = this.#pod.metadata.namespace ?? "default";
    const secret = await this.#kube.get<ConfigMapLike & { data?: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/secrets/${name}`,
    );
    if (secret) return { metadata: secret.metadata, binaryData: secret.data ?? {} };
    if (optional) return { metadata: { name, uid: "" } };
    throw new VolumeError(`secret "${name}" not found`);
  }

  #downward(items: DownwardItem[], facts: PodRuntimeFacts, mode: number): Files {
    const files: Files = new Map();
    for (const item of items) {
      const value = item.fieldRef
        ? fieldValue(this.#pod, item.fieldRef.fieldPath, facts)
        : item.resourceFieldRef
          ? resourceValue(
              this.#pod,
              item.resourceFieldRef.containerName,
              item.resourceFieldRef.resource,
            )
          : "";
      files.set(item.path, { content: Buffer.from(value), mode: item.mode ?? mode });
    }
    return files;
  }

  /** A bound service-account token, refreshed at 80% of its life like the kubelet's. */
  async #token(audience: string | undefined, expirationSeconds: number): Promise<string> {
    const key = `${audience ?? ""}/${expirationSeconds}`;
    const cached = this.#tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    const { metadata, spec } = this.#pod;
    const ns = metadata.namespace ?? "default";
    const sa = spec.serviceAccountName ?? "default";
    const body = await this.#kube.must<{ status: { token: string } }>(
      `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      {
        method: "POST",
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: {
            ...(audience ? { audiences: [audience] } : {}),
            expirationSeconds: Math.max(600, expirationSeconds),
            boundObjectRef: {
              apiVersion: "v1",
              kind: "Pod",
              name: metadata.name,
              uid: metadata.uid,
            },
          },
        },
      },
    );
    this.#tokens.set(key, {
      token: body.status.token,
      refreshAt: Date.now() + 0.8 * Math.max(600, expirationSeconds) * 1000,
    });
    return body.status.token;
  }

  async #claimPath(claimName: string): Promise<string> {
    const ns = this.#pod.metadata.namespace ?? "default";
    const pvc = await this.#kube.get<{ spec: { volumeName?: string } }>(
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/${claimName}`,
    );
    if (!pvc) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
    if (!pvc.spec.volumeName)
      throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound yet`);
    const pv = await this.#kube.get<{
      spec: { local?: { path: string }; hostPath?: { path: string } };
    }>(`/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
    const path = pv?.spec.local?.path ?? pv?.spec.hostPath?.path;
    if (!path) {
      throw new VolumeError(
        `persistentvolume "${pvc.spec.volumeName}" is not a local or hostPath volume the local nodes can mount`,
      );
    }
    return path;
  }
}

function keyFiles(source: ConfigMapLike, items: KeyToPath[] | undefined, mode: number): Files {
  const all = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(source.data ?? {})) all.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries(source.binaryData ?? {}))
    all.set(k, Buffer.from(v, "base64"));
  const files: Files = new Map();
  if (!items) {
    for (const [k, content] of all) files.set(k, { content, mode });
    return files;
  }
  for (const item of items) {
    const content = all.get(item.key);
    if (!content) throw new VolumeError(`key "${item.key}" not found in "${source.metadata.name}"`);
    files.set(item.path, { content, mode: item.mode ?? mode });
  }
  return files;
}

function merge(into: Files, from: Files): void {
  for (const [k, v] of from) into.set(k, v);
}

/** Writes each file by rename and removes files that are no longer projected. */
/** Group `gid` on everything under `root`, and the mode bits given added (symlinks left alone). */
function chownTree(root: string, gid: number, add: { dirs: number; files: number }): void {
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    chownSync(path, stat.uid, gid);
    if (stat.isDirectory()) {
      chmodSync(path, (stat.mode & 0o7777) | add.dirs);
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else {
      chmodSync(path, (stat.mode & 0o7777) | add.files);
    }
  };
  walk(root);
}

function writeFiles(dir: string, files: Files): void {
  mkdirSync(dir, { recursive: true });
  for (const [path, { content, mode }] of files) {
    if (path.split("/").includes("..")) throw new VolumeError(`path "${path}" escapes its volume`);
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.ballast-tmp`;
    writeFileSync(tmp, content, { mode });
    renameSync(tmp, target);
  }
  for (const entry of readdirSync(dir)) {
    const top = [...files.keys()].some((p) => p === entry || p.startsWith(`${entry}/`));
    if (!top) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
