/**
 * A fake world for act-layer tests of the RedisReplication pipeline: the
 * shared fake API server and kubelet (`@ballast/stateful/testing`), with
 * pod label patches (the role label) recorded like every other write, and
 * a Redis made of the pods that run. Each member process starts the way
 * the pod's start script does (resources.ts): it asks the sentinels who
 * is master and follows that one, becoming master only when the sentinels
 * name it and no other member holds data, or when no sentinel knows one
 * and the operator's hint names it. The sentinels share one view (a master and an epoch); a test makes
 * them fail over (`sentinelsFailOver`), and a `SENTINEL FAILOVER` promotes
 * the in-sync replica with the highest offset while the old master stays
 * master until someone demotes it, as Redis 7 does for about 10 s.
 *
 * Every command the pipeline sends is recorded in the API server's
 * ordered list of calls, so a test asserts the order of Kubernetes writes
 * and Redis commands together. The pipeline under test is the real one
 * (`reconcileReplication`); only its two ports are fake.
 */
import type { KubeClient } from "@ballast/runtime";
import type { PodLike } from "@ballast/stateful";
import { FakeKubernetes, type Stored } from "@ballast/stateful/testing";
import type {
  MemberAddress,
  MemberReport,
  MonitorSettings,
  RedisAddress,
  RedisPort,
  ReplicaAcknowledgement,
  SentinelAddress,
  SentinelReport,
  SentinelSubscription,
} from "../admin/port.ts";
import { endpoint, RedisPortError } from "../admin/port.ts";
import { RedisReplication } from "../api.ts";
import { majority } from "../plan/state.ts";
import { labels, memberAddress, memberHost, persistent, sentinelAddress } from "../resources.ts";
import { reconcileReplication } from "./controller.ts";
import { ReplicationScope } from "./scope.ts";

/** A command the pipeline sent to Redis, or a role label it patched on a pod. */
export type RedisCall =
  | { verb: "redis"; command: string; id: number; to?: number | "no one" }
  | { verb: "label"; name: string; role: string }
  /** A status write that recorded a new `lastRepair`. */
  | { verb: "repair"; action: string };

export type RedisWorldCall = RedisCall | { verb: string };

type Labelled = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
};

/** The shared fake API server, with pod label patches. */
export class RedisWorld extends FakeKubernetes<RedisCall> {
  constructor() {
    super({ ownerKind: "RedisReplication", memberLabel: labels.memberId });
  }

  override client(): KubeClient {
    const base = super.client() as unknown as Record<string, unknown> & {
      patch: (...args: unknown[]) => Promise<unknown>;
      applyStatus: (object: Stored & { status: unknown }, ...rest: unknown[]) => Promise<unknown>;
    };
    return {
      ...base,
      // As the API server: a status the schema does not declare is refused.
      applyStatus: async (object: Stored & { status: unknown }, ...rest: unknown[]) => {
        const stored = this.get(object.kind ?? "", object.metadata.name ?? "");
        const checked = RedisReplication.validate({ ...stored, status: object.status });
        if (!checked.ok)
          throw new Error(
            `status refused: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
          );
        const repair = (object.status as { lastRepair?: { action: string; at: string } })
          .lastRepair;
        const was = (stored as { status?: { lastRepair?: { action: string; at: string } } })?.status
          ?.lastRepair;
        if (repair && (repair.action !== was?.action || repair.at !== was?.at))
          this.record({ verb: "repair", action: repair.action });
        return base.applyStatus(object, ...rest);
      },
      patch: async (
        type: { kind: string },
        ref: { name: string },
        body: Labelled,
        ...rest: unknown[]
      ) => {
        const newLabels = body.metadata?.labels;
        if (newLabels) {
          const found = this.get(type.kind, ref.name);
          if (!found) return base.patch(type, ref, body, ...rest);
          for (const [, role] of Object.entries(newLabels))
            this.record({ verb: "label", name: ref.name, role: String(role) });
          found.metadata.labels = { ...found.metadata.labels, ...newLabels };
          return found;
        }
        return base.patch(type, ref, body, ...rest);
      },
    } as unknown as KubeClient;
  }
}

interface Process {
  uid: string;
  role: "master" | "replica";
  following?: number;
  offset: number;
  /** Its dynamic config: what its redis.conf had at start, then each CONFIG SET. */
  config: Record<string, string>;
}

export class FakeRedis implements RedisPort {
  readonly api: RedisWorld;
  readonly name: string;
  /** Member processes by id, keyed to the pod uid they run in. */
  readonly processes = new Map<number, Process>();
  /** What each member's volume kept (its offset), across restarts. */
  readonly volumes = new Map<number, number>();
  /** The sentinels' shared view. */
  sentinel: { master: number | undefined; epoch: number } = { master: undefined, epoch: 0 };
  /** Replicas the sentinels know: learnt from the master's INFO, so only once linked to it. */
  readonly known = new Set<number>();
  /** Members whose process is down although their pod runs. */
  crashed = new Set<number>();
  /** Sentinels not answering yet although their pods run (still starting). */
  sentinelsStarting = false;
  /**
   * A `SENTINEL FAILOVER` leaves its sentinel finishing: past the
   * promotion (`reconf_slaves`, `SENTINEL MASTER` still naming the old
   * master), the other replicas not re-pointed yet, until `finishFailover`.
   */
  leaveFinishing = false;
  /** The sentinel finishing a failover from member `from`, and the replicas it has yet to re-point. */
  finishing: { sentinel: number; from: number | undefined; pending: number[] } | undefined;
  /** Replicas that answer but lag behind (a restarted member catching up). */
  lagging = new Set<number>();
  /**
   * Replicas in sync, link up, that report an offset just short of their
   * master's: they have not applied its last writes yet (a controlled
   * failover's catch-up waits for them).
   */
  behind = new Set<number>();
  /** Members whose writes are paused (CLIENT PAUSE). */
  paused = new Set<number>();
  /** The password each pod must be started with (what requirepass would check). */
  writes = 0;
  /**
   * Reconciles (`tickSentinels` calls) a sentinel whose pod was replaced
   * answers without monitoring yet (its script is still starting it). 0:
   * at once.
   */
  sentinelRestartTicks = 0;
  readonly #sentinelUids = new Map<number, string>();
  readonly #sentinelStarting = new Map<number, number>();
  /** Keys CONFIG SET refuses, with Redis's message. */
  readonly refuse = new Map<string, string>();
  /** What INFO memory says the master uses. */
  usedMemoryBytes = 1_000_000;

  constructor(api: RedisWorld, name = "rr") {
    this.api = api;
    this.name = name;
  }

  get r(): RedisReplication {
    return this.api.get("RedisReplication", this.name) as RedisReplication;
  }

  #pod(kind: "member" | "sentinel", id: number): PodLike | undefined {
    const label = kind === "member" ? labels.memberId : labels.sentinelId;
    return (this.api.list("Pod") as PodLike[]).find(
      (p) => p.metadata.labels?.[label] === String(id) && p.status?.podIP,
    );
  }

  #idOf(address: RedisAddress): number | undefined {
    const key = endpoint(address);
    for (const m of this.r.status?.members ?? [])
      if (endpoint(memberAddress(this.r, m.id)) === key) return m.id;
    return undefined;
  }

  #sentinelsUp(): number[] {
    return Array.from({ length: this.r.spec.sentinels }, (_, i) => i).filter((id) =>
      this.#pod("sentinel", id),
    );
  }

  #env(pod: PodLike, name: string): string | undefined {
    const spec = pod.spec as { containers?: { env?: { name: string; value?: string }[] }[] };
    return spec.containers?.[0]?.env?.find((e) => e.name === name)?.value;
  }

  /** Starts (as its script would) every member whose pod runs a new process, stops those gone. */
  #settle(): void {
    const up = this.#sentinelsUp();
    if (this.sentinel.master === undefined && up.length > 0) {
      const first = this.#pod("sentinel", up[0] ?? 0);
      const hint = first && this.#env(first, "MASTER_HINT");
      this.sentinel.master = (this.r.status?.members ?? []).find(
        (m) => memberHost(this.r, m.id) === hint,
      )?.id;
    }
    for (const m of this.r.status?.members ?? []) {
      const pod = this.#pod("member", m.id);
      const p = this.processes.get(m.id);
      if (!pod) {
        if (p) {
          this.volumes.set(m.id, persistent(this.r) ? p.offset : 0);
          this.processes.delete(m.id);
        }
        continue;
      }
      if (p && p.uid === pod.metadata.uid) continue;
      const hintHost = this.#env(pod, "MASTER_HINT");
      const hint = (this.r.status?.members ?? []).find(
        (o) => memberHost(this.r, o.id) === hintHost,
      )?.id;
      const named = up.length > 0 ? this.sentinel.master : undefined;
      const master = named ?? hint;
      const offset = this.volumes.get(m.id) ?? 0;
      if (master === m.id) {
        // As the script: a minority of sentinels, or (named by them) others holding data: wait.
        const othersHoldData = [...this.processes].some(([id, q]) => id !== m.id && q.offset > 0);
        if (named !== undefined && up.length < majority(this.r.spec.sentinels)) continue;
        if (named !== undefined && othersHoldData) continue;
        this.processes.set(m.id, {
          uid: pod.metadata.uid ?? "",
          role: "master",
          offset,
          config: this.#fileConfig(),
        });
      } else {
        this.processes.set(m.id, {
          uid: pod.metadata.uid ?? "",
          role: "replica",
          ...(master === undefined ? {} : { following: master }),
          offset,
          config: this.#fileConfig(),
        });
      }
    }
  }

  /** The dynamic settings a redis-server started now reads from the ConfigMap. */
  #fileConfig(): Record<string, string> {
    const cm = this.api.get("ConfigMap", `${this.name}-config`) as
      | { data?: Record<string, string> }
      | undefined;
    const out: Record<string, string> = {};
    for (const line of (cm?.data?.["redis.conf"] ?? "").split("\n")) {
      const [k, ...v] = line.split(" ");
      if (k) out[k] = v.join(" ");
    }
    return out;
  }

  /** One reconcile passed for the sentinels still starting. */
  tickSentinels(): void {
    for (const [id, n] of this.#sentinelStarting) this.#sentinelStarting.set(id, n - 1);
  }

  /** Sentinels that would not answer as monitoring now: no running pod, or replaced and still starting. */
  sentinelsNotMonitoring(): number[] {
    return Array.from({ length: this.r.spec.sentinels }, (_, i) => i).filter(
      (id) =>
        !this.#pod("sentinel", id) ||
        this.sentinelsStarting ||
        (this.#sentinelStarting.get(id) ?? 0) > 0,
    );
  }

  /** What member `id` has live for `key`, undefined when it does not run. */
  liveConfig(id: number, key: string): string | undefined {
    return this.#up(id)?.config[key];
  }

  #up(id: number): Process | undefined {
    this.#settle();
    return this.crashed.has(id) ? undefined : this.processes.get(id);
  }

  /** Whether replica `id` is linked to a running master. */
  #linked(p: Process): boolean {
    if (p.role !== "replica" || p.following === undefined) return false;
    return this.#up(p.following)?.role === "master";
  }

  #offset(id: number): number {
    const p = this.#up(id);
    if (!p) return 0;
    if (p.role === "master") return p.offset;
    if (this.#linked(p) && !this.lagging.has(id) && p.following !== undefined)
      p.offset = this.#up(p.following)?.offset ?? p.offset;
    return p.offset;
  }

  /** A client writes to the master (its offset moves on, replicas follow). */
  write(): void {
    const master = [...this.processes].find(
      ([id, p]) => p.role === "master" && !this.crashed.has(id),
    );
    if (master && !this.paused.has(master[0])) master[1].offset += 10;
    for (const [id] of this.processes) this.#offset(id);
    this.writes++;
  }

  /** Members that say they are master. */
  masters(): number[] {
    this.#settle();
    return [...this.processes]
      .filter(([id, p]) => p.role === "master" && !this.crashed.has(id))
      .map(([id]) => id);
  }

  /** The sentinels find their master down and promote the replica with the highest offset. */
  sentinelsFailOver(): number | undefined {
    this.#settle();
    const candidate = [...this.processes]
      .filter(
        ([id, p]) => p.role === "replica" && !this.crashed.has(id) && id !== this.sentinel.master,
      )
      .sort(([a], [b]) => this.#offset(b) - this.#offset(a) || a - b)[0];
    if (!candidate) return undefined;
    const [to, p] = candidate;
    const old = this.sentinel.master;
    p.role = "master";
    delete p.following;
    for (const [id, q] of this.processes)
      if (id !== to && id !== old && q.role === "replica") q.following = to;
    this.sentinel = { master: to, epoch: this.sentinel.epoch + 1 };
    return to;
  }

  async report(m: MemberAddress): Promise<MemberReport> {
    // Reads while writes are paused are a controlled failover's catch-up checks: recorded.
    if (this.paused.size > 0) this.api.record({ verb: "redis", command: "info", id: m.id });
    const p = this.#up(m.id);
    if (!p)
      return {
        id: m.id,
        reachable: false,
        role: "unknown",
        error: { reason: "unreachable", message: "down" },
      };
    const common = {
      id: m.id,
      reachable: true as const,
      offset: this.#offset(m.id) - (p.role === "replica" && this.behind.has(m.id) ? 10 : 0),
      replicationId: "r",
      loading: false,
    };
    if (p.role === "master") {
      const replicas = [...this.processes]
        .filter(([id, q]) => q.role === "replica" && q.following === m.id && this.#up(id))
        .map(([id]) => ({
          address: memberAddress(this.r, id),
          state: "online",
          offset: this.#offset(id),
          lagSeconds: 0,
        }));
      return { ...common, role: "master", replicas };
    }
    const following =
      p.following === undefined ? { host: "none", port: 6379 } : memberAddress(this.r, p.following);
    return {
      ...common,
      role: "replica",
      following,
      masterLinkStatus: this.#linked(p) && !this.lagging.has(m.id) ? "up" : "down",
      syncInProgress: false,
      priority: 100,
    };
  }

  async sentinelReport(s: SentinelAddress): Promise<SentinelReport> {
    this.#settle();
    if (!this.#pod("sentinel", s.id) || this.sentinelsStarting)
      return {
        id: s.id,
        reachable: false,
        monitoring: false,
        error: { reason: "unreachable", message: "down" },
      };
    const uid = this.#pod("sentinel", s.id)?.metadata.uid ?? "";
    const seen = this.#sentinelUids.get(s.id);
    if (seen !== undefined && seen !== uid && this.sentinelRestartTicks > 0)
      this.#sentinelStarting.set(s.id, this.sentinelRestartTicks);
    this.#sentinelUids.set(s.id, uid);
    if ((this.#sentinelStarting.get(s.id) ?? 0) > 0)
      return { id: s.id, reachable: true, monitoring: false };
    const master = this.sentinel.master;
    if (master === undefined) return { id: s.id, reachable: true, monitoring: false };
    const down = !this.#up(master);
    for (const [id, q] of this.processes)
      if (this.#linked(q) && q.following === master) this.known.add(id);
    const replicas = [...this.processes]
      .filter(
        ([id, q]) =>
          q.role === "replica" && q.following === master && this.#up(id) && this.known.has(id),
      )
      .map(([id, q]) => ({
        address: memberAddress(this.r, id),
        flags: ["slave"],
        down: false,
        masterLinkOk: this.#linked(q),
        offset: this.#offset(id),
        priority: 100,
      }));
    const sentinels = this.#sentinelsUp()
      .filter((id) => id !== s.id)
      .map((id) => ({
        address: sentinelAddress(this.r, id),
        runId: `s${id}`,
        flags: ["sentinel"],
        down: false,
      }));
    const f = this.finishing;
    if (f?.sentinel === s.id && f.from !== undefined) {
      // Its SENTINEL MASTER still names the old master; the promoted replica is flagged.
      return {
        id: s.id,
        reachable: true,
        monitoring: true,
        master: memberAddress(this.r, f.from),
        flags: ["master", "failover_in_progress"],
        subjectivelyDown: false,
        objectivelyDown: false,
        failoverInProgress: true,
        failoverState: "reconf_slaves",
        configEpoch: this.sentinel.epoch,
        quorum: majority(this.r.spec.sentinels),
        replicas: [master, ...f.pending].map((id) => ({
          address: memberAddress(this.r, id),
          flags: id === master ? ["slave", "promoted"] : ["slave"],
          down: false,
          masterLinkOk: true,
          offset: this.#offset(id),
          priority: 100,
        })),
        sentinels,
      };
    }
    return {
      id: s.id,
      reachable: true,
      monitoring: true,
      master: memberAddress(this.r, master),
      flags: down ? ["s_down", "o_down", "master"] : ["master"],
      subjectivelyDown: down,
      objectivelyDown: down,
      failoverInProgress: false,
      configEpoch: this.sentinel.epoch,
      quorum: majority(this.r.spec.sentinels),
      replicas,
      sentinels,
    };
  }

  /** The finishing sentinel re-points the replicas it had left and ends its failover. */
  finishFailover(): void {
    const f = this.finishing;
    if (!f) return;
    const to = this.sentinel.master;
    for (const id of f.pending) {
      const q = this.processes.get(id);
      if (q?.role === "replica" && to !== undefined) q.following = to;
    }
    this.finishing = undefined;
  }

  async replicaOf(m: MemberAddress, master: RedisAddress | "no one"): Promise<void> {
    const to = master === "no one" ? "no one" : this.#idOf(master);
    this.api.record({
      verb: "redis",
      command: "replicaof",
      id: m.id,
      ...(to === undefined ? {} : { to }),
    });
    const p = this.#up(m.id);
    if (!p) throw new Error(`member ${m.id} is down`);
    if (to === "no one") {
      p.role = "master";
      delete p.following;
    } else if (to !== undefined) {
      p.role = "replica";
      p.following = to;
    }
  }

  async configSet(m: MemberAddress, key: string): Promise<void> {
    this.api.record({ verb: "redis", command: `config set ${key}`, id: m.id });
  }

  async configSetAll(m: MemberAddress, settings: readonly (readonly [string, string])[]) {
    this.api.record({
      verb: "redis",
      command: `config set ${settings.map(([k, v]) => `${k}=${v}`).join(" ")}`,
      id: m.id,
    });
    const p = this.#up(m.id);
    if (!p) throw new RedisPortError("unreachable", `member ${m.id}`, "down");
    const refused = settings.find(([k]) => this.refuse.has(k));
    if (refused)
      throw new RedisPortError("error", `member ${m.id}`, this.refuse.get(refused[0]) ?? "ERR");
    for (const [k, v] of settings) p.config[k] = v;
  }

  async configGet(m: MemberAddress, keys: readonly string[]): Promise<Record<string, string>> {
    const p = this.#up(m.id);
    if (!p) throw new RedisPortError("unreachable", `member ${m.id}`, "down");
    const defaults: Record<string, string> = { maxmemory: "0", "maxmemory-policy": "noeviction" };
    return Object.fromEntries(
      keys.flatMap((k) => {
        const v = p.config[k] ?? defaults[k];
        return v === undefined ? [] : [[k, v]];
      }),
    );
  }

  async usedMemory(m: MemberAddress): Promise<number> {
    if (!this.#up(m.id)) throw new RedisPortError("unreachable", `member ${m.id}`, "down");
    return this.usedMemoryBytes;
  }

  async pauseWrites(m: MemberAddress): Promise<void> {
    this.api.record({ verb: "redis", command: "pause", id: m.id });
    this.paused.add(m.id);
  }

  async resumeWrites(m: MemberAddress): Promise<void> {
    this.api.record({ verb: "redis", command: "unpause", id: m.id });
    this.paused.delete(m.id);
  }

  async waitForReplicas(m: MemberAddress, replicas: number): Promise<ReplicaAcknowledgement> {
    this.api.record({ verb: "redis", command: "wait replicas", id: m.id });
    const offset = this.#offset(m.id);
    const acknowledged = [...this.processes].filter(
      ([id, p]) =>
        p.following === m.id &&
        this.#linked(p) &&
        !this.behind.has(id) &&
        this.#offset(id) >= offset,
    ).length;
    return { offset, acknowledged: Math.min(replicas, acknowledged) };
  }

  /** Event subscriptions standing, by sentinel id; `publish` calls them. */
  readonly subscriptions = new Map<number, (channel: string, message: string) => void>();

  async subscribe(
    s: SentinelAddress,
    channels: readonly string[],
    onEvent: (channel: string, message: string) => void,
  ): Promise<SentinelSubscription> {
    let end = () => {};
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const listen = (channel: string, message: string) => {
      if (channels.includes(channel)) onEvent(channel, message);
    };
    this.subscriptions.set(s.id, listen);
    return {
      ended,
      close: () => {
        if (this.subscriptions.get(s.id) === listen) this.subscriptions.delete(s.id);
        end();
      },
    };
  }

  /** A sentinel event, delivered to every subscription. */
  publish(channel: string, message = ""): void {
    for (const listen of this.subscriptions.values()) listen(channel, message);
  }

  async sentinelFailover(s: SentinelAddress): Promise<void> {
    const old = this.sentinel.master;
    this.#settle();
    const candidate = [...this.processes]
      .filter(
        ([id, p]) =>
          id !== old &&
          p.role === "replica" &&
          // A forced failover of a master that is gone takes any replica that answers.
          (old === undefined || !this.#up(old) || this.#linked(p)) &&
          !this.crashed.has(id),
      )
      .sort(([a], [b]) => this.#offset(b) - this.#offset(a) || a - b)[0];
    this.api.record({
      verb: "redis",
      command: "sentinel failover",
      id: s.id,
      ...(candidate ? { to: candidate[0] } : {}),
    });
    if (!candidate) throw new Error("NOGOODSLAVE");
    const [to, p] = candidate;
    p.role = "master";
    delete p.following;
    this.sentinel = { master: to, epoch: this.sentinel.epoch + 1 };
    const others = [...this.processes]
      .filter(([id, q]) => id !== to && q.role === "replica")
      .map(([id]) => id);
    if (this.leaveFinishing) {
      this.finishing = { sentinel: s.id, from: old, pending: others };
      return;
    }
    // Sentinel re-points the other replicas; the old master stays master until it is demoted.
    for (const id of others) {
      const q = this.processes.get(id);
      if (q) q.following = to;
    }
  }

  async sentinelMonitor(
    s: SentinelAddress,
    _name: string,
    master: RedisAddress,
    _settings: MonitorSettings,
  ) {
    const to = this.#idOf(master);
    this.api.record({
      verb: "redis",
      command: "sentinel monitor",
      id: s.id,
      ...(to === undefined ? {} : { to }),
    });
    this.sentinel.master = to;
  }

  async sentinelReset(s: SentinelAddress): Promise<void> {
    this.api.record({ verb: "redis", command: "sentinel reset", id: s.id });
  }
}

export function redisWorld(): RedisWorld {
  return new RedisWorld();
}

/** One reconcile of the real pipeline, from what the fake API server holds, as a fresh operator would. */
export async function reconcileOnce(
  api: RedisWorld,
  redis: FakeRedis,
  options: { name?: string; now?: () => Date } = {},
) {
  const ctx = api.controllerContext<RedisReplication>(options.name ?? "rr");
  return reconcileReplication(
    new ReplicationScope(structuredClone(ctx.object as RedisReplication), ctx, {
      redis: () => redis,
      busyRequeueMs: 1,
      catchUpMs: 30,
      ...(options.now ? { now: options.now } : {}),
    }),
  );
}

export function replicationObject(
  spec: Partial<RedisReplication["spec"]> = {},
): RedisReplication & Stored {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "RedisReplication",
    metadata: { name: "rr", namespace: "ns", uid: "rr-uid", generation: 1 },
    spec: {
      version: "7.0.15",
      replicas: 2,
      sentinels: 3,
      persistence: { mode: "aof", storage: { size: "1Gi" } },
      minReplicasToWrite: 0,
      minReplicasMaxLag: 10,
      ...spec,
    },
  } as RedisReplication & Stored;
}
