/**
 * One pod on a local node, from bound to gone:
 *
 * 1. Prepare: network namespace and IP, volumes, images, environment. A
 *    failure shows as a waiting reason (ContainerCreating, ErrImagePull,
 *    CreateContainerConfigError) and is retried.
 * 2. Init containers, one at a time, each to success.
 * 3. Containers, each supervised: restarted per restartPolicy with the
 *    kubelet's CrashLoopBackOff (10 s doubling to 5 min, reset after 10 min of
 *    running); probes decide started/ready.
 * 4. On deletion: preStop, SIGTERM, the grace period, SIGKILL; then the
 *    network and volumes are removed and the pod object is finalized.
 *
 * Status is written to the API server whenever what it shows changes.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type ContainerContext, ContainerRunner, type Exit, type Prepared } from "./container.ts";
import { containerEnv, defaultPath, expand } from "./env.ts";
import type { PodRuntimeFacts } from "./fields.ts";
import { ImagePullError, repositoryOf, resolveImage } from "./images.ts";
import type { Container, Kube, Pod, PodCondition, PodStatus } from "./kube.ts";
import { imagePathInContainer, type MountSpec } from "./launcher.ts";
import {
  type ClusterNetwork,
  deletePodNetwork,
  ensurePodNetwork,
  type NodeIpam,
  netnsName,
} from "./network.ts";
import { PodVolumes } from "./volumes.ts";

export interface NodeContext {
  kube: Kube;
  nodeName: string;
  hostIP: string;
  net: ClusterNetwork;
  ipam: NodeIpam;
  dir: string;
  clusterDomain: string;
  log(message: string, fields?: Record<string, unknown>): void;
}

const backoffBaseMs = 10_000;
const backoffMaxMs = 300_000;
const backoffResetMs = 600_000;

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

export class PodWorker {
  pod: Pod;
  readonly #node: NodeContext;
  readonly #dir: string;
  readonly #volumes: PodVolumes;
  readonly #stop = new AbortController();
  readonly #changed: { timer: NodeJS.Timeout | undefined; writing: Promise<void> } = {
    timer: undefined,
    writing: Promise.resolve(),
  };
  readonly init: ContainerRunner[];
  readonly containers: ContainerRunner[];
  podIP: string | undefined;
  #startTime: string | undefined;
  #phase: NonNullable<PodStatus["phase"]> = "Pending";
  #initialized = false;
  #message: string | undefined;
  #terminating: Promise<void> | undefined;
  #lastWritten = "";
  #resync: NodeJS.Timeout | undefined;

  constructor(node: NodeContext, pod: Pod) {
    this.#node = node;
    this.pod = pod;
    this.#dir = join(node.dir, "pods", pod.metadata.uid);
    this.#volumes = new PodVolumes(node.kube, pod, this.#dir);
    this.init = (pod.spec.initContainers ?? []).map(
      (c) => new ContainerRunner(c, this.#context(c)),
    );
    this.containers = pod.spec.containers.map((c) => new ContainerRunner(c, this.#context(c)));
  }

  #context(container: Container): ContainerContext {
    const worker = this;
    const { uid } = this.pod.metadata;
    return {
      podUid: uid,
      podDir: this.#dir,
      get podIP() {
        return worker.podIP ?? "";
      },
      netns: netnsName(this.#node.net, uid),
      hostname: (this.pod.spec.hostname ?? this.pod.metadata.name).slice(0, 63),
      containerId: (run) => `ballast://${uid.slice(0, 8)}-${container.name}-${run}`,
      changed: () => this.#markChanged(),
    };
  }

  get key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  /** A newer version of the pod object arrived from the watch. */
  update(pod: Pod): void {
    const gatesBefore = this.#gatesOpen();
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) void this.terminate();
    // A readiness gate set by another controller changes Ready.
    else if (this.#gatesOpen() !== gatesBefore) this.#markChanged();
  }

  /** Every readiness gate's condition is True (as another controller set it). */
  #gatesOpen(): boolean {
    const gates = this.pod.spec.readinessGates ?? [];
    const conditions = this.pod.status?.conditions ?? [];
    return gates.every((g) =>
      conditions.some((c) => c.type === g.conditionType && c.status === "True"),
    );
  }

  async run(): Promise<void> {
    mkdirSync(this.#dir, { recursive: true });
    this.#startTime = this.pod.status?.startTime ?? now();
    this.#markChanged();
    try {
      while (!(await this.#prepare())) {
        if (await this.#pause(2000)) return;
      }
      // Config maps, secrets and tokens change while the pod runs.
      this.#resync = setInterval(() => void this.#syncVolumes(), 5000);
      for (const runner of this.init) {
        if (!(await this.#runInit(runner))) return;
      }
      this.#initialized = true;
      this.#markChanged();
      await Promise.all(this.containers.map((runner) => this.#supervise(runner)));
      if (!this.#stop.signal.aborted) this.#settleFinalPhase();
    } catch (error) {
      this.#node.log("pod worker failed", { pod: this.key, error: String(error) });
      this.#message = String(error);
      this.#markChanged();
    }
  }

  /** Deletion: stop every container within the grace period, clean up, finalize. */
  terminate(): Promise<void> {
    this.#terminating ??= (async () => {
      const grace =
        this.pod.metadata.deletionGracePeriodSeconds ??
        this.pod.spec.terminationGracePeriodSeconds ??
        30;
      const deadline = Date.now() + grace * 1000;
      this.#node.log("terminating pod", { pod: this.key, graceSeconds: grace });
      this.#stop.abort();
      await Promise.all([...this.init, ...this.containers].map((c) => c.stop(deadline)));
      // Like the kubelet since 1.27, a deleted pod ends in a terminal phase.
      if (this.#phase === "Running" || this.#phase === "Pending") this.#settleFinalPhase();
      await this.#flushStatus();
      this.#cleanup();
      const ns = this.pod.metadata.namespace ?? "default";
      const res = await this.#node.kube.request(
        `/api/v1/namespaces/${ns}/pods/${this.pod.metadata.name}`,
        {
          method: "DELETE",
          body: {
            apiVersion: "v1",
            kind: "DeleteOptions",
            gracePeriodSeconds: 0,
            preconditions: { uid: this.pod.metadata.uid },
          },
        },
      );
      if (res.status !== 200 && res.status !== 404) {
        this.#node.log("could not finalize pod", {
          pod: this.key,
          status: res.status,
          message: (res.body as { message?: string } | undefined)?.message,
        });
      }
    })().catch((error: unknown) => {
      this.#node.log("terminating pod failed", { pod: this.key, error: String(error) });
    });
    return this.#terminating;
  }

  /** The node is going away (agent shutdown): kill at once, keep the pod object. */
  async abandon(): Promise<void> {
    this.#stop.abort();
    for (const c of [...this.init, ...this.containers]) c.kill("Error");
    if (this.#resync) clearInterval(this.#resync);
  }

  /** Forgets a pod whose object is already gone (deleted with grace 0 by someone else). */
  async forget(): Promise<void> {
    this.#stop.abort();
    await Promise.all([...this.init, ...this.containers].map((c) => c.stop(Date.now())));
    this.#cleanup();
  }

  findContainer(name: string): ContainerRunner | undefined {
    return [...this.containers, ...this.init].find((c) => c.spec.name === name);
  }

  get dir(): string {
    return this.#dir;
  }

  #facts(): PodRuntimeFacts {
    return { podIP: this.podIP ?? "", hostIP: this.#node.hostIP, nodeName: this.#node.nodeName };
  }

  /** Returns true once everything a container needs exists. */
  async #prepare(): Promise<boolean> {
    const { metadata, spec } = this.pod;
    const ns = metadata.namespace ?? "default";
    try {
      this.podIP = this.#node.ipam.allocate(metadata.uid);
      const hostname = (spec.hostname ?? metadata.name).slice(0, 63);
      const domain = this.#node.clusterDomain;
      const fqdn = spec.subdomain ? `${hostname}.${spec.subdomain}.${ns}.svc.${domain}` : "";
      await ensurePodNetwork(this.#node.net, metadata.uid, this.podIP, {
        resolvConf: `search ${ns}.svc.${domain} svc.${domain} ${domain}\nnameserver ${this.#node.net.gateway}\noptions ndots:5\n`,
        hosts: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${this.podIP}\t${fqdn ? `${fqdn} ` : ""}${hostname}\n`,
      });
      this.#markChanged();
      await this.#volumes.sync(this.#facts());
    } catch (error) {
      this.#setAllWaiting("ContainerCreating", (error as Error).message);
      return false;
    }
    let ready = true;
    for (const runner of [...this.init, ...this.containers]) {
      try {
        runner.prepared = await this.#prepareContainer(runner.spec);
      } catch (error) {
        const reason =
          error instanceof ImagePullError ? "ErrImagePull" : "CreateContainerConfigError";
        runner.setWaiting(reason, (error as Error).message);
        ready = false;
      }
    }
    return ready;
  }

  async #prepareContainer(container: Container): Promise<Prepared> {
    const image = await resolveImage(container.image);
    const facts = this.#facts();
    const base: Record<string, string> = {
      // Image directories are mounted into the container (the host's copies may
      // sit where an unprivileged container user cannot reach them).
      PATH: [...image.path.map((_, i) => imagePathInContainer(i)), defaultPath].join(":"),
      HOSTNAME: (this.pod.spec.hostname ?? this.pod.metadata.name).slice(0, 63),
      HOME: "/root",
      ...image.env,
    };
    const env = await containerEnv(this.#node.kube, this.pod, container, base, facts);
    const entry = container.command ?? image.entrypoint;
    const args = container.args ?? (container.command ? [] : image.cmd);
    const argv = [...entry, ...args].map((part) => expand(part, env));
    if (argv.length === 0)
      throw new Error(`container "${container.name}" has no command and its image no default`);

    const mounts: MountSpec[] = [
      ...image.path.map((source, i) => ({
        source,
        target: imagePathInContainer(i),
        readOnly: true,
      })),
      ...(image.files ?? []).map((f) => ({
        source: f.source,
        target: f.target,
        readOnly: !f.writable,
      })),
    ];
    for (const mount of container.volumeMounts ?? []) {
      const volume = this.pod.spec.volumes?.find((v) => v.name === mount.name);
      if (!volume) throw new Error(`volumeMount "${mount.name}" names no volume of the pod`);
      let source = await this.#volumes.hostPath(volume);
      if (mount.subPath) {
        source = join(source, mount.subPath);
        if (!existsSync(source)) mkdirSync(source, { recursive: true });
      }
      mounts.push({ source, target: mount.mountPath, readOnly: mount.readOnly ?? false });
    }
    const podSecurity = this.pod.spec.securityContext;
    const uid = container.securityContext?.runAsUser ?? podSecurity?.runAsUser;
    const gid =
      container.securityContext?.runAsGroup ?? podSecurity?.runAsGroup ?? podSecurity?.fsGroup ?? 0;
    return {
      argv,
      env,
      mounts,
      workingDir: container.workingDir ?? image.workingDir,
      user:
        uid !== undefined && uid !== 0
          ? { uid, gid, groups: supplementaryGroups(podSecurity) }
          : undefined,
      imageID: `ballast.dev/local/${repositoryOf(container.image)}`,
    };
  }

  async #syncVolumes(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    try {
      await this.#volumes.sync(this.#facts());
    } catch (error) {
      this.#node.log("volume resync failed", { pod: this.key, error: (error as Error).message });
    }
  }

  /** Runs an init container until it succeeds. Returns false if the pod failed or stops. */
  async #runInit(runner: ContainerRunner): Promise<boolean> {
    const policy = this.pod.spec.restartPolicy ?? "Always";
    for (;;) {
      if (this.#stop.signal.aborted) return false;
      const exit = await runner.runOnce(this.#stop.signal);
      if (exit.code === 0) return true;
      if (this.#stop.signal.aborted) return false;
      if (policy === "Never") {
        this.#phase = "Failed";
        this.#message = `init container "${runner.spec.name}" failed with exit code ${exit.code}`;
        this.#markChanged();
        return false;
      }
      if (await this.#backOff(runner, 0)) return false;
    }
  }

  /** Keeps one container running per the restart policy, until the pod stops. */
  async #supervise(runner: ContainerRunner): Promise<void> {
    const policy = this.pod.spec.restartPolicy ?? "Always";
    for (;;) {
      if (this.#stop.signal.aborted) return;
      const started = Date.now();
      const exit: Exit = await runner.runOnce(this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      const restart = policy === "Always" || (policy === "OnFailure" && exit.code !== 0);
      if (!restart) return;
      if (await this.#backOff(runner, Date.now() - started)) return;
    }
  }

  /** CrashLoopBackOff. Returns true if the pod stopped while waiting. */
  async #backOff(runner: ContainerRunner, ranForMs: number): Promise<boolean> {
    if (ranForMs > backoffResetMs) runner.restartCount = Math.min(runner.restartCount, 0);
    const delay = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(runner.restartCount, 10));
    runner.lastState = runner.state;
    runner.restartCount += 1;
    runner.setWaiting(
      "CrashLoopBackOff",
      `back-off ${Math.round(delay / 1000)}s restarting failed container=${runner.spec.name} pod=${this.pod.metadata.name}_${this.pod.metadata.namespace}(${this.pod.metadata.uid})`,
    );
    return this.#pause(delay);
  }

  /** Waits `ms`; true if the pod was stopped meanwhile. */
  #pause(ms: number): Promise<boolean> {
    const signal = this.#stop.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        { once: true },
      );
    });
  }

  #settleFinalPhase(): void {
    const failed = this.containers.some((c) => (c.state.terminated?.exitCode ?? 0) !== 0);
    this.#phase = failed ? "Failed" : "Succeeded";
    this.#markChanged();
  }

  #setAllWaiting(reason: string, message: string): void {
    this.#message = message;
    for (const runner of [...this.init, ...this.containers]) runner.setWaiting(reason, message);
    this.#markChanged();
  }

  #cleanup(): void {
    if (this.#resync) clearInterval(this.#resync);
    void deletePodNetwork(netnsName(this.#node.net, this.pod.metadata.uid));
    this.#node.ipam.release(this.pod.metadata.uid);
    this.#volumes.cleanup();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Coalesces bursts of changes into one status write. */
  #markChanged(): void {
    if (this.#changed.timer) return;
    this.#changed.timer = setTimeout(() => {
      this.#changed.timer = undefined;
      this.#changed.writing = this.#changed.writing.then(() => this.#writeStatus());
    }, 50);
  }

  async #flushStatus(): Promise<void> {
    if (this.#changed.timer) {
      clearTimeout(this.#changed.timer);
      this.#changed.timer = undefined;
      this.#changed.writing = this.#changed.writing.then(() => this.#writeStatus());
    }
    await this.#changed.writing;
  }

  status(): PodStatus {
    const running = this.containers.some((c) => c.running);
    let phase = this.#phase;
    if (
      phase === "Pending" &&
      this.#initialized &&
      (running || this.containers.some((c) => c.restartCount > 0))
    ) {
      phase = "Running";
    }
    const allReady = this.containers.every((c) => c.ready);
    const previous = this.pod.status?.conditions ?? [];
    const condition = (type: string, ok: boolean, reason?: string): PodCondition => {
      const status = ok ? "True" : "False";
      const before = previous.find((c) => c.type === type);
      return {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime:
          before?.status === status && before.lastTransitionTime
            ? before.lastTransitionTime
            : now(),
        ...(ok || !reason ? {} : { reason }),
      };
    };
    const containersReady = allReady && phase === "Running";
    const gatesOpen = this.#gatesOpen();
    // Only the kubelet's own conditions: the write is a strategic merge
    // patch, which merges conditions by type, so those others own
    // (PodScheduled, readiness gates) stay as they are.
    const conditions: PodCondition[] = [
      condition("PodReadyToStartContainers", this.podIP !== undefined),
      condition("Initialized", this.#initialized, "ContainersNotInitialized"),
      condition(
        "Ready",
        containersReady && gatesOpen,
        containersReady ? "ReadinessGatesNotReady" : "ContainersNotReady",
      ),
      condition("ContainersReady", containersReady, "ContainersNotReady"),
    ];
    return {
      phase,
      ...(this.#message && phase === "Failed" ? { message: this.#message } : {}),
      hostIP: this.#node.hostIP,
      hostIPs: [{ ip: this.#node.hostIP }],
      ...(this.podIP ? { podIP: this.podIP, podIPs: [{ ip: this.podIP }] } : {}),
      ...(this.#startTime ? { startTime: this.#startTime } : {}),
      conditions,
      ...(this.init.length > 0 ? { initContainerStatuses: this.init.map((c) => c.status()) } : {}),
      containerStatuses: this.containers.map((c) => c.status()),
    };
  }

  async #writeStatus(): Promise<void> {
    try {
      await this.#tryWriteStatus();
    } catch (error) {
      this.#node.log("pod status write failed", { pod: this.key, error: String(error) });
    }
  }

  async #tryWriteStatus(): Promise<void> {
    const status = this.status();
    const body = JSON.stringify({ status });
    if (body === this.#lastWritten) return;
    const ns = this.pod.metadata.namespace ?? "default";
    const res = await this.#node.kube.request<Pod>(
      `/api/v1/namespaces/${ns}/pods/${this.pod.metadata.name}/status`,
      { method: "PATCH", body, contentType: "application/strategic-merge-patch+json" },
    );
    if (res.status === 200) {
      this.#lastWritten = body;
      this.pod = { ...this.pod, status: res.body.status ?? status };
    } else if (res.status !== 404) {
      this.#node.log("pod status write failed", {
        pod: this.key,
        status: res.status,
        response: JSON.stringify(res.body).slice(0, 500),
        sent: body.slice(0, 3000),
      });
    }
  }
}

/** The supplementary groups a kubelet gives a container: fsGroup, then supplementalGroups. */
function supplementaryGroups(
  security: { fsGroup?: number; supplementalGroups?: number[] } | undefined,
): number[] {
  const groups = [
    ...(security?.fsGroup !== undefined ? [security.fsGroup] : []),
    ...(security?.supplementalGroups ?? []),
  ];
  return [...new Set(groups)];
}
