/**
 * The KafkaCluster's `.status`, computed from what was observed: pure, and
 * `undefined` when it would say what it already says (no write then).
 *
 * Ready means every node's pod is ready, every broker is registered and
 * unfenced in Kafka, and no partition is under-replicated; Progressing
 * means an operation is under way (its `waitingFor` is the message);
 * Degraded means the spec cannot be acted on as written (InvalidSpec,
 * InvalidConfig, ScaleDownRefused), or that acting on it broke something
 * (RollHalted: the node restarted last does not come back; Progressing
 * then says the same).
 */
import { type ConditionUpdate, setCondition, statusEqual } from "@ballast/runtime";
import {
  nextOperation,
  type Operation,
  type PodLike,
  podReady,
  progressingCondition,
  startProblems,
} from "@ballast/stateful";
import type { KafkaCluster, KafkaClusterStatus } from "../api.ts";
import { rollHalt } from "../plan/halt.ts";
import type { KafkaObservation, NodeId } from "../plan/state.ts";
import { image, names, namespaceOf } from "../resources.ts";
import type { MemberNode } from "./membership.ts";

/** What one step of a reconcile asks the status to say, beside what was observed. */
export interface StatusUpdate {
  clusterId?: string;
  nodes?: readonly MemberNode[];
  /** null clears the operation. */
  operation?: Operation | null;
  invalid?: string;
  blocked?: { reason: string; message: string };
  waiting?: string;
}

export interface StatusFacts {
  observation?: KafkaObservation;
}

export interface StatusInputs extends StatusFacts {
  pods: ReadonlyMap<NodeId, PodLike>;
  update: StatusUpdate;
  now: Date;
}

export function buildStatus(c: KafkaCluster, inputs: StatusInputs): KafkaClusterStatus | undefined {
  const base = c.status ?? {};
  const { update, observation: obs, pods, now } = inputs;
  const members: readonly MemberNode[] =
    update.nodes ??
    base.nodes?.map((n) => ({
      id: n.id,
      roles: n.roles,
      ...(n.removing ? { removing: true } : {}),
    })) ??
    [];

  const nodeReady = (n: MemberNode): boolean => {
    const p = pods.get(n.id);
    if (!p || !podReady(p)) return false;
    if (n.roles.includes("broker") && obs) return obs.liveBrokers.has(n.id);
    return true;
  };
  const nodes = members.map((n) => ({
    id: n.id,
    roles: [...n.roles],
    pod: names.pod(c, n.id),
    ready: nodeReady(n),
    ...(n.removing ? { removing: true } : {}),
  }));
  const readyBrokers = members.filter(
    (n) => n.roles.includes("broker") && !n.removing && nodeReady(n),
  ).length;
  const operation = nextOperation(update.operation, base.operation);
  const allOnImage =
    members.length > 0 &&
    members.every((n) => pods.get(n.id)?.spec?.containers?.[0]?.image === image(c));
  const underReplicated = obs
    ? obs.partitions.filter((p) => p.isr.length < p.replicas.length).length
    : 0;
  const offline = obs ? obs.partitions.filter((p) => p.leader < 0).length : 0;
  const generation = c.metadata.generation;
  const gen = generation === undefined ? {} : { observedGeneration: generation };

  let conditions = base.conditions;
  const set = (u: ConditionUpdate) => {
    conditions = setCondition(conditions, { ...u, ...gen }, now);
  };

  if (update.invalid) {
    set({ type: "Degraded", status: "True", reason: "InvalidSpec", message: update.invalid });
    set({ type: "Ready", status: "False", reason: "InvalidSpec", message: update.invalid });
  } else if (update.blocked) {
    set({
      type: "Degraded",
      status: "True",
      reason: update.blocked.reason,
      message: update.blocked.message,
    });
  }
  const halt = rollHalt(operation, pods, now);
  if (!update.invalid && !update.blocked) {
    set(
      halt
        ? { type: "Degraded", status: "True", reason: "RollHalted", message: halt.message }
        : {
            type: "Degraded",
            status: "False",
            reason: "AsExpected",
            message: "the spec can be acted on",
          },
    );
  }

  set(
    halt
      ? { type: "Progressing", status: "True", reason: "RollHalted", message: halt.message }
      : progressingCondition(operation),
  );

  if (!update.invalid) {
    const notReady = nodes.filter((n) => !n.ready && !n.removing).map((n) => n.id);
    // A pod that cannot start says why (an unknown version's image, a crash loop): the fix is the user's.
    const stuck = startProblems(notReady, pods, (id) => `node ${id}`);
    if (update.waiting || notReady.length > 0) {
      set({
        type: "Ready",
        status: "False",
        reason: stuck.length > 0 && !update.waiting ? "PodsNotStarting" : "NodesNotReady",
        message:
          update.waiting ?? [`nodes ${notReady.join(", ")} are not ready`, ...stuck].join("; "),
      });
    } else if (offline > 0) {
      set({
        type: "Ready",
        status: "False",
        reason: "OfflinePartitions",
        message: `${offline} partition(s) have no leader`,
      });
    } else if (underReplicated > 0) {
      set({
        type: "Ready",
        status: "False",
        reason: "UnderReplicated",
        message: `${underReplicated} partition(s) are under-replicated`,
      });
    } else if (nodes.length > 0) {
      set({
        type: "Ready",
        status: "True",
        reason: "AllNodesReady",
        message: `${readyBrokers} broker(s) serving, every partition fully replicated`,
      });
    }
  }

  const status: KafkaClusterStatus = {
    ...gen,
    ...(conditions ? { conditions } : {}),
    ...((update.clusterId ?? base.clusterId)
      ? { clusterId: update.clusterId ?? base.clusterId }
      : {}),
    ...(allOnImage ? { version: c.spec.version } : {}),
    readyBrokers,
    brokers: `${readyBrokers}/${c.spec.brokers}`,
    ...(obs && obs.quorum.leaderId >= 0
      ? { activeController: obs.quorum.leaderId }
      : base.activeController !== undefined
        ? { activeController: base.activeController }
        : {}),
    bootstrapServers: `${names.bootstrap(c)}.${namespaceOf(c)}.svc:${c.spec.clientPort}`,
    ...(nodes.length > 0 ? { nodes } : {}),
    ...(operation ? { operation } : {}),
  };
  return statusEqual(base, status) ? undefined : status;
}
