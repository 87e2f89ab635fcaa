/**
 * The KafkaCluster controller: observe → plan → act, one step per reconcile.
 *
 * Observe: the KafkaCluster (read fresh from the API server: a decision to
 * restart a broker must not rest on a cache that has not yet seen the last
 * status write), its pods (cache) and Kafka itself (metadata, ISRs, quorum,
 * reassignments, which configs are dynamic).
 * Plan: pure functions in `plan/` and `membership.ts`.
 * Act: at most one disruptive step per reconcile (one pod deleted, one batch
 * of partition moves), always recorded in `.status.operation` BEFORE it is
 * taken, so an operator killed at any line resumes where it was.
 */
import { randomBytes } from "node:crypto";
import {
  Action,
  type ApplyObject,
  type ControllerContext,
  type ControllerOptions,
  controller,
  type EventRecorder,
  isAlreadyExists,
  isNotFound,
  type KubeClient,
  type KubeObject,
} from "@ballast/runtime";
import { KafkaCluster, type KafkaClusterStatus, type KafkaOperation } from "../api.ts";
import { diffConfig, validateUserConfig } from "../plan/config.ts";
import { planReassignment, scaleDownBlockers } from "../plan/reassign.ts";
import { chooseNextRestart, describeBlocker } from "../plan/restart.ts";
import type { KafkaObservation, NodeId } from "../plan/state.ts";
import {
  annotations,
  bootstrapService,
  brokerRunningGate,
  claim,
  configMap,
  defaultConfig,
  disruptionBudget,
  headlessService,
  labels,
  names,
  namespaceOf,
  pod,
  templateHash,
  userConfig,
} from "../resources.ts";
import type { AdminPool, ClusterAdmin } from "./admin-pool.ts";
import { activeBrokers, type MemberNode, planMembership } from "./membership.ts";
import type { KafkaMetrics } from "./metrics.ts";
import {
  buildStatus,
  containersReady,
  type PodLike,
  podReady,
  type StatusFacts,
} from "./status.ts";

const Pod = { apiVersion: "v1", kind: "Pod" } as const;
const ConfigMap = { apiVersion: "v1", kind: "ConfigMap" } as const;
const Service = { apiVersion: "v1", kind: "Service" } as const;
const Budget = { apiVersion: "policy/v1", kind: "PodDisruptionBudget" } as const;
const Claim = { apiVersion: "v1", kind: "PersistentVolumeClaim" } as const;

export interface ClusterControllerDeps {
  admins: AdminPool;
  events?: EventRecorder;
  metrics?: KafkaMetrics;
  /** How often a busy cluster is looked at again. @default 2000 */
  busyRequeueMs?: number;
  /** How often a quiet cluster's health is re-read from Kafka. @default 30000 */
  idleRequeueMs?: number;
}

export function kafkaClusterController(
  client: KubeClient,
  deps: ClusterControllerDeps,
  options: ControllerOptions = {},
) {
  return controller(client, KafkaCluster)
    .owns(Pod)
    .owns(ConfigMap)
    .owns(Service)
    .owns(Budget)
    .withOptions({ name: "kafkacluster", maxConcurrentReconciles: 2, ...options })
    .build(async (ref, ctx) => {
      if (!ctx.object) {
        await deps.admins.reset(`${ref.namespace}/${ref.name}`);
        deps.metrics?.forget(ref.namespace ?? "default", ref.name);
        return Action.done();
      }
      // Fresh, not cached: see the module comment.
      let live: KafkaCluster;
      try {
        live = await ctx.client.get<KafkaCluster>(KafkaCluster, ref, { signal: ctx.signal });
      } catch (err) {
        if (isNotFound(err)) return Action.done();
        throw err;
      }
      const step = new Step(live, ctx, deps);
      try {
        return await step.run();
      } catch (err) {
        if (isKafkaError(err)) await deps.admins.reset(step.key);
        throw err;
      } finally {
        deps.metrics?.record(step.c, step.facts.observation);
      }
    });
}

function isKafkaError(err: unknown): boolean {
  return err instanceof Error && !("status" in err && typeof err.status === "number");
}

/** One reconcile of one cluster. */
class Step {
  readonly c: KafkaCluster;
  readonly ctx: ControllerContext<KafkaCluster>;
  readonly deps: ClusterControllerDeps;
  readonly key: string;
  readonly busy: number;
  readonly idle: number;
  readonly pods: Map<NodeId, PodLike>;
  facts: StatusFacts = {};

  constructor(c: KafkaCluster, ctx: ControllerContext<KafkaCluster>, deps: ClusterControllerDeps) {
    this.c = c;
    this.ctx = ctx;
    this.deps = deps;
    this.key = `${namespaceOf(c)}/${c.metadata.name}`;
    this.busy = deps.busyRequeueMs ?? 2000;
    this.idle = deps.idleRequeueMs ?? 30_000;
    this.pods = new Map();
    for (const p of ctx.owned<PodLike>(Pod)) {
      const id = Number(p.metadata.labels?.[labels.nodeId]);
      if (Number.isInteger(id)) this.pods.set(id, p);
    }
  }

  get status(): KafkaClusterStatus {
    return this.c.status ?? {};
  }

  async run(): Promise<Action> {
    const c = this.c;
    const problems = validateUserConfig(userConfig(c));
    if (problems.length > 0) {
      // Nothing is changed or removed because of a bad spec: say what to fix and wait.
      await this.writeStatus({ invalid: problems.join("; ") });
      return Action.done();
    }
    if (!this.status.clusterId) {
      await this.writeStatus({ clusterId: newClusterId() });
      return Action.requeueAfter(0);
    }

    const change = planMembership(c, this.nodes());
    if (change.kind === "create" || change.kind === "add") {
      const op =
        change.kind === "add"
          ? this.operation("ScaleUp", `adding brokers ${change.added.join(", ")}`)
          : this.status.operation;
      await this.writeStatus({ nodes: change.nodes, operation: op ?? null });
      if (change.kind === "add")
        this.event("ScaleUp", "AddBrokers", `adding brokers ${change.added.join(", ")}`);
      return Action.requeueAfter(0);
    }

    const nodes = this.nodes() ?? [];
    await this.ensureSharedObjects(nodes);
    const created = await this.ensurePods(nodes);

    const admin = this.admin(nodes);
    if (!admin) {
      await this.writeStatus({ waiting: "no broker is ready yet" });
      return Action.requeueAfter(this.busy);
    }
    const obs = await admin.observe();
    this.facts.observation = obs;
    await this.setRunningGates(nodes, obs);

    if (change.kind === "refuse") {
      await this.writeStatus({ blocked: { reason: "ScaleDownRefused", message: change.message } });
      return Action.requeueAfter(this.idle);
    }
    if (change.kind === "remove") return this.startScaleDown(change.nodes, change.removing, obs);

    const dynamicKeys = await this.dynamicKeys(admin, obs);
    await this.applyDynamicConfig(admin, nodes, obs, dynamicKeys);

    const rolled = await this.roll(nodes, obs, dynamicKeys);
    if (rolled) return rolled;

    if (nodes.some((n) => n.removing)) return this.scaleDown(admin, nodes, obs);
    if (this.status.operation?.type === "ScaleUp") return this.scaleUp(admin, nodes, obs);

    await this.writeStatus({});
    return Action.requeueAfter(created ? this.busy : this.idle);
  }

  nodes(): MemberNode[] | undefined {
    return this.status.nodes?.map((n) => ({
      id: n.id,
      roles: n.roles,
      ...(n.removing ? { removing: true } : {}),
    }));
  }

  // ---- objects ------------------------------------------------------------

  async ensureSharedObjects(nodes: readonly MemberNode[]): Promise<void> {
    const want: ApplyObject[] = [
      headlessService(this.c),
      bootstrapService(this.c),
      disruptionBudget(this.c, nodes),
      configMap(this.c, nodes),
    ];
    const have = [
      ...this.ctx.owned(Service),
      ...this.ctx.owned(Budget),
      ...this.ctx.owned(ConfigMap),
    ];
    for (const object of want) {
      const current = have.find(
        (h) => h.kind === object.kind && h.metadata.name === object.metadata.name,
      );
      if (current && upToDate(current, object)) continue;
      await this.ctx.client.apply(object, { force: true, signal: this.ctx.signal });
    }
  }

  /** Creates every missing pod (and its claim); true if it created one. */
  async ensurePods(nodes: readonly MemberNode[]): Promise<boolean> {
    let created = false;
    const clusterId = this.status.clusterId ?? "";
    for (const node of nodes) {
      if (node.removing || this.pods.has(node.id)) continue;
      await this.createIgnoringExisting(claim(this.c, node.id));
      const desired = this.desiredConfig();
      await this.createIgnoringExisting(
        pod(this.c, node, nodes, { clusterId, appliedConfig: desired }),
      );
      created = true;
    }
    return created;
  }

  async createIgnoringExisting(object: KubeObject): Promise<void> {
    try {
      await this.ctx.client.create(object, { signal: this.ctx.signal });
    } catch (err) {
      // A pod still terminating under the same name, or a claim kept from before.
      if (!isAlreadyExists(err)) throw err;
    }
  }

  /** What every broker should run with: safe defaults, overridden by spec.config. */
  desiredConfig(): Record<string, string> {
    return { ...defaultConfig(this.c.spec.brokers), ...userConfig(this.c) };
  }

  // ---- Kafka --------------------------------------------------------------

  /**
   * Bootstrap from every broker pod whose container is up (not Ready: that
   * waits for the broker-running gate this operator sets from what Kafka
   * says); none up → no admin yet.
   */
  admin(nodes: readonly MemberNode[]): ClusterAdmin | undefined {
    const bootstrap: string[] = [];
    for (const node of nodes) {
      if (!node.roles.includes("broker")) continue;
      const p = this.pods.get(node.id);
      if (p && containersReady(p) && p.status?.podIP)
        bootstrap.push(`${p.status.podIP}:${this.c.spec.clientPort}`);
    }
    if (bootstrap.length === 0) return undefined;
    return this.deps.admins.get(this.key, bootstrap.sort());
  }

  /** Each broker pod's readiness gate says whether Kafka lists it as running. */
  async setRunningGates(nodes: readonly MemberNode[], obs: KafkaObservation): Promise<void> {
    for (const node of nodes) {
      const p = this.pods.get(node.id);
      if (!p || !node.roles.includes("broker") || p.metadata.deletionTimestamp) continue;
      const running = containersReady(p) && obs.liveBrokers.has(node.id);
      const status = running ? "True" : "False";
      const current = p.status?.conditions?.find((c) => c.type === brokerRunningGate);
      if (current?.status === status) continue;
      await this.ctx.client.patchStatus(
        Pod,
        { namespace: namespaceOf(this.c), name: p.metadata.name ?? "" },
        {
          status: {
            conditions: [
              {
                type: brokerRunningGate,
                status,
                reason: running ? "BrokerRunning" : "BrokerNotRunning",
                message: running
                  ? `broker ${node.id} is registered and unfenced`
                  : `broker ${node.id} is not (yet) an unfenced member of the cluster`,
                lastTransitionTime: new Date().toISOString(),
              },
            ],
          },
        },
        { type: "strategic", signal: this.ctx.signal },
      );
    }
  }

  async dynamicKeys(admin: ClusterAdmin, obs: KafkaObservation): Promise<ReadonlySet<string>> {
    const [first] = [...obs.liveBrokers].sort((a, b) => a - b);
    if (first === undefined) return new Set();
    const entries = await admin.brokerConfig(first);
    const keys = new Set<string>();
    for (const [key, entry] of entries) if (!entry.readOnly) keys.add(key);
    return keys;
  }

  /** The configuration each pod runs with, as recorded on it. */
  applied(p: PodLike): Record<string, string> {
    const text = p.metadata.annotations?.[annotations.appliedConfig];
    if (!text) return {};
    try {
      return JSON.parse(text) as Record<string, string>;
    } catch {
      return {};
    }
  }

  /**
   * Keys Kafka can change at runtime are changed at runtime, per live
   * broker, and recorded on its pod; the rest wait for the roll.
   */
  async applyDynamicConfig(
    admin: ClusterAdmin,
    nodes: readonly MemberNode[],
    obs: KafkaObservation,
    dynamicKeys: ReadonlySet<string>,
  ): Promise<void> {
    const desired = this.desiredConfig();
    for (const node of nodes) {
      const p = this.pods.get(node.id);
      if (!p || !obs.liveBrokers.has(node.id) || p.metadata.deletionTimestamp) continue;
      const applied = this.applied(p);
      const diff = diffConfig(desired, applied, dynamicKeys);
      const dynamicChanged =
        Object.keys(diff.dynamic.set).length > 0 || diff.dynamic.delete.length > 0;
      if (!dynamicChanged) continue;
      await admin.alterBrokerConfig(node.id, diff.dynamic.set, diff.dynamic.delete);
      const next = { ...applied, ...diff.dynamic.set };
      for (const key of diff.dynamic.delete) delete next[key];
      await this.ctx.client.patch(
        Pod,
        { namespace: namespaceOf(this.c), name: p.metadata.name ?? "" },
        { metadata: { annotations: { [annotations.appliedConfig]: JSON.stringify(next) } } },
        { type: "merge", signal: this.ctx.signal },
      );
      this.event(
        "ConfigUpdated",
        "AlterConfigs",
        `broker ${node.id}: ${[...Object.keys(diff.dynamic.set), ...diff.dynamic.delete].join(", ")} changed without a restart`,
      );
    }
  }

  // ---- rolling restart ----------------------------------------------------

  needsRestart(
    node: MemberNode,
    nodes: readonly MemberNode[],
    dynamicKeys: ReadonlySet<string>,
  ): boolean {
    const p = this.pods.get(node.id);
    if (!p || p.metadata.deletionTimestamp) return false;
    if (p.metadata.annotations?.[annotations.templateHash] !== templateHash(this.c, node, nodes))
      return true;
    if (!node.roles.includes("broker")) return false;
    return diffConfig(this.desiredConfig(), this.applied(p), dynamicKeys).restart.length > 0;
  }

  /** Is the node restarted last back: its new pod ready, live, and in every ISR it belongs to? */
  caughtUp(node: MemberNode, nodes: readonly MemberNode[], obs: KafkaObservation): string | null {
    const p = this.pods.get(node.id);
    if (!p || p.metadata.deletionTimestamp) return `node ${node.id} is restarting`;
    if (p.metadata.annotations?.[annotations.templateHash] !== templateHash(this.c, node, nodes))
      return `node ${node.id}'s old pod is still being replaced`;
    if (!podReady(p)) return `node ${node.id} is starting`;
    if (node.roles.includes("broker")) {
      if (!obs.liveBrokers.has(node.id)) return `broker ${node.id} has not rejoined the cluster`;
      const lagging = obs.partitions.filter(
        (part) => part.replicas.includes(node.id) && !part.isr.includes(node.id),
      );
      if (lagging.length > 0) {
        const first = lagging[0];
        return `broker ${node.id} is catching up: not yet in the ISR of ${lagging.length} partition(s), e.g. ${first?.topic}-${first?.partition}`;
      }
    }
    if (node.roles.includes("controller")) {
      const voter = obs.quorum.voters.find((v) => v.id === node.id);
      const recent = obs.observedAt - 5000;
      if (obs.quorum.leaderId !== node.id && (!voter || voter.lastCaughtUpTimestamp < recent))
        return `controller ${node.id} is catching up with the metadata log`;
    }
    return null;
  }

  async roll(
    nodes: readonly MemberNode[],
    obs: KafkaObservation,
    dynamicKeys: ReadonlySet<string>,
  ): Promise<Action | undefined> {
    const op = this.status.operation?.type === "Roll" ? this.status.operation : undefined;
    const pending = nodes.filter((n) => !n.removing && this.needsRestart(n, nodes, dynamicKeys));
    const done = [...(op?.done ?? [])];
    let current = op?.current;

    if (current !== undefined) {
      const node = nodes.find((n) => n.id === current);
      const waiting = node ? this.caughtUp(node, nodes, obs) : null;
      if (waiting) {
        await this.writeStatus({ operation: { ...(op as KafkaOperation), waitingFor: waiting } });
        return Action.requeueAfter(this.busy);
      }
      if (!done.includes(current)) done.push(current);
      this.event("Rolling", "NodeRestarted", `node ${current} is back and caught up`);
      current = undefined;
    }

    if (pending.length === 0) {
      if (op) {
        this.event("RollComplete", "Roll", `restarted ${done.length} node(s): ${done.join(", ")}`);
        await this.writeStatus({ operation: null });
        return Action.requeueAfter(0);
      }
      return undefined;
    }
    // A scale operation in flight finishes its partition moves first.
    if (obs.reassignments.length > 0 && !op) return undefined;

    const decision = chooseNextRestart(pending, obs);
    const base: KafkaOperation = op ?? this.operation("Roll", this.rollReason(pending));
    const total = new Set([...done, ...pending.map((n) => n.id)]).size;
    if ("done" in decision) return undefined;
    if ("wait" in decision) {
      const why = decision.wait.map(describeBlocker).join("; ");
      const { current: _gone, ...rest } = base;
      await this.writeStatus({
        operation: {
          ...rest,
          pending: pending.map((n) => n.id),
          done,
          waitingFor: why,
          summary: `Roll ${done.length}/${total}`,
        },
      });
      return Action.requeueAfter(this.busy);
    }

    const next = decision.restart;
    // Recorded first: if the operator dies right after the delete, the next
    // one still waits for this node to catch up before touching another.
    await this.writeStatus({
      operation: {
        ...base,
        pending: pending.map((n) => n.id),
        done,
        current: next.id,
        waitingFor: `node ${next.id} is restarting`,
        summary: `Roll ${done.length}/${total}`,
      },
    });
    const p = this.pods.get(next.id);
    if (p) {
      try {
        await this.ctx.client.delete(
          Pod,
          { namespace: namespaceOf(this.c), name: p.metadata.name ?? "" },
          { preconditions: { uid: p.metadata.uid ?? "" }, signal: this.ctx.signal },
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    this.event(
      "Rolling",
      "RestartNode",
      `restarting node ${next.id} (${done.length + 1}/${total})`,
    );
    return Action.requeueAfter(this.busy);
  }

  rollReason(pending: readonly MemberNode[]): string {
    const requested = this.c.metadata.annotations?.[annotations.restartRequested];
    const versions = new Set(
      pending.map((n) => this.pods.get(n.id)?.spec?.containers?.[0]?.image ?? ""),
    );
    if (!versions.has(`apache/kafka:${this.c.spec.version}`) && !this.c.spec.image)
      return `upgrade to Kafka ${this.c.spec.version}`;
    if (requested) return `restart requested (${requested})`;
    return "configuration change";
  }

  // ---- scaling ------------------------------------------------------------

  async startScaleDown(
    next: MemberNode[],
    removing: NodeId[],
    obs: KafkaObservation,
  ): Promise<Action> {
    const target = activeBrokers(next).map((n) => n.id);
    const blockers = scaleDownBlockers(obs.partitions, target);
    if (blockers.length > 0) {
      const list = blockers.map((b) => `${b.topic} (replication factor ${b.replicationFactor})`);
      await this.writeStatus({
        blocked: {
          reason: "ScaleDownRefused",
          message: `spec.brokers=${target.length} cannot hold ${list.join(", ")}: nothing was removed; keep spec.brokers at least ${Math.max(...blockers.map((b) => b.replicationFactor))} or lower those topics' replication factor`,
        },
      });
      this.event("ScaleDownRefused", "ScaleDown", `would lose data: ${list.join(", ")}`, "Warning");
      return Action.requeueAfter(this.idle);
    }
    await this.writeStatus({
      nodes: next,
      operation: this.operation("ScaleDown", `removing brokers ${removing.join(", ")}`),
    });
    this.event("ScaleDown", "DrainBrokers", `moving partitions off brokers ${removing.join(", ")}`);
    return Action.requeueAfter(0);
  }

  /** Moves partitions so that every target broker holds its share; true when balanced. */
  async rebalance(
    admin: ClusterAdmin,
    target: NodeId[],
    involved: NodeId[],
    obs: KafkaObservation,
  ): Promise<boolean> {
    const op = this.status.operation;
    if (obs.reassignments.length > 0) {
      await this.writeStatus({
        operation: {
          ...(op as KafkaOperation),
          movesRemaining: obs.reassignments.length,
          waitingFor: `${obs.reassignments.length} partition(s) moving`,
          summary: `${op?.type} ${Math.max(0, (op?.movesTotal ?? 0) - obs.reassignments.length)}/${op?.movesTotal ?? 0}`,
        },
      });
      return false;
    }
    const live = target.filter((id) => obs.liveBrokers.has(id));
    if (live.length < target.length) {
      const missing = target.filter((id) => !obs.liveBrokers.has(id));
      await this.writeStatus({
        operation: {
          ...(op as KafkaOperation),
          waitingFor: `brokers ${missing.join(", ")} to join`,
        },
      });
      return false;
    }
    const moves = planReassignment(obs.partitions, target);
    if (moves.length === 0) {
      await admin.clearThrottle({ brokers: liveOf(involved, obs), topics: topicsOf(obs) });
      return true;
    }
    const targets = moves.map((m) => ({ topic: m.topic, partition: m.partition, replicas: m.to }));
    await admin.setThrottle(targets, this.c.spec.rebalance?.throttleBytesPerSecond ?? 52_428_800);
    const total = (op?.movesTotal ?? 0) + moves.length;
    await this.writeStatus({
      operation: {
        ...(op as KafkaOperation),
        movesTotal: total,
        movesRemaining: moves.length,
        waitingFor: `${moves.length} partition(s) moving`,
        summary: `${op?.type} ${total - moves.length}/${total}`,
      },
    });
    await admin.reassign(targets);
    this.event(op?.type ?? "Rebalance", "MovePartitions", `moving ${moves.length} partition(s)`);
    return false;
  }

  async scaleUp(
    admin: ClusterAdmin,
    nodes: readonly MemberNode[],
    obs: KafkaObservation,
  ): Promise<Action> {
    const target = activeBrokers(nodes).map((n) => n.id);
    const balanced = await this.rebalance(admin, target, target, obs);
    if (!balanced) return Action.requeueAfter(this.busy);
    this.event("ScaleUpComplete", "ScaleUp", `partitions spread over brokers ${target.join(", ")}`);
    await this.writeStatus({ operation: null });
    return Action.requeueAfter(0);
  }

  async scaleDown(
    admin: ClusterAdmin,
    nodes: readonly MemberNode[],
    obs: KafkaObservation,
  ): Promise<Action> {
    const target = activeBrokers(nodes).map((n) => n.id);
    const removing = nodes.filter((n) => n.removing).map((n) => n.id);
    const stillHosting = obs.partitions.some((p) => p.replicas.some((r) => removing.includes(r)));
    if (stillHosting || obs.reassignments.length > 0) {
      await this.rebalance(admin, target, [...target, ...removing], obs);
      return Action.requeueAfter(this.busy);
    }
    // Empty now: stop each removed node, then forget it in Kafka and here.
    const ns = namespaceOf(this.c);
    for (const id of removing) {
      const p = this.pods.get(id);
      if (p) {
        if (obs.liveBrokers.has(id))
          await admin.clearThrottle({
            brokers: liveOf([...target, ...removing], obs),
            topics: topicsOf(obs),
          });
        if (!p.metadata.deletionTimestamp)
          await this.ctx.client.delete(
            Pod,
            { namespace: ns, name: p.metadata.name ?? "" },
            { signal: this.ctx.signal },
          );
        await this.writeStatus({
          operation: {
            ...(this.status.operation as KafkaOperation),
            waitingFor: `broker ${id} to stop`,
          },
        });
        return Action.requeueAfter(this.busy);
      }
    }
    for (const id of removing) {
      await admin.unregisterBroker(id);
      try {
        await this.ctx.client.delete(
          Claim,
          { namespace: ns, name: names.claim(this.c, id) },
          { signal: this.ctx.signal },
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    this.event("ScaleDownComplete", "ScaleDown", `removed brokers ${removing.join(", ")}`);
    await this.writeStatus({ nodes: nodes.filter((n) => !n.removing), operation: null });
    return Action.requeueAfter(0);
  }

  // ---- status and events --------------------------------------------------

  operation(type: KafkaOperation["type"], reason: string): KafkaOperation {
    return { type, reason, startedAt: new Date().toISOString(), summary: type };
  }

  async writeStatus(update: StatusUpdate): Promise<void> {
    const status = buildStatus(this.c, {
      ...this.facts,
      pods: this.pods,
      update,
      now: new Date(),
    });
    if (!status) return;
    await this.ctx.client.applyStatus(
      {
        apiVersion: KafkaCluster.apiVersion,
        kind: KafkaCluster.kind,
        metadata: { name: this.c.metadata.name ?? "", namespace: namespaceOf(this.c) },
        status,
      },
      { force: true, signal: this.ctx.signal },
    );
    // Later steps of this reconcile see what was written.
    (this.c as { status?: KafkaClusterStatus }).status = status;
  }

  event(reason: string, action: string, note: string, type: "Normal" | "Warning" = "Normal"): void {
    this.deps.events?.event(this.c, { type, reason, action, note });
  }
}

export interface StatusUpdate {
  clusterId?: string;
  nodes?: readonly MemberNode[];
  /** null clears the operation. */
  operation?: KafkaOperation | null;
  invalid?: string;
  blocked?: { reason: string; message: string };
  waiting?: string;
}

/** Throttles live in broker configs, which only a registered broker can be asked to change. */
function liveOf(ids: readonly NodeId[], obs: KafkaObservation): NodeId[] {
  return ids.filter((id) => obs.liveBrokers.has(id));
}

function topicsOf(obs: KafkaObservation): string[] {
  return [...new Set(obs.partitions.map((p) => p.topic))].sort();
}

/**
 * Does the live object already say what we would apply? Compared on the
 * fields we set that can change (the API server adds defaults to the rest,
 * e.g. a Service's clusterIP), so a quiet cluster makes no writes.
 */
function upToDate(current: KubeObject, want: ApplyObject): boolean {
  const pick = (o: unknown): unknown => {
    const x = o as {
      data?: unknown;
      spec?: { minAvailable?: unknown; ports?: { port: number }[] };
    };
    if (want.kind === "ConfigMap") return x.data ?? {};
    if (want.kind === "PodDisruptionBudget") return x.spec?.minAvailable;
    return x.spec?.ports?.map((p) => p.port);
  };
  return JSON.stringify(pick(current)) === JSON.stringify(pick(want));
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, as `kafka-storage random-uuid` prints. */
export function newClusterId(): string {
  return randomBytes(16).toString("base64url");
}
