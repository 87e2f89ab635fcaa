/**
 * A local node: plays the kubelet for one Node object.
 *
 * - Registers the Node (capacity, topology labels, addresses, the port of its
 *   kubelet API) and keeps it alive: a Lease in kube-node-lease renewed every
 *   10 s and a Ready condition, as the node lifecycle controller expects.
 * - Watches the pods bound to it and runs each with a PodWorker.
 * - Serves the kubelet API (logs, exec, port-forward) for kube-apiserver.
 *
 * Every container process dies with this process (parent-death signal), so
 * stopping the agent is stopping the node: its pods become unreachable and,
 * once the lease expires, the Node goes NotReady.
 */
import { readdirSync, rmSync } from "node:fs";
import { hostname as machineName } from "node:os";
import { join } from "node:path";
import { apiWatch, type WatchEvent } from "../api.ts";
import type { Kube, Pod } from "./kube.ts";
import { deletePodNetwork, netnsName } from "./network.ts";
import { type NodeContext, PodWorker } from "./pod-worker.ts";

export interface NodeAgentOptions {
  context: NodeContext;
  zone: string;
  kubeletPort: number;
  kubernetesVersion: string;
  /** @default 10000 */
  heartbeatMs?: number;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const microNow = () => new Date().toISOString().replace("Z", "000Z");

export class NodeAgent {
  readonly #options: NodeAgentOptions;
  readonly #workers = new Map<string, PodWorker>();
  readonly #stop = new AbortController();
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: NodeAgentOptions) {
    this.#options = options;
  }

  get #kube(): Kube {
    return this.#options.context.kube;
  }

  get #name(): string {
    return this.#options.context.nodeName;
  }

  /** Pod workers by namespace/name, for the kubelet API. */
  worker(namespace: string, name: string): PodWorker | undefined {
    for (const worker of this.#workers.values()) {
      if (worker.pod.metadata.namespace === namespace && worker.pod.metadata.name === name)
        return worker;
    }
    return undefined;
  }

  async start(): Promise<void> {
    await this.#register();
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat(), this.#options.heartbeatMs ?? 10_000);
    void this.#watchPods();
  }

  /** Stops the node: every container is killed, pod objects are left as they are. */
  async stop(): Promise<void> {
    this.#stop.abort();
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    await Promise.all([...this.#workers.values()].map((w) => w.abandon()));
  }

  async #register(): Promise<void> {
    const body = {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: this.#name,
        labels: {
          "kubernetes.io/hostname": this.#name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "topology.kubernetes.io/zone": this.#options.zone,
          "topology.kubernetes.io/region": "local",
        },
      },
      spec: {},
    };
    const res = await this.#kube.request("/api/v1/nodes", { method: "POST", body });
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(
        `registering node ${this.#name} failed: ${res.status} ${JSON.stringify(res.body)}`,
      );
    }
  }

  /** Renews the node lease and reports the node Ready. */
  async #beat(): Promise<void> {
    try {
      await this.#renewLease();
      await this.#reportStatus();
    } catch (error) {
      this.#options.context.log("heartbeat failed", { error: (error as Error).message });
    }
  }

  async #renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.#name}`;
    const spec = { holderIdentity: this.#name, leaseDurationSeconds: 40, renewTime: microNow() };
    const res = await this.#kube.request(path, {
      method: "PATCH",
      body: { spec },
      contentType: "application/merge-patch+json",
    });
    if (res.status === 404) {
      const node = await this.#kube.get<{ metadata: { uid: string } }>(
        `/api/v1/nodes/${this.#name}`,
      );
      await this.#kube.must("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
        method: "POST",
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name: this.#name,
            namespace: "kube-node-lease",
            ...(node
              ? {
                  ownerReferences: [
                    { apiVersion: "v1", kind: "Node", name: this.#name, uid: node.metadata.uid },
                  ],
                }
              : {}),
          },
          spec,
        },
      });
    } else if (res.status !== 200) {
      throw new Error(`renewing lease: ${res.status}`);
    }
  }

  async #reportStatus(): Promise<void> {
    const t = now();
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: t,
      lastTransitionTime: t,
    });
    const resources = { cpu: "2", memory: "8Gi", pods: "110", "ephemeral-storage": "50Gi" };
    const status = {
      capacity: resources,
      allocatable: resources,
      conditions: [
        condition(
          "MemoryPressure",
          "False",
          "KubeletHasSufficientMemory",
          "kubelet has sufficient memory available",
        ),
        condition(
          "DiskPressure",
          "False",
          "KubeletHasNoDiskPressure",
          "kubelet has no disk pressure",
        ),
        condition(
          "PIDPressure",
          "False",
          "KubeletHasSufficientPID",
          "kubelet has sufficient PID available",
        ),
        condition("Ready", "True", "KubeletReady", "ballast local node is posting ready status"),
      ],
      addresses: [
        { type: "InternalIP", address: this.#options.context.hostIP },
        { type: "Hostname", address: this.#name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.#options.kubeletPort } },
      nodeInfo: {
        machineID: this.#name,
        systemUUID: this.#name,
        bootID: `${machineName()}-${process.pid}`,
        kernelVersion: "",
        osImage: "Ballast local node",
        containerRuntimeVersion: "ballast://0.1.0",
        kubeletVersion: this.#options.kubernetesVersion,
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    };
    // A strategic-merge patch merges conditions by type, so transition times
    // the API server already holds are kept when the status is unchanged.
    const current = await this.#kube.get<{
      status?: { conditions?: { type: string; status: string; lastTransitionTime: string }[] };
    }>(`/api/v1/nodes/${this.#name}`);
    for (const c of status.conditions) {
      const before = current?.status?.conditions?.find((b) => b.type === c.type);
      if (before?.status === c.status) c.lastTransitionTime = before.lastTransitionTime;
    }
    await this.#kube.must(`/api/v1/nodes/${this.#name}/status`, {
      method: "PATCH",
      body: { status },
      contentType: "application/strategic-merge-patch+json",
    });
  }

  /** List, then watch, the pods bound to this node; relist whenever the watch ends. */
  async #watchPods(): Promise<void> {
    const selector = encodeURIComponent(`spec.nodeName=${this.#name}`);
    const base = `/api/v1/pods?fieldSelector=${selector}`;
    while (!this.#stop.signal.aborted) {
      try {
        const list = await this.#kube.must<{ metadata: { resourceVersion: string }; items: Pod[] }>(
          base,
          {},
        );
        this.#resync(list.items);
        await apiWatch(
          this.#kube.auth,
          `${base}&watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=300`,
          (event) => this.#onEvent(event),
          this.#stop.signal,
        );
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        this.#options.context.log("pod watch failed; relisting", {
          error: (error as Error).message,
        });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  #onEvent(event: WatchEvent): void {
    if (event.type === "BOOKMARK") return;
    if (event.type === "ERROR") throw new Error(`watch error: ${JSON.stringify(event.object)}`);
    const pod = event.object as unknown as Pod;
    if (event.type === "DELETED") {
      const worker = this.#workers.get(pod.metadata.uid);
      this.#workers.delete(pod.metadata.uid);
      void worker?.forget();
      return;
    }
    this.#ensure(pod);
  }

  /** After a (re)list: start what is missing, forget what is gone. */
  #resync(pods: Pod[]): void {
    const uids = new Set(pods.map((p) => p.metadata.uid));
    for (const [uid, worker] of this.#workers) {
      if (!uids.has(uid)) {
        this.#workers.delete(uid);
        void worker.forget();
      }
    }
    // Leftovers of pods this node ran before it was stopped and that are gone now.
    const podsDir = join(this.#options.context.dir, "pods");
    for (const uid of safeList(podsDir)) {
      if (!uids.has(uid)) {
        void deletePodNetwork(netnsName(this.#options.context.net, uid));
        this.#options.context.ipam.release(uid);
        rmSync(join(podsDir, uid), { recursive: true, force: true });
      }
    }
    for (const pod of pods) this.#ensure(pod);
  }

  #ensure(pod: Pod): void {
    const existing = this.#workers.get(pod.metadata.uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    // A pod that already finished is not run again.
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") {
      if (pod.metadata.deletionTimestamp) {
        const worker = new PodWorker(this.#options.context, pod);
        this.#workers.set(pod.metadata.uid, worker);
        void worker.terminate();
      }
      return;
    }
    const worker = new PodWorker(this.#options.context, pod);
    this.#workers.set(pod.metadata.uid, worker);
    if (pod.metadata.deletionTimestamp) {
      void worker.terminate();
      return;
    }
    this.#options.context.log("starting pod", { pod: worker.key });
    void worker.run();
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
