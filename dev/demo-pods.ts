/**
 * What `npm run demo` asks of the pods it creates before it says they run:
 * Running and Ready within a bound. A pod that cannot get there (its image
 * cannot be pulled, its config is wrong, it crash-loops) fails the demo
 * within seconds with the pod's own reason and message; one that is merely slow fails
 * it at the bound, with what each pod is waiting for. Both demo halves use it
 * (`dev/demo.ts`, `examples/kafka-demo.ts`).
 */

export interface DemoPod {
  metadata: { name: string; deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
}

interface ContainerStatus {
  name: string;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; message?: string; exitCode?: number };
  };
}

/** Waiting reasons that more waiting does not fix: the image, the config or the program is wrong. */
const stuckReasons = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "CrashLoopBackOff",
]);

export function runningAndReady(pod: DemoPod): boolean {
  return (
    !pod.metadata.deletionTimestamp &&
    pod.status?.phase === "Running" &&
    (pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false)
  );
}

export interface NotRunning {
  /** "container httpd ErrImagePull: this image runs on …", "not scheduled (Unschedulable): …". */
  reason: string;
  /** Waiting will not fix it. */
  stuck: boolean;
}

/** Why `pod` is not Running and Ready, in the pod's own words; undefined when it is. */
export function whyNotRunning(pod: DemoPod): NotRunning | undefined {
  if (runningAndReady(pod)) return undefined;
  const status = pod.status ?? {};
  const detail = (message?: string) => (message ? `: ${message}` : "");
  if (pod.metadata.deletionTimestamp) return { reason: "being deleted", stuck: false };
  if (status.phase === "Failed" || status.phase === "Succeeded") {
    const why = status.reason ? ` (${status.reason})` : "";
    return { reason: `phase ${status.phase}${why}${detail(status.message)}`, stuck: true };
  }
  const containers = [
    ...(status.initContainerStatuses ?? []).map((c) => ({ ...c, kind: "init container" })),
    ...(status.containerStatuses ?? []).map((c) => ({ ...c, kind: "container" })),
  ];
  for (const c of containers) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && stuckReasons.has(waiting.reason)) {
      const restarts = c.restartCount ? ` after ${c.restartCount} restart(s)` : "";
      return {
        reason: `${c.kind} ${c.name} ${waiting.reason}${restarts}${detail(waiting.message)}`,
        stuck: true,
      };
    }
  }
  const scheduled = status.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    const why = scheduled.reason ? ` (${scheduled.reason})` : "";
    return { reason: `not scheduled${why}${detail(scheduled.message)}`, stuck: false };
  }
  for (const c of containers) {
    const waiting = c.state?.waiting;
    if (waiting?.reason) {
      return {
        reason: `${c.kind} ${c.name} ${waiting.reason}${detail(waiting.message)}`,
        stuck: false,
      };
    }
  }
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const phase = status.phase ?? "Pending";
  const why = ready?.reason ? ` (${ready.reason}${detail(ready.message)})` : "";
  return { reason: `phase ${phase}, not Ready${why}`, stuck: false };
}

export class DemoPodsError extends Error {
  override name = "DemoPodsError";
}

export interface WaitOptions {
  /** What the pods are, for the message: "Deployment ballast-demo/hello". */
  what: string;
  /** How many must be Running and Ready. */
  count: number;
  timeoutMs: number;
  /**
   * How long a pod must stay stuck before the wait gives up on it: a status
   * read just after its cause was fixed (say, the package installed) still
   * shows the old reason until the node retries, every 2 s.
   * @default 5000
   */
  stuckForMs?: number;
  /** @default 250 */
  intervalMs?: number;
  /** @default Date.now */
  clock?: () => number;
  /** @default a timer */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Remembers since when each pod has been stuck and answers, for each list of
 * pods read, the first one stuck for `stuckForMs`: a status read just after
 * its cause was fixed (say, the package installed) still shows the old reason
 * until the node retries, every 2 s, and must not end the demo.
 */
export function stuckWatch(
  stuckForMs = 5000,
  clock: () => number = Date.now,
): (pods: readonly DemoPod[]) => string | undefined {
  let since = new Map<string, number>();
  return (pods) => {
    const now = clock();
    const next = new Map<string, number>();
    let found: string | undefined;
    for (const pod of pods) {
      const why = whyNotRunning(pod);
      if (!why?.stuck) continue;
      const start = since.get(pod.metadata.name) ?? now;
      next.set(pod.metadata.name, start);
      if (found === undefined && now - start >= stuckForMs) {
        found = `pod ${pod.metadata.name} does not run: ${why.reason}`;
      }
    }
    since = next;
    return found;
  };
}

/** One line per pod that is not Running and Ready: its name and why. */
export function describeNotRunning(pods: readonly DemoPod[]): string[] {
  return pods.flatMap((pod) => {
    const why = whyNotRunning(pod);
    return why ? [`  ${pod.metadata.name}: ${why.reason}`] : [];
  });
}

/**
 * Polls `list` until `count` of its pods are Running and Ready, and none is
 * stuck, and returns the ready ones. Throws a DemoPodsError naming the pod and its reason once a pod has
 * been stuck for `stuckForMs`, or naming every pod that is not ready when
 * `timeoutMs` passes.
 */
export async function waitForPods(
  list: () => DemoPod[] | Promise<DemoPod[]>,
  options: WaitOptions,
): Promise<DemoPod[]> {
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = clock() + options.timeoutMs;
  const stuck = stuckWatch(options.stuckForMs, clock);
  for (;;) {
    const pods = await list();
    const ready = pods.filter(runningAndReady);
    const problem = stuck(pods);
    if (problem) throw new DemoPodsError(`${options.what}: ${problem}`);
    // Enough ready pods do not make it done while another is stuck: after a
    // change, the old ReplicaSet's pods stay Ready while the new one's fail.
    const anyStuck = pods.some((pod) => whyNotRunning(pod)?.stuck);
    if (ready.length >= options.count && !anyStuck) return ready;
    if (clock() >= deadline) {
      throw new DemoPodsError(
        [
          `${options.what}: ${ready.length} of ${options.count} pod(s) Running and Ready after ${Math.round(options.timeoutMs / 1000)} s${pods.length === 0 ? " (no pods were created)" : ":"}`,
          ...describeNotRunning(pods),
        ].join("\n"),
      );
    }
    await sleep(options.intervalMs ?? 250);
  }
}
