/** Downward API field paths, shared by env (`fieldRef`) and downwardAPI volumes. */
import type { Pod } from "./kube.ts";

export interface PodRuntimeFacts {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

const quoted = /^metadata\.(labels|annotations)\['(.+)'\]$/;

function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([k, v]) =>
        `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`,
    )
    .join("\n");
}

/** The value of `fieldPath` for this pod, or an error naming the unsupported path. */
export function fieldValue(pod: Pod, fieldPath: string, facts: PodRuntimeFacts): string {
  const match = quoted.exec(fieldPath);
  if (match) {
    const map = match[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[match[2] ?? ""] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace ?? "default";
    case "metadata.uid":
      return pod.metadata.uid;
    case "metadata.labels":
      return formatMap(pod.metadata.labels);
    case "metadata.annotations":
      return formatMap(pod.metadata.annotations);
    case "spec.nodeName":
      return pod.spec.nodeName ?? facts.nodeName;
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.podIP":
    case "status.podIPs":
      return facts.podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return facts.hostIP;
    default:
      throw new Error(`unsupported fieldRef.fieldPath "${fieldPath}"`);
  }
}

/** CPU and memory requests/limits as the downward API reports them (divisor 1). */
export function resourceValue(
  pod: Pod,
  containerName: string | undefined,
  resource: string,
): string {
  const container =
    pod.spec.containers.find((c) => c.name === containerName) ?? pod.spec.containers[0];
  const [kind, name] = resource.split(".") as [string, string];
  const table = kind === "limits" ? container?.resources?.limits : container?.resources?.requests;
  const value = table?.[name];
  if (value !== undefined) return String(parseQuantity(value, name === "cpu"));
  // Unset limits report the node's allocatable, as the kubelet does.
  return name === "cpu" ? "2" : String(8 * 1024 ** 3);
}

function parseQuantity(q: string, cpu: boolean): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (!m) return 0;
  const n = Number(m[1]);
  const unit = m[2] ?? "";
  const factors: Record<string, number> = {
    "": 1,
    m: 0.001,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  const value = n * (factors[unit] ?? 1);
  return cpu ? Math.ceil(value) : Math.round(value);
}
