/**
 * May a node restart now? A rolling restart takes one node down at a time;
 * this module decides which one, and when the answer is "none yet", says why
 * in data (`Blocker`) that the status condition turns into sentences.
 *
 * Everything here is a function of one `KafkaObservation`, so a reconciler
 * killed mid-roll reaches the same decision when it comes back. The checks:
 *
 * 1. Nothing is moving or broken already: no partition reassignment in flight,
 *    no offline partition, an elected quorum leader. Restarting anything then
 *    can only make a bad moment worse, so every restart waits.
 * 2. The node restarted last (`catchingUp`) is back: a live broker, and in the
 *    ISR of every partition it hosts. Otherwise the next restart could take a
 *    partition's second in-sync copy while the first is still replicating.
 * 3. Brokers: taking the candidate out of every ISR it is in leaves each
 *    partition with at least `min.insync.replicas` in sync, so `acks=all`
 *    producers keep writing through the restart.
 * 4. Controllers: without the candidate, a majority of the voter set is still
 *    caught up with the metadata log, so the quorum keeps a leader.
 */

import type { ClusterNode, KafkaObservation, NodeId } from "./state.ts";

export type Blocker =
  /** Restarting `node` would leave this partition's ISR below min.insync.replicas. */
  | {
      kind: "under-min-isr";
      node: NodeId;
      topic: string;
      partition: number;
      isr: readonly NodeId[];
      minIsr: number;
    }
  /** `node`, restarted earlier, is not back in the ISR of a partition it hosts. */
  | { kind: "not-in-isr"; node: NodeId; topic: string; partition: number }
  /** `node`, restarted earlier, is not a live broker yet. */
  | { kind: "not-live"; node: NodeId }
  /** Controller `node`, restarted earlier, is not caught up with the metadata log yet. */
  | { kind: "voter-lagging"; node: NodeId }
  /**
   * Restarting controller `node` would leave fewer than `needed` caught-up
   * voters: a majority of the voter set, or all the others when there are
   * fewer than three voters.
   */
  | { kind: "quorum"; node: NodeId; caughtUp: readonly NodeId[]; needed: number }
  | { kind: "no-quorum-leader" }
  | { kind: "offline-partition"; topic: string; partition: number }
  | { kind: "reassigning"; count: number };

export interface RestartOptions {
  /** The node restarted last, which must have rejoined before another goes down. */
  catchingUp?: NodeId;
  /**
   * How far behind `observedAt` a voter's last caught-up time may be for it
   * to count as caught up.
   * @default 5000
   */
  quorumLagMs?: number;
}

/** One sentence for a status condition message. */
export function describeBlocker(b: Blocker): string {
  switch (b.kind) {
    case "under-min-isr":
      return (
        `broker ${b.node} hosts ${b.topic}-${b.partition} whose ISR [${b.isr.join(",")}] ` +
        `would fall below min.insync.replicas=${b.minIsr}`
      );
    case "not-in-isr":
      return `broker ${b.node} was restarted and is not yet back in the ISR of ${b.topic}-${b.partition}`;
    case "not-live":
      return `broker ${b.node} was restarted and has not yet registered as a live broker`;
    case "voter-lagging":
      return `controller ${b.node} was restarted and is catching up with the metadata log`;
    case "quorum":
      return (
        `restarting controller ${b.node} would leave ${b.caughtUp.length} caught-up voters ` +
        `[${b.caughtUp.join(",")}], fewer than the ${b.needed} needed`
      );
    case "no-quorum-leader":
      return "the KRaft controller quorum has no leader";
    case "offline-partition":
      return `partition ${b.topic}-${b.partition} is offline (no leader)`;
    case "reassigning":
      return `${b.count} partition reassignment${b.count === 1 ? " is" : "s are"} still in progress`;
  }
}

/**
 * Sentences for a status message, one per blocker except that a node's
 * per-partition blockers of one kind become one sentence with a count and
 * an example: a broker catching up on 40 partitions is one fact, and a
 * condition message that lists all 40 helps nobody.
 */
export function describeBlockers(blockers: readonly Blocker[]): string[] {
  type PerPartition = Extract<Blocker, { kind: "not-in-isr" | "under-min-isr" }>;
  const out: string[] = [];
  const grouped = new Map<string, PerPartition[]>();
  for (const b of blockers) {
    if (b.kind !== "not-in-isr" && b.kind !== "under-min-isr") {
      out.push(describeBlocker(b));
      continue;
    }
    const key = `${b.kind}/${b.node}`;
    const group = grouped.get(key);
    if (group) group.push(b);
    else {
      grouped.set(key, [b]);
      out.push(key);
    }
  }
  return out.map((line) => {
    const group = grouped.get(line);
    if (!group) return line;
    const [first] = group;
    if (!first || group.length === 1) return first ? describeBlocker(first) : line;
    const example = `${first.topic}-${first.partition}`;
    return first.kind === "not-in-isr"
      ? `broker ${first.node} was restarted and is not yet back in the ISR of ${group.length} partitions (e.g. ${example})`
      : `broker ${first.node} hosts ${group.length} partitions whose ISR would fall below min.insync.replicas (e.g. ${describeBlocker(first).replace(/^broker \d+ hosts /, "")})`;
  });
}

/** Why `candidate` may not restart now; empty means it may. */
export function restartBlockers(
  candidate: ClusterNode,
  obs: KafkaObservation,
  options: RestartOptions = {},
): Blocker[] {
  return sortBlockers([
    ...clusterBlockers(obs),
    ...catchingUpBlockers(obs, options.catchingUp),
    ...isrBlockers(candidate, obs),
    ...quorumBlockers(candidate, obs, options.quorumLagMs ?? 5000),
  ]);
}

/**
 * Conditions under which no node restarts, broker or controller. A rolling
 * restart does not bring an offline partition back (a broker that is down
 * gets restarted by whatever notices it is down, not by the roll), but it can
 * take a second one offline. Without a quorum leader nobody can move
 * leadership off the candidate, so its partitions would be offline for the
 * whole restart; and a reassignment in flight is copying data that a restart
 * would interrupt.
 */
function clusterBlockers(obs: KafkaObservation): Blocker[] {
  const blockers: Blocker[] = [];
  if (obs.reassignments.length > 0) {
    blockers.push({ kind: "reassigning", count: obs.reassignments.length });
  }
  for (const p of obs.partitions) {
    if (p.leader === -1) {
      blockers.push({ kind: "offline-partition", topic: p.topic, partition: p.partition });
    }
  }
  if (obs.quorum.leaderId === -1) blockers.push({ kind: "no-quorum-leader" });
  return blockers;
}

/**
 * When only the id of the node restarted last is known, it counts as a
 * broker by its data: if it hosts replicas, it must be live and in sync on
 * all of them. A broker hosting nothing holds no ISR hostage. (A lagging
 * controller is covered there too: it does not count towards the quorum
 * check of the next controller.)
 */
function catchingUpBlockers(obs: KafkaObservation, node: NodeId | undefined): Blocker[] {
  if (node === undefined) return [];
  const hosted = obs.partitions.filter((p) => p.replicas.includes(node));
  const blockers: Blocker[] = [];
  if (hosted.length > 0 && !obs.liveBrokers.has(node)) blockers.push({ kind: "not-live", node });
  for (const p of hosted) {
    if (!p.isr.includes(node)) {
      blockers.push({ kind: "not-in-isr", node, topic: p.topic, partition: p.partition });
    }
  }
  return blockers;
}

/**
 * Is `node`, restarted last, back? The roll asks this before choosing the
 * next node (its pod is already Ready; this is Kafka's half). A broker must
 * be live even if it hosts nothing yet, and in the ISR of every partition it
 * hosts; a controller must be the quorum leader or a voter caught up within
 * `quorumLagMs` of the observation. Empty means it is back.
 */
export function caughtUpBlockers(
  node: ClusterNode,
  obs: KafkaObservation,
  options: Pick<RestartOptions, "quorumLagMs"> = {},
): Blocker[] {
  const blockers = catchingUpBlockers(obs, node.id);
  if (node.roles.includes("broker") && !obs.liveBrokers.has(node.id))
    blockers.push({ kind: "not-live", node: node.id });
  if (node.roles.includes("controller")) {
    const caughtUp = caughtUpVoters(obs, options.quorumLagMs ?? 5000);
    if (!caughtUp.includes(node.id)) blockers.push({ kind: "voter-lagging", node: node.id });
  }
  return sortBlockers(blockers);
}

function minIsrOf(obs: KafkaObservation, topic: string): number {
  return obs.minIsr.get(topic) ?? obs.defaultMinIsr;
}

/**
 * The check is made for any candidate the cluster lists in an ISR, whatever
 * roles we think it has: the observation is the truth about where data lives.
 *
 * A partition with no more replicas than min.insync.replicas is skipped: it
 * loses `acks=all` availability whenever any one replica restarts, so waiting
 * would block the roll forever without protecting anything. (Strimzi skips
 * these too.) Users who want such topics to stay writable through a roll
 * must give them more replicas than min.insync.replicas. The exception to the
 * exception: when the candidate is the partition's last in-sync replica and
 * others exist, restarting would take the partition offline, and waiting for
 * a follower to catch up does help — so that still blocks. A single-replica
 * partition goes offline whatever we wait for, so it never blocks.
 */
function isrBlockers(candidate: ClusterNode, obs: KafkaObservation): Blocker[] {
  const blockers: Blocker[] = [];
  for (const p of obs.partitions) {
    if (!p.isr.includes(candidate.id)) continue;
    const minIsr = minIsrOf(obs, p.topic);
    const lastInSync = p.isr.length === 1 && p.replicas.length > 1;
    if (p.replicas.length <= minIsr && !lastInSync) continue;
    if (p.isr.length - 1 < minIsr) {
      blockers.push({
        kind: "under-min-isr",
        node: candidate.id,
        topic: p.topic,
        partition: p.partition,
        isr: p.isr,
        minIsr,
      });
    }
  }
  return blockers;
}

/** Voters that would keep the quorum going: recently caught up, or the leader itself. */
function caughtUpVoters(obs: KafkaObservation, quorumLagMs = 5000): NodeId[] {
  return obs.quorum.voters
    .filter(
      (v) =>
        v.id === obs.quorum.leaderId ||
        (v.lastCaughtUpTimestamp >= 0 && v.lastCaughtUpTimestamp >= obs.observedAt - quorumLagMs),
    )
    .map((v) => v.id)
    .sort((a, b) => a - b);
}

/**
 * The majority is of the full voter set: a restarting voter still counts in
 * the denominator, since the quorum does not shrink while it is away.
 *
 * With one or two voters no restart keeps a majority, so — as with
 * partitions that have no spare replica — insisting on one would stall the
 * roll forever. There we ask for every other voter to be caught up, so the
 * quorum re-forms as soon as the candidate is back.
 */
function quorumBlockers(candidate: ClusterNode, obs: KafkaObservation, lagMs: number): Blocker[] {
  const isVoter = obs.quorum.voters.some((v) => v.id === candidate.id);
  if (!candidate.roles.includes("controller") && !isVoter) return [];
  const caughtUp = caughtUpVoters(obs, lagMs).filter((id) => id !== candidate.id);
  const voters = obs.quorum.voters.length;
  const needed = Math.min(Math.floor(voters / 2) + 1, voters - 1);
  if (caughtUp.length >= needed) return [];
  return [{ kind: "quorum", node: candidate.id, caughtUp, needed }];
}

const kindOrder: Record<Blocker["kind"], number> = {
  reassigning: 0,
  "no-quorum-leader": 1,
  "offline-partition": 2,
  "not-live": 3,
  "not-in-isr": 4,
  "voter-lagging": 5,
  quorum: 6,
  "under-min-isr": 7,
};

/**
 * Canonical order and no duplicates, so the same cluster gives the same status
 * message however the admin API happened to order its partitions — a message
 * that changes every reconcile would be a write every reconcile.
 */
function sortBlockers(blockers: Blocker[]): Blocker[] {
  const seen = new Map<string, Blocker>();
  for (const b of blockers) seen.set(JSON.stringify(b), b);
  return [...seen.values()].sort(compareBlockers);
}

function compareBlockers(a: Blocker, b: Blocker): number {
  return (
    kindOrder[a.kind] - kindOrder[b.kind] ||
    ("node" in a && "node" in b ? a.node - b.node : 0) ||
    ("topic" in a && "topic" in b ? compareStrings(a.topic, b.topic) : 0) ||
    ("partition" in a && "partition" in b ? a.partition - b.partition : 0) ||
    compareStrings(JSON.stringify(a), JSON.stringify(b))
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rank(node: ClusterNode): number {
  const controller = node.roles.includes("controller");
  const broker = node.roles.includes("broker");
  if (controller && !broker) return 0;
  if (controller && broker) return 1;
  return 2;
}

/**
 * Controller-only nodes first (they hold no partitions, so a problem shows up
 * before any data is touched), then combined nodes, then brokers; the active
 * controller last, so the quorum moves its leader once rather than once per
 * restart. Ties by id.
 */
export function restartOrder(
  nodes: readonly ClusterNode[],
  activeController: NodeId,
): ClusterNode[] {
  return [...nodes].sort(
    (a, b) =>
      Number(a.id === activeController) - Number(b.id === activeController) ||
      rank(a) - rank(b) ||
      a.id - b.id,
  );
}

export type RestartDecision = { restart: ClusterNode } | { wait: Blocker[] } | { done: true };

/**
 * The next node of `pending` to restart: the first in `restartOrder` with no
 * blockers. One node at a time — the caller restarts it, waits for it to come
 * back, and asks again with it as `catchingUp`.
 */
export function chooseNextRestart(
  pending: readonly ClusterNode[],
  obs: KafkaObservation,
  options: RestartOptions = {},
): RestartDecision {
  if (pending.length === 0) return { done: true };
  const all: Blocker[] = [];
  for (const candidate of restartOrder(pending, obs.quorum.leaderId)) {
    const blockers = restartBlockers(candidate, obs, options);
    if (blockers.length === 0) return { restart: candidate };
    all.push(...blockers);
  }
  return { wait: sortBlockers(all) };
}
