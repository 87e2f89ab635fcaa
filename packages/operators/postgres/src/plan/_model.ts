/**
 * A model of a PostgreSQL member set for the plans' tests (private): what
 * each act does to the instances, what the controller then observes, and
 * an operator loop that can be killed between recording a step and acting
 * on it. Replication is instant: a standby streaming from a writer holds
 * its WAL at once.
 */
import { type FailoverStep, planFailover, recordFailover } from "./failover.ts";
import { planSwitchover, recordSwitchover, type SwitchoverStep } from "./switchover.ts";
import type {
  ClusterObservation,
  InstanceObservation,
  PostgresStatus,
  Synchronous,
  TimelineSwitch,
} from "./types.ts";

export interface Node {
  id: number;
  up: boolean;
  writer: boolean;
  timeline: number;
  /** End of the WAL on its disk. */
  end: bigint;
  /** The timelines before `timeline` and where each ended. */
  history: TimelineSwitch[];
  /** Where its `primary_conninfo` points. */
  upstream?: number;
  /** The fence is recorded for it (its start script starts it in recovery). */
  fenced: boolean;
  sysid: string;
  checkpointLsn: bigint;
  /** Pod Ready while it is down (a node the kubelet has not reported yet). */
  readyWhileDown?: boolean;
}

export interface World {
  nodes: Node[];
  status: PostgresStatus;
  synchronous: Synchronous;
  failoverDelayMs: number;
}

export const SYSID = "7301234567890123456";

export function clone(w: World): World {
  return structuredClone(w);
}

function node(w: World, id: number | undefined): Node | undefined {
  return w.nodes.find((n) => n.id === id);
}

/** Whether `n` holds a prefix of `up`'s WAL history (so it can stream from it). */
export function onHistoryOf(n: Node, up: Node): boolean {
  if (n.sysid !== up.sysid) return false;
  if (n.timeline === up.timeline) return n.end <= up.end;
  const left = up.history.find((h) => h.timeline === n.timeline);
  return left !== undefined && n.end <= left.switchpoint;
}

function streamingFrom(w: World, n: Node): number | undefined {
  const up = node(w, n.upstream);
  if (!n.up || n.writer || !up?.up || !up.writer) return undefined;
  return onHistoryOf(n, up) ? up.id : undefined;
}

/** Standbys streaming from a writer receive all its WAL (and follow its timeline). */
export function replicate(w: World): void {
  for (const n of w.nodes) {
    const from = streamingFrom(w, n);
    const up = node(w, from);
    if (!up) continue;
    n.end = up.end;
    n.timeline = up.timeline;
    n.history = structuredClone(up.history);
  }
}

export function observe(w: World): ClusterObservation {
  const instances = w.nodes.map((n): InstanceObservation => {
    const fenced = n.fenced && !(n.up && n.writer);
    if (!n.up) {
      return {
        id: n.id,
        reachable: false,
        unreachableForMs: 1e9,
        kubeletReportsUp: n.readyWhileDown ?? false,
        fenced,
      };
    }
    const from = streamingFrom(w, n);
    return {
      id: n.id,
      reachable: true,
      kubeletReportsUp: true,
      fenced,
      inRecovery: !n.writer,
      timeline: n.timeline,
      systemIdentifier: n.sysid,
      checkpointLsn: n.checkpointLsn,
      checkpointTimeline: n.timeline,
      ...(n.writer ? { currentLsn: n.end } : { receivedLsn: n.end, replayedLsn: n.end }),
      ...(from === undefined ? {} : { streamingFrom: from }),
    };
  });
  const writers = w.nodes.filter((n) => n.up && n.writer && n.sysid === SYSID);
  const newest = writers.sort((a, b) => b.timeline - a.timeline)[0];
  return {
    instances,
    synchronous: w.synchronous,
    failoverDelayMs: w.failoverDelayMs,
    status: w.status,
    ...(newest ? { primaryHistory: newest.history } : {}),
  };
}

function promote(n: Node | undefined): void {
  if (!n?.up || n.writer) return;
  n.history.push({ timeline: n.timeline, switchpoint: n.end });
  n.timeline += 1;
  n.writer = true;
  n.fenced = false; // the operator's own promotion lifts the fence
  delete n.upstream;
}

/** A fenced writer is stopped; it restarts in recovery, following nothing. */
function fence(n: Node | undefined): void {
  if (!n) return;
  n.fenced = true;
  if (n.up && n.writer) {
    n.writer = false;
    delete n.upstream;
  }
}

export function actFailover(w: World, step: FailoverStep): void {
  switch (step.kind) {
    case "fence":
      fence(node(w, step.id));
      break;
    case "promote":
      promote(node(w, step.id));
      break;
    case "repoint":
      for (const id of step.ids) {
        const n = node(w, id);
        if (n) n.upstream = step.to;
      }
      break;
    default:
      break;
  }
  replicate(w);
}

export function actSwitchover(w: World, step: SwitchoverStep): void {
  switch (step.kind) {
    case "checkpoint": {
      const n = node(w, step.id);
      if (n?.up && n.writer) {
        n.end += 64n;
        n.checkpointLsn = n.end;
      }
      break;
    }
    case "stop": {
      const n = node(w, step.id);
      if (n?.up && n.writer) {
        n.end += 40n; // the shutdown checkpoint, sent to connected standbys before exit
        replicate(w);
        fence(n);
      }
      break;
    }
    case "promote":
      promote(node(w, step.id));
      break;
    case "repoint":
      for (const id of step.ids) {
        const n = node(w, id);
        if (n) n.upstream = step.to;
      }
      break;
    case "fail-over":
      break;
    default:
      break;
  }
  replicate(w);
}

/** Where the operator dies in one reconcile. */
export type Kill = "none" | "before-record" | "after-record";

export interface RunOptions {
  kills?: readonly Kill[];
  maxSteps?: number;
  /** Called after each reconcile (e.g. to check an invariant or change the world). */
  after?: (w: World, step: number) => void;
}

export interface Trace<S> {
  world: World;
  steps: S[];
}

/**
 * Reconciles until the failover has nothing left to do (or `maxSteps`):
 * observe, plan, record the step, act. A kill before recording loses the
 * reconcile; after recording, loses the act.
 */
export function runFailover(start: World, options: RunOptions = {}): Trace<FailoverStep> {
  const w = clone(start);
  const steps: FailoverStep[] = [];
  const max = options.maxSteps ?? 40;
  for (let i = 0; i < max; i++) {
    const step = planFailover(observe(w), new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    steps.push(step);
    const kill = options.kills?.[i] ?? "none";
    if (kill !== "before-record") {
      w.status = recordFailover(w.status, step);
      if (kill !== "after-record") actFailover(w, step);
    }
    options.after?.(w, i);
    if (kill === "none" && (step.kind === "none" || step.kind === "conflict")) break;
  }
  return { world: w, steps };
}

/** Reconciles a switchover asked for (`to`, or the best standby) until it is idle again. */
export function runSwitchover(
  start: World,
  to: number | undefined,
  options: RunOptions = {},
): Trace<SwitchoverStep> {
  const w = clone(start);
  const steps: SwitchoverStep[] = [];
  const max = options.maxSteps ?? 40;
  let asked = true;
  for (let i = 0; i < max; i++) {
    const request = asked ? (to === undefined ? {} : { to }) : undefined;
    const step = planSwitchover(observe(w), request, new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    steps.push(step);
    const kill = options.kills?.[i] ?? "none";
    if (kill !== "before-record") {
      w.status = recordSwitchover(w.status, step);
      if (kill !== "after-record") actSwitchover(w, step);
      // Once a switchover is recorded, the request has been taken.
      if (w.status.switchover) asked = false;
    }
    options.after?.(w, i);
    if (step.kind === "complete" || step.kind === "abort" || step.kind === "fail-over") {
      if (kill === "none") asked = false;
    }
    if (kill === "none" && step.kind === "idle") break;
  }
  return { world: w, steps };
}

/** What a run ends with, without the times it recorded. */
export function ending(w: World): unknown {
  return {
    primary: w.status.primary,
    election: w.status.election?.phase,
    switchover: w.status.switchover?.phase,
    nodes: w.nodes.map((n) => ({
      id: n.id,
      writer: n.up && n.writer,
      timeline: n.timeline,
      end: n.end,
      upstream: n.upstream,
      fenced: n.fenced,
    })),
  };
}

/** Up writers of the cluster: never more than one. */
export function writers(w: World): number[] {
  return w.nodes.filter((n) => n.up && n.writer && n.sysid === SYSID).map((n) => n.id);
}
