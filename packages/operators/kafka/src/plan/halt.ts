/**
 * Has the roll broken something? Pure: from the operation recorded in
 * status and the pod of the node restarted last.
 *
 * The roll already waits for that node (stateful's planRoll restarts
 * nothing else until it is back); this says the wait is a halt, with the
 * node's own reason, when its new pod
 *
 * 1. cannot start: its container restarted (a crash loop) or its image
 *    cannot be pulled — `podStartProblem`, plus the last line of the
 *    container's termination message that names an exception (the pod's
 *    `terminationMessagePolicy: FallbackToLogsOnError` puts the tail of the
 *    broker's log there), or
 * 2. is not Ready `startBoundMs` after it was created (the broker never
 *    registered or never caught up with the metadata log).
 *
 * Reverting the spec resumes the roll: planRoll replaces a restarted pod
 * that cannot start once the spec changed again.
 */
import { type Operation, type PodLike, podReady, podStartProblem } from "@ballast/stateful";
import type { NodeId } from "./state.ts";

/** How long a restarted node's pod may take to turn Ready before the roll counts as halted. @default 5 minutes */
export const defaultStartBoundMs = 5 * 60_000;

export interface RollHalt {
  readonly node: NodeId;
  /** "node 1 did not come back after its restart: …" */
  readonly message: string;
}

export function rollHalt(
  operation: Operation | undefined,
  pods: ReadonlyMap<NodeId, PodLike>,
  now: Date,
  startBoundMs = defaultStartBoundMs,
): RollHalt | undefined {
  if (operation?.type !== "Roll" || operation.current === undefined) return undefined;
  const node = operation.current;
  const pod = pods.get(node);
  // Not yet replaced, or still the pod the roll deleted: nothing has had a chance to fail.
  if (!pod || pod.metadata.deletionTimestamp || podReady(pod)) return undefined;
  if (operation.restartedPod && pod.metadata.uid === operation.restartedPod) return undefined;
  const who = `node ${node} did not come back after its restart`;
  const problem = podStartProblem(pod);
  const exit = terminationReason(pod);
  if (problem || exit) {
    const parts = [problem, exit ? `last exit: ${exit}` : undefined].filter(Boolean);
    return { node, message: `${who}: ${parts.join("; ")}` };
  }
  const created = Date.parse(pod.metadata.creationTimestamp ?? "");
  if (Number.isFinite(created) && now.getTime() - created > startBoundMs) {
    const minutes = Math.round((now.getTime() - created) / 60_000);
    return {
      node,
      message: `${who}: its pod is not Ready ${minutes} minute(s) after it was created (the bound is ${Math.round(startBoundMs / 60_000)})`,
    };
  }
  return undefined;
}

/**
 * The line of the container's last termination message that says why it
 * stopped: the last one naming an exception or an error (a stack trace's
 * frames follow it), else its last non-blank line.
 */
export function terminationReason(pod: PodLike): string | undefined {
  for (const c of pod.status?.containerStatuses ?? []) {
    const terminated = (
      c as { lastState?: { terminated?: { message?: string; exitCode?: number } } }
    ).lastState?.terminated;
    const text = terminated?.message?.trim();
    if (!text) continue;
    const lines = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith("at "));
    const named = lines.filter((l) => /(Exception|Error)\b.*:/.test(l));
    const line = named.at(-1) ?? lines.at(-1);
    if (line) return line.length > 400 ? `${line.slice(0, 400)}…` : line;
  }
  return undefined;
}
