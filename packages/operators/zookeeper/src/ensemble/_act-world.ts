/**
 * A fake world for act-layer tests of the ZooKeeperEnsemble pipeline: the
 * shared fake API server and kubelet (`@ballast/stateful/testing`), and a
 * ZooKeeper that forms a quorum from the member pods that run and carries
 * out reconfigs, recording each in the API server's ordered list of calls,
 * as a superuser check the way a server makes it (the password's digest
 * against the one the serving member's pod was started with). The
 * pipeline under test is the real one (`reconcileEnsemble`); only its two
 * ports are fake, so a test can hold a restarted member out of sync and
 * see what the roll does meanwhile.
 */
import type { PodLike } from "@ballast/stateful";
import { FakeKubernetes, type Stored } from "@ballast/stateful/testing";
import { superDigest } from "../admin/digest.ts";
import type {
  MemberAddress,
  MemberReport,
  ReconfigChange,
  ReconfigOutcome,
  SuperUser,
  ZooKeeperPort,
} from "../admin/port.ts";
import type { ZooKeeperEnsemble } from "../api.ts";
import { majority } from "../plan/state.ts";
import { labels } from "../resources.ts";
import { reconcileEnsemble } from "./controller.ts";
import { EnsembleScope } from "./scope.ts";

/** A reconfig the pipeline asked for, recorded beside the API server's writes, in the same list. */
export type ReconfigCall = { verb: "reconfig"; change: ReconfigChange; leader: number | undefined };

export type ZooKeeperWorld = FakeKubernetes<ReconfigCall>;

/** The shared fake API server, holding ZooKeeperEnsembles and their pods by member id. */
export function zooKeeperWorld(): ZooKeeperWorld {
  return new FakeKubernetes<ReconfigCall>({
    ownerKind: "ZooKeeperEnsemble",
    memberLabel: labels.memberId,
  });
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
  readonly api: ZooKeeperWorld;

  constructor(api: ZooKeeperWorld, voters: number[]) {
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

  async reconfig(
    via: MemberAddress,
    change: ReconfigChange,
    _readBack: readonly MemberAddress[],
    superUser: SuperUser,
  ): Promise<ReconfigOutcome> {
    this.api.record({ verb: "reconfig", change, leader: this.leader });
    const started = this.api.get("Pod", via.pod.name) as PodLike | undefined;
    const env = (started?.spec as { containers?: { env?: { name: string; value?: string }[] }[] })
      ?.containers?.[0]?.env;
    const digest = env?.find((v) => v.name === "ZK_SUPER_DIGEST")?.value;
    if (digest !== superDigest(superUser.password))
      return { applied: false, voters: [...this.voters], detail: "Insufficient permission" };
    if (this.#elect() === undefined) return { applied: false, detail: "no quorum" };
    if (change.kind === "add" && !this.voters.includes(change.id))
      this.voters = [...this.voters, change.id].sort((a, b) => a - b);
    if (change.kind === "remove") this.voters = this.voters.filter((id) => id !== change.id);
    return { applied: true, voters: [...this.voters], detail: "committed" };
  }
}

/** One reconcile of the real pipeline, from what the fake API server holds, as a fresh operator would. */
export async function reconcileOnce(api: ZooKeeperWorld, zk: FakeZooKeeper, name = "zk") {
  const ctx = api.controllerContext<ZooKeeperEnsemble>(name);
  return reconcileEnsemble(
    new EnsembleScope(structuredClone(ctx.object as ZooKeeperEnsemble), ctx, {
      zookeeper: zk,
      busyRequeueMs: 1,
    }),
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
