/**
 * The Kubernetes views every operator's scenarios read: pods by label,
 * conditions, a server-side apply as a user would make it, and waiting
 * for an operator to serve its CRDs.
 */
import { eventually, type TestCluster } from "@ballast/dev/testkit";

export interface PodView {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { nodeName?: string; containers: { image: string }[] };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** The pods of `namespace` matching a label selector (`app.kubernetes.io/instance=events`). */
export async function listPods(
  cluster: TestCluster,
  namespace: string,
  selector: string,
): Promise<PodView[]> {
  const res = await cluster.api<{ items: PodView[] }>(
    `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`,
  );
  if (res.status !== 200)
    throw new Error(`listing pods ${selector} in ${namespace}: ${res.status}`);
  return res.body.items;
}

/** Ready, and not being deleted: a member that serves. */
export function isServing(pod: PodView): boolean {
  return isUp(pod, "Ready");
}

/** Which pod condition means a member is up: Ready (it serves) or ContainersReady (it runs). */
export type UpCondition = "Ready" | "ContainersReady";

/** The pod is not being deleted and `condition` is True. */
export function isUp(pod: PodView, condition: UpCondition): boolean {
  return (
    !pod.metadata.deletionTimestamp &&
    pod.status?.conditions?.some((c) => c.type === condition && c.status === "True") === true
  );
}

export function condition(
  object: { status?: { conditions?: Condition[] } } | undefined,
  type: string,
): Condition | undefined {
  return object?.status?.conditions?.find((c) => c.type === type);
}

/** `kubectl apply --server-side` as field manager `e2e`: what a user's apply does. */
export async function apply(cluster: TestCluster, object: unknown): Promise<void> {
  const res = await cluster.kubectlInput(
    object,
    "apply",
    "--server-side",
    "--field-manager=e2e",
    "-f",
    "-",
  );
  if (res.code !== 0) throw new Error(`kubectl apply failed: ${res.stderr}`);
}

/** Waits until `groupVersion` (e.g. `ballast.dev/v1alpha1`) serves every one of `resources`. */
export async function waitForResources(
  cluster: TestCluster,
  groupVersion: string,
  resources: readonly string[],
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(
    `${groupVersion} to serve ${resources.join(", ")}`,
    async () => {
      const res = await cluster.api<{ resources?: { name: string }[] }>(`/apis/${groupVersion}`);
      const served = new Set(res.body.resources?.map((r) => r.name));
      return resources.every((r) => served.has(r)) ? true : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}
