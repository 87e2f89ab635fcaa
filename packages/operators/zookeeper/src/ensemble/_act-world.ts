/**
 * A fake world for act-layer tests of the ZooKeeperEnsemble pipeline: an
 * API server holding objects by kind and name and logging every write in
 * order, a kubelet that starts pods when told, and a ZooKeeper that forms
 * a quorum from the member pods that run and carries out reconfigs. The
 * pipeline under test is the real one (`reconcileEnsemble`); only its two
 * ports are fake, so a test can hold a restarted member out of sync and
 * see what the roll does meanwhile.
 */
import {
  type ControllerContext,
  createLogger,
  KubeApiError,
  type KubeClient,
  type KubeObject,
} from "@ballast/runtime";
import type { PodLike } from "@ballast/stateful";
import type {
  MemberAddress,
  MemberReport,
  ReconfigChange,
  ReconfigOutcome,
  ZooKeeperPort,
} from "../admin/port.ts";
import type { ZooKeeperEnsemble } from "../api.ts";
import { majority } from "../plan/state.ts";
import { labels } from "../resources.ts";
import { reconcileEnsemble } from "./controller.ts";
import { EnsembleScope } from "./scope.ts";

type Stored = KubeObject & Record<string, unknown>;

/** One write the pipeline made, or one reconfig it asked for, in order. */
export type Write =
  | { op: "status"; operation: unknown }
  | { op: "create" | "apply" | "delete"; kind: string; name: string }
  | { op: "reconfig"; change: ReconfigChange; leader: number | undefined };

/** Thrown by a write the test chose to kill the operator before. */
export class Killed extends Error {
  override name = "Killed";
}

function refusal(code: number, reason: string, kind: string, name: string): KubeApiError {
  return new KubeApiError({ code, reason, message: `${kind} ${name}: ${reason}` }, code, {
    kind,
    name,
  });
}

export class FakeApiServer {
  readonly store = new Map<string, Stored>();
  readonly writes: Write[] = [];
  /** The operator dies right before the first write this matches (then it is cleared). */
  dieBefore: ((w: Write) => boolean) | undefined;
  #uids = 0;

  log(w: Write): void {
    if (this.dieBefore?.(w)) {
      this.dieBefore = undefined;
      throw new Killed(`killed before ${JSON.stringify(w)}`);
    }
    this.writes.push(w);
  }

  find(kind: string, name: string): Stored | undefined {
    return this.store.get(`${kind}/${name}`);
  }

  list(kind: string): Stored[] {
    return [...this.store.values()].filter((o) => o.kind === kind);
  }

  save(o: Stored): void {
    this.store.set(`${o.kind}/${o.metadata.name}`, o);
  }

  /** The subset of KubeClient the pipeline uses; anything else is a test failure. */
  client(): KubeClient {
    const api = this;
    return {
      async get(_t: unknown, ref: { name: string }) {
        const found = api.find("ZooKeeperEnsemble", ref.name);
        if (!found) throw refusal(404, "NotFound", "ZooKeeperEnsemble", ref.name);
        return structuredClone(found);
      },
      async create(o: Stored) {
        const name = o.metadata.name ?? "";
        if (api.find(o.kind ?? "", name)) throw refusal(409, "AlreadyExists", o.kind ?? "", name);
        api.log({ op: "create", kind: o.kind ?? "", name });
        const stored = structuredClone(o);
        stored.metadata.uid = `uid-${++api.#uids}`;
        api.save(stored);
        return stored;
      },
      async apply(o: Stored) {
        api.log({ op: "apply", kind: o.kind ?? "", name: o.metadata.name ?? "" });
        api.save(structuredClone(o));
        return o;
      },
      async applyStatus(o: Stored & { status: { operation?: unknown } }) {
        api.log({ op: "status", operation: structuredClone(o.status.operation) });
        const held = api.find("ZooKeeperEnsemble", o.metadata.name ?? "");
        if (held) held.status = structuredClone(o.status);
        return o;
      },
      async delete(
        t: { kind: string },
        ref: { name: string },
        opts: { preconditions?: { uid?: string } } = {},
      ) {
        const held = api.find(t.kind, ref.name);
        if (!held) throw refusal(404, "NotFound", t.kind, ref.name);
        if (opts.preconditions?.uid && opts.preconditions.uid !== held.metadata.uid)
          throw refusal(409, "Conflict", t.kind, ref.name);
        api.log({ op: "delete", kind: t.kind, name: ref.name });
        api.store.delete(`${t.kind}/${ref.name}`);
        return {};
      },
      async patchStatus(
        t: { kind: string },
        ref: { name: string },
        body: { status: { conditions: { type: string }[] } },
      ) {
        const pod = api.find(t.kind, ref.name) as PodLike | undefined;
        if (!pod) throw refusal(404, "NotFound", t.kind, ref.name);
        const kept = (pod.status?.conditions ?? []).filter(
          (c) => !body.status.conditions.some((n) => n.type === c.type),
        );
        pod.status = {
          ...pod.status,
          conditions: [...kept, ...(body.status.conditions as never[])],
        };
        return pod;
      },
    } as unknown as KubeClient;
  }

  /** The kubelet: every pod not yet started gets an IP and Ready containers. */
  startPods(): void {
    for (const pod of this.list("Pod") as PodLike[]) {
      if (pod.status?.podIP) continue;
      const id = Number(pod.metadata.labels?.[labels.memberId]);
      pod.status = {
        podIP: `10.0.0.${id}`,
        conditions: [
          { type: "ContainersReady", status: "True" },
          { type: "Ready", status: "True" },
        ],
      };
    }
  }

  /** Pod and claim deletions, in order, as `Pod/zk-2`. */
  deletions(kind?: string): string[] {
    return this.writes.flatMap((w) =>
      w.op === "delete" && (!kind || w.kind === kind) ? [`${w.kind}/${w.name}`] : [],
    );
  }
}

/**
 * A ZooKeeper ensemble made of the member pods that run: voters with a
 * running pod form a quorum when they are a majority; the leader stays
 * the leader while it runs; reconfigs change the voters at once.
 */
export class FakeZooKeeper implements ZooKeeperPort {
  voters: number[];
  leader: number | undefined;
  /** Members that run but are not yet synced with the leader (a restarted member catching up). */
  syncing = new Set<number>();
  /** Members whose process is down although their pod runs. */
  crashed = new Set<number>();
  readonly api: FakeApiServer;

  constructor(api: FakeApiServer, voters: number[]) {
    this.api = api;
    this.voters = voters;
  }

  #running(id: number): boolean {
    if (this.crashed.has(id)) return false;
    return this.api
      .list("Pod")
      .some(
        (p) => (p as PodLike).status?.podIP && p.metadata.labels?.[labels.memberId] === String(id),
      );
  }

  #elect(): number | undefined {
    const up = this.voters.filter((id) => this.#running(id));
    if (up.length < majority(this.voters.length)) this.leader = undefined;
    else if (this.leader === undefined || !up.includes(this.leader)) this.leader = up[0];
    return this.leader;
  }

  async report(m: MemberAddress): Promise<MemberReport> {
    if (!this.#running(m.id))
      return { id: m.id, reachable: false, state: "unknown", broadcast: false };
    const leader = this.#elect();
    if (leader === undefined)
      return { id: m.id, reachable: true, state: "looking", broadcast: false };
    const config = new Map(this.voters.map((id) => [id, "participant" as const]));
    const synced = this.voters.filter(
      (id) => id !== leader && this.#running(id) && !this.syncing.has(id),
    ).length;
    return {
      id: m.id,
      reachable: true,
      state: m.id === leader ? "leader" : "follower",
      broadcast: !this.syncing.has(m.id),
      zxid: "0x100000005",
      config,
      ...(m.id === leader ? { syncedVotingFollowers: synced } : {}),
    };
  }

  async reconfig(_via: MemberAddress, change: ReconfigChange): Promise<ReconfigOutcome> {
    this.api.log({ op: "reconfig", change, leader: this.leader });
    if (this.#elect() === undefined) return { applied: false, detail: "no quorum" };
    if (change.kind === "add" && !this.voters.includes(change.id))
      this.voters = [...this.voters, change.id].sort((a, b) => a - b);
    if (change.kind === "remove") this.voters = this.voters.filter((id) => id !== change.id);
    return { applied: true, voters: [...this.voters], detail: "committed" };
  }
}

/** One reconcile of the real pipeline, from what the fake API server holds, as a fresh operator would. */
export async function reconcileOnce(api: FakeApiServer, zk: FakeZooKeeper, name = "zk") {
  const live = api.find("ZooKeeperEnsemble", name) as ZooKeeperEnsemble | undefined;
  if (!live) throw new Error(`no ZooKeeperEnsemble ${name}`);
  const ctx: ControllerContext<ZooKeeperEnsemble> = {
    object: live,
    client: api.client(),
    signal: new AbortController().signal,
    log: createLogger({ level: "error" }),
    owned: <U extends KubeObject>(type: { kind: string }) =>
      structuredClone(api.list(type.kind)) as unknown as U[],
  };
  return reconcileEnsemble(
    new EnsembleScope(structuredClone(live), ctx, { zookeeper: zk, busyRequeueMs: 1 }),
  );
}

export function ensembleObject(
  spec: Partial<ZooKeeperEnsemble["spec"]> = {},
): ZooKeeperEnsemble & Stored {
  return {
    apiVersion: "ballast.dev/v1alpha1",
    kind: "ZooKeeperEnsemble",
    metadata: { name: "zk", namespace: "ns", uid: "zk-uid", generation: 1 },
    spec: { version: "3.9.5", replicas: 3, storage: { size: "1Gi" }, ...spec },
  };
}
