/**
 * The real Redis Cluster port, on npm `ioredis`, one short-lived
 * connection per call (`session.ts`).
 *
 * `moveSlot` is the one long command. Its steps, each safe to repeat, so
 * an operator killed at any line finishes the same slot when it comes back
 * (the marks it left are in the nodes' `CLUSTER NODES`):
 * 1. the target: `SETSLOT slot IMPORTING <source>` — refused with "already
 *    the owner" once the move was completed there: go to 4;
 * 2. the source: `SETSLOT slot MIGRATING <target>` — refused with "not the
 *    owner" once the source let the slot go: go to 4;
 * 3. the source: `CLUSTER GETKEYSINSLOT slot batch` then `MIGRATE ip port
 *    "" 0 timeout REPLACE AUTH … KEYS …`, until the slot is empty. While
 *    the slot is MIGRATING a key still on the source is served there and a
 *    missing one is sent to the target (ASK), so the source's copy of a
 *    key is always the newest and REPLACE cannot overwrite a newer write.
 *    MIGRATE is atomic per call: a key is on one side or the other;
 * 4. `SETSLOT slot NODE <target>` on the target first (it then serves the
 *    slot without ASKING), then the source (Redis refuses it while the
 *    source still holds keys of the slot: the last guard against losing
 *    them), then every other master, so none has to wait for gossip.
 *
 * `moveSlots` takes consecutive slots between the same two nodes in
 * rounds: each step is one pipeline for the whole round, sent once the
 * step before it has been answered for every slot of the round. The order
 * above holds for each slot; what is saved is the round trips.
 */
import type { Redis } from "ioredis";
import { parseClusterNodes } from "./_cluster-parse.ts";
import { parseInfo } from "./_parse.ts";
import type {
  ClusterMemberAddress,
  ClusterNodeAnswer,
  RedisClusterPort,
  SlotMove,
  SlotMoveResult,
  SlotMovesOutcome,
} from "./cluster-port.ts";
import { endpoint, RedisPortError } from "./port.ts";
import {
  errorText,
  type Session,
  type SessionOptions,
  Sessions,
  type SessionTarget,
} from "./session.ts";

export interface RedisClusterAdminOptions extends SessionOptions {
  password: string;
  /** How long one `MIGRATE` may take, ms. @default 5000 */
  migrateTimeoutMs?: number;
  /** `moveSlots`: at most how many slots between the same two nodes take each step together. @default 64 */
  slotsPerRound?: number;
  /** `moveSlots`: at most how many keys those slots hold together (one slot with more goes alone). @default 10000 */
  keysPerRound?: number;
}

export class RedisClusterAdmin implements RedisClusterPort {
  readonly #options: RedisClusterAdminOptions;
  readonly #sessions: Sessions;

  constructor(options: RedisClusterAdminOptions) {
    this.#options = options;
    this.#sessions = new Sessions([options.password], options);
  }

  #target(m: ClusterMemberAddress): SessionTarget {
    return { address: m, password: this.#options.password, what: `node ${m.id}` };
  }

  #run<T>(m: ClusterMemberAddress, command: string, work: (c: Redis) => Promise<T>): Promise<T> {
    return this.#sessions.run(this.#target(m), command, work);
  }

  async node(member: ClusterMemberAddress): Promise<ClusterNodeAnswer> {
    try {
      return await this.#run(member, "CLUSTER NODES", async (c) => {
        const [nodes, info, repl, myId, keys] = await Promise.all([
          c.call("CLUSTER", "NODES"),
          c.call("CLUSTER", "INFO"),
          c.call("INFO", "replication", "persistence", "memory"),
          c.call("CLUSTER", "MYID"),
          c.call("DBSIZE"),
        ]);
        const ci = parseInfo(String(info));
        const ri = parseInfo(String(repl));
        const role = ri.get("role") === "slave" ? "replica" : "master";
        return {
          id: member.id,
          reachable: true as const,
          nodeId: String(myId),
          stateOk: ci.get("cluster_state") === "ok",
          knownNodes: Number(ci.get("cluster_known_nodes") ?? 0),
          slotsAssigned: Number(ci.get("cluster_slots_assigned") ?? 0),
          currentEpoch: Number(ci.get("cluster_current_epoch") ?? 0),
          nodes: parseClusterNodes(String(nodes)),
          role,
          offset: Number(
            (role === "master" ? ri.get("master_repl_offset") : ri.get("slave_repl_offset")) ?? 0,
          ),
          masterLinkUp: ri.get("master_link_status") === "up",
          loading: ri.get("loading") === "1",
          keys: Number(keys),
          usedMemory: Number(ri.get("used_memory") ?? 0),
        };
      });
    } catch (err) {
      return { id: member.id, reachable: false, error: this.#sessions.failure(err) };
    }
  }

  async meet(member: ClusterMemberAddress, ip: string, port: number): Promise<void> {
    await this.#run(member, "CLUSTER MEET", (c) => c.call("CLUSTER", "MEET", ip, String(port)));
  }

  async addSlots(
    member: ClusterMemberAddress,
    ranges: readonly (readonly [number, number])[],
  ): Promise<void> {
    const args = ranges.flatMap(([a, b]) => [String(a), String(b)]);
    await this.#run(member, "CLUSTER ADDSLOTSRANGE", (c) =>
      c.call("CLUSTER", "ADDSLOTSRANGE", ...args),
    );
  }

  async replicate(member: ClusterMemberAddress, masterNodeId: string): Promise<void> {
    await this.#run(member, "CLUSTER REPLICATE", (c) =>
      c.call("CLUSTER", "REPLICATE", masterNodeId),
    );
  }

  async failover(member: ClusterMemberAddress): Promise<void> {
    await this.#run(member, "CLUSTER FAILOVER", (c) => c.call("CLUSTER", "FAILOVER"));
  }

  async forget(member: ClusterMemberAddress, nodeId: string): Promise<void> {
    await this.#run(member, "CLUSTER FORGET", async (c) => {
      try {
        await c.call("CLUSTER", "FORGET", nodeId);
      } catch (err) {
        // Already forgotten (or never known): what FORGET was for.
        if (!/unknown node/i.test(errorText(err))) throw err;
      }
    });
  }

  async moveSlot(move: SlotMove, options: { batch?: number } = {}): Promise<SlotMoveResult> {
    const { moved, failure } = await this.moveSlots([move], options);
    if (failure)
      throw new RedisPortError(failure.reason, endpoint(move.from.address), failure.message);
    return moved[0] ?? { keys: 0 };
  }

  /**
   * `moveSlot` for each of `moves` in order, over one connection per node
   * kept for the whole call (a reshard moves thousands of slots; a
   * connection and AUTH per command would be most of its time).
   *
   * Consecutive moves between the same two nodes go in rounds of up to
   * `slotsPerRound` slots holding up to `keysPerRound` keys together (a
   * slot with more goes alone, as before): each step of the module comment is sent
   * for every slot of the round in one pipeline, so a round costs a step's
   * round trip, not one per slot (a slot holds a dozen keys in a cluster
   * of a few million: the round trips, not the keys, were the time). Each
   * slot still goes through the steps in their order, each step waiting
   * for the one before it; a slot that fails a step is left where that
   * step found it (resumable, as after a kill) and takes no further step,
   * while the other slots of its round finish theirs. Stops after the
   * round holding the first failure (returned, with every slot moved
   * before it and in its round) or once `deadline` (epoch ms) has passed
   * between two rounds.
   */
  async moveSlots(
    moves: readonly SlotMove[],
    options: { batch?: number; deadline?: number } = {},
  ): Promise<SlotMovesOutcome> {
    const open = new Map<string, Promise<Session>>();
    const session = (m: ClusterMemberAddress) => {
      const key = endpoint(m);
      let s = open.get(key);
      if (!s) {
        s = this.#sessions.open(this.#target(m), "CLUSTER SETSLOT");
        // A connection that failed is not kept: the next call tries again.
        s.catch(() => open.delete(key));
        open.set(key, s);
      }
      return s;
    };
    const perRound = Math.max(1, this.#options.slotsPerRound ?? 64);
    const batch = options.batch ?? 1000;
    const keysPerRound = Math.max(1, this.#options.keysPerRound ?? 10_000);
    const moved: SlotMoveResult[] = [];
    try {
      for (let i = 0; i < moves.length; ) {
        if (options.deadline !== undefined && Date.now() > options.deadline) break;
        const round = await this.#fit(nextRound(moves, i, perRound), keysPerRound, session);
        i += round.length;
        const { done, failure } = await this.#round(round, batch, session);
        moved.push(...done);
        if (failure) return { moved, failure: this.#sessions.failure(failure) };
      }
    } catch (err) {
      if (!(err instanceof RedisPortError)) throw err;
      return { moved, failure: this.#sessions.failure(err) };
    } finally {
      for (const s of open.values()) s.then((x) => x.close()).catch(() => {});
    }
    return { moved };
  }

  /**
   * The first of `candidates` and as many after it as keep the round's
   * keys (`CLUSTER COUNTKEYSINSLOT` on the source) within `limit`, so a
   * round's time, by which `deadline` can be overshot, stays bounded
   * (~0.1 s for the default here) however large the slots.
   */
  async #fit(
    candidates: readonly SlotMove[],
    limit: number,
    session: (m: ClusterMemberAddress) => Promise<Session>,
  ): Promise<readonly SlotMove[]> {
    const first = candidates[0];
    if (!first || candidates.length === 1) return candidates;
    const counts = await pipeline(
      await session(first.from.address),
      "CLUSTER COUNTKEYSINSLOT",
      candidates.map((m) => ["CLUSTER", "COUNTKEYSINSLOT", String(m.slot)]),
    );
    let keys = 0;
    let n = 0;
    for (const a of counts) {
      // An unanswered count ends the round there; the slot leads the next one.
      keys += a.ok ? Number(a.value) : limit + 1;
      if (n > 0 && keys > limit) break;
      n++;
    }
    return candidates.slice(0, n);
  }

  /** The steps of the module comment for a round of slots, all between the same two nodes. */
  async #round(
    round: readonly SlotMove[],
    batch: number,
    session: (m: ClusterMemberAddress) => Promise<Session>,
  ): Promise<{ done: SlotMoveResult[]; failure?: RedisPortError }> {
    const first = round[0];
    if (!first) return { done: [] };
    const { from, to } = first;
    const src = await session(from.address);
    const dst = await session(to.address);
    const slots = round.map((m) => ({
      slot: m.slot,
      s: String(m.slot),
      keys: 0,
      found: [] as string[],
    }));
    type Slot = (typeof slots)[number];
    const failed = new Map<Slot, RedisPortError>();
    // 1.
    const imported = await pipeline(
      dst,
      "CLUSTER SETSLOT IMPORTING",
      slots.map((x) => ["CLUSTER", "SETSLOT", x.s, "IMPORTING", from.nodeId]),
    );
    const migrating: Slot[] = [];
    const assign: Slot[] = [];
    slots.forEach((x, j) => {
      const r = imported[j];
      if (r?.ok) migrating.push(x);
      else if (r && /already the owner/i.test(r.text)) assign.push(x);
      else if (r) failed.set(x, r.error);
    });
    // 2., and each slot's first `GETKEYSINSLOT` behind its MIGRATING (ignored when that was refused).
    const marked = await pipeline(
      src,
      "CLUSTER SETSLOT MIGRATING",
      migrating.flatMap((x) => [
        ["CLUSTER", "SETSLOT", x.s, "MIGRATING", to.nodeId],
        ["CLUSTER", "GETKEYSINSLOT", x.s, String(batch)],
      ]),
    );
    const stale: Slot[] = [];
    let pending: Slot[] = [];
    migrating.forEach((x, j) => {
      const r = marked[2 * j];
      const keys = marked[2 * j + 1];
      if (!r) return;
      if (!r.ok) {
        if (/not the owner/i.test(r.text)) stale.push(x);
        else failed.set(x, r.error);
      } else if (keys?.ok) {
        x.found = keys.value as string[];
        pending.push(x);
      } else if (keys) failed.set(x, keys.error);
    });
    if (stale.length > 0) {
      // Neither end owns the slot: the move was planned from a view that is
      // out of date. Undo the mark, so the target does not claim a slot a
      // third node holds keys of, and let the next reconcile plan again.
      await pipeline(
        dst,
        "CLUSTER SETSLOT STABLE",
        stale.map((x) => ["CLUSTER", "SETSLOT", x.s, "STABLE"]),
      );
      for (const x of stale)
        failed.set(
          x,
          new RedisPortError(
            "error",
            endpoint(from.address),
            `slot ${x.slot} is not owned by node ${from.address.id}: not moved, planned again`,
          ),
        );
    }
    // 3. MIGRATE each slot's keys found, and look again behind it, until
    // every slot is empty; one pipeline carries at most `batch` keys, so it
    // costs the source what one MIGRATE of `batch` keys does.
    const timeout = String(this.#options.migrateTimeoutMs ?? 5000);
    const auth = this.#options.password ? ["AUTH", this.#options.password] : [];
    for (;;) {
      for (const x of pending) if (x.found.length === 0) assign.push(x);
      pending = pending.filter((x) => x.found.length > 0);
      if (pending.length === 0) break;
      const now: Slot[] = [];
      let carried = 0;
      for (const x of pending) {
        if (now.length > 0 && carried + x.found.length > batch) break;
        now.push(x);
        carried += x.found.length;
      }
      const answers = await pipeline(
        src,
        "MIGRATE",
        now.flatMap((x) => [
          [
            "MIGRATE",
            to.ip,
            String(to.port),
            "",
            "0",
            timeout,
            "REPLACE",
            ...auth,
            "KEYS",
            ...x.found,
          ],
          ["CLUSTER", "GETKEYSINSLOT", x.s, String(batch)],
        ]),
      );
      now.forEach((x, j) => {
        const sent = answers[2 * j];
        const left = answers[2 * j + 1];
        // MIGRATE is atomic: had it failed, no key of this call moved.
        if (sent?.ok) x.keys += x.found.length;
        if (sent?.ok && left?.ok) {
          x.found = left.value as string[];
          return;
        }
        x.found = [];
        const why = sent && !sent.ok ? sent.error : left && !left.ok ? left.error : undefined;
        failed.set(x, why ?? new RedisPortError("error", endpoint(from.address), "no reply"));
      });
      pending = pending.filter((x) => !failed.has(x));
    }
    // 4. The target first, then the source, then every other master.
    const assigned = new Set(assign);
    const toAssign = slots.filter((x) => assigned.has(x));
    const onTarget = await pipeline(
      dst,
      "CLUSTER SETSLOT NODE",
      toAssign.map((x) => ["CLUSTER", "SETSLOT", x.s, "NODE", to.nodeId]),
    );
    const targetOwns = toAssign.filter((x, j) => keep(onTarget[j], x, failed));
    const onSource = await pipeline(
      src,
      "CLUSTER SETSLOT NODE",
      targetOwns.map((x) => ["CLUSTER", "SETSLOT", x.s, "NODE", to.nodeId]),
    );
    // A source that has just lost its last slot turns itself into a replica
    // of the target once the target's claim reaches it by gossip, and then
    // refuses SETSLOT (Redis issue #9223; redis-cli accepts it too). Its
    // slots were found empty before the target took them: moved, once the
    // source confirms whom it follows now.
    const demoted = onSource.some((a) => !a.ok && /only with masters/i.test(a.text))
      ? await src.do("CLUSTER NODES", async (c) => {
          const self = parseClusterNodes(String(await c.call("CLUSTER", "NODES"))).find(
            (l) => l.myself,
          );
          return self?.replicaOf === to.nodeId;
        })
      : false;
    const done = targetOwns.filter((x, j) => {
      const a = onSource[j];
      if (demoted && a && !a.ok && /only with masters/i.test(a.text)) return true;
      return keep(a, x, failed);
    });
    await Promise.all(
      first.others.map(async (o) => {
        try {
          await pipeline(
            await session(o),
            "CLUSTER SETSLOT NODE",
            done.map((x) => ["CLUSTER", "SETSLOT", x.s, "NODE", to.nodeId]),
          );
        } catch {
          // A master that misses it learns the owner by gossip (higher epoch) within a ping or two.
        }
      }),
    );
    const failure = slots.map((x) => failed.get(x)).find((e) => e !== undefined);
    return {
      done: done.map((x) => ({ keys: x.keys })),
      ...(failure ? { failure } : {}),
    };
  }
}

/** `moves[i]` and the moves after it between the same two nodes, each slot once, at most `limit`. */
function nextRound(moves: readonly SlotMove[], i: number, limit: number): SlotMove[] {
  const head = moves[i];
  if (!head) return [];
  const pair = (m: SlotMove) =>
    [
      endpoint(m.from.address),
      m.from.nodeId,
      endpoint(m.to.address),
      m.to.nodeId,
      m.to.ip,
      m.to.port,
      ...m.others.map(endpoint),
    ].join(" ");
  const key = pair(head);
  const out = [head];
  const seen = new Set([head.slot]);
  for (let j = i + 1; j < moves.length && out.length < limit; j++) {
    const m = moves[j];
    if (!m || seen.has(m.slot) || pair(m) !== key) break;
    out.push(m);
    seen.add(m.slot);
  }
  return out;
}

type Answer = { ok: true; value: unknown } | { ok: false; error: RedisPortError; text: string };

/**
 * `commands` in one write on `session`, each answered on its own: an error
 * reply is an answer (as a RedisPortError, redacted), not a throw. Nothing
 * sent for an empty list.
 */
async function pipeline(
  session: Session,
  what: string,
  commands: readonly (readonly string[])[],
): Promise<Answer[]> {
  if (commands.length === 0) return [];
  const replies = await session.do(what, async (c) => {
    const p = c.pipeline();
    for (const [name = "", ...args] of commands) p.call(name, ...args);
    return (await p.exec()) ?? [];
  });
  return Promise.all(
    commands.map(async (_, j): Promise<Answer> => {
      const [err, value] = replies[j] ?? [new Error(`${what}: no reply`), undefined];
      if (!err) return { ok: true, value };
      // Through `do`, so the error is classified and its secrets redacted as any other.
      const error = await session.do(what, () => Promise.reject(err)).catch((e: unknown) => e);
      return {
        ok: false,
        error:
          error instanceof RedisPortError ? error : new RedisPortError("error", "", String(error)),
        text: errorText(err),
      };
    }),
  );
}

/** Whether `answer` succeeded; records its failure for `x` when not. */
function keep<T>(answer: Answer | undefined, x: T, failed: Map<T, RedisPortError>): boolean {
  if (answer?.ok) return true;
  if (answer) failed.set(x, answer.error);
  return false;
}
