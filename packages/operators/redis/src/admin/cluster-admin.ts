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
   * connection and AUTH per command would be most of its time). Stops at
   * the first failure (returned with the slots moved before it) or once
   * `deadline` (epoch ms) has passed between two slots.
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
    const moved: SlotMoveResult[] = [];
    try {
      for (const move of moves) {
        if (options.deadline !== undefined && Date.now() > options.deadline) break;
        moved.push(await this.#move(move, options.batch ?? 1000, session));
      }
    } catch (err) {
      if (!(err instanceof RedisPortError)) throw err;
      return { moved, failure: this.#sessions.failure(err) };
    } finally {
      for (const s of open.values()) s.then((x) => x.close()).catch(() => {});
    }
    return { moved };
  }

  async #move(
    move: SlotMove,
    batch: number,
    session: (m: ClusterMemberAddress) => Promise<Session>,
  ): Promise<SlotMoveResult> {
    const { slot, from, to } = move;
    const s = String(slot);
    const src = await session(from.address);
    const dst = await session(to.address);
    let keys = 0;
    // 1.
    const importing = await dst.do("CLUSTER SETSLOT IMPORTING", async (c) => {
      try {
        await c.call("CLUSTER", "SETSLOT", s, "IMPORTING", from.nodeId);
        return true;
      } catch (err) {
        if (/already the owner/i.test(errorText(err))) return false;
        throw err;
      }
    });
    // 2.
    const migrating =
      importing &&
      (await src.do("CLUSTER SETSLOT MIGRATING", async (c) => {
        try {
          await c.call("CLUSTER", "SETSLOT", s, "MIGRATING", to.nodeId);
          return true;
        } catch (err) {
          if (/not the owner/i.test(errorText(err))) return false;
          throw err;
        }
      }));
    if (importing && !migrating) {
      // Neither end owns the slot: the move was planned from a view that is
      // out of date. Undo the mark, so the target does not claim a slot a
      // third node holds keys of, and let the next reconcile plan again.
      await dst.do("CLUSTER SETSLOT STABLE", (c) => c.call("CLUSTER", "SETSLOT", s, "STABLE"));
      throw new RedisPortError(
        "error",
        endpoint(from.address),
        `slot ${slot} is not owned by node ${from.address.id}: not moved, planned again`,
      );
    }
    // 3.
    if (migrating) {
      const timeout = String(this.#options.migrateTimeoutMs ?? 5000);
      const auth = this.#options.password ? ["AUTH", this.#options.password] : [];
      await src.do("MIGRATE", async (c) => {
        for (;;) {
          const found = (await c.call("CLUSTER", "GETKEYSINSLOT", s, String(batch))) as string[];
          if (found.length === 0) return;
          await c.call(
            "MIGRATE",
            to.ip,
            String(to.port),
            "",
            "0",
            timeout,
            "REPLACE",
            ...auth,
            "KEYS",
            ...found,
          );
          keys += found.length;
        }
      });
    }
    // 4.
    await dst.do("CLUSTER SETSLOT NODE", (c) => c.call("CLUSTER", "SETSLOT", s, "NODE", to.nodeId));
    await src.do("CLUSTER SETSLOT NODE", (c) => c.call("CLUSTER", "SETSLOT", s, "NODE", to.nodeId));
    await Promise.all(
      move.others.map(async (o) => {
        try {
          const other = await session(o);
          await other.do("CLUSTER SETSLOT NODE", (c) =>
            c.call("CLUSTER", "SETSLOT", s, "NODE", to.nodeId),
          );
        } catch {
          // A master that misses it learns the owner by gossip (higher epoch) within a ping or two.
        }
      }),
    );
    return { keys };
  }
}
