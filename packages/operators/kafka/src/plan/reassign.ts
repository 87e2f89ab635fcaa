/**
 * Where partitions go when brokers are added or removed.
 *
 * Kafka never moves data by itself: a new broker stays empty and a broker
 * about to be removed still holds its replicas until someone reassigns them.
 * This module computes that reassignment as plain data. Moving a replica
 * copies a whole log across the network, so the plan copies as little as it
 * can. The numbered steps:
 *
 * 1. Keep every replica that sits on a target broker.
 * 2. Give each target broker a share, ⌊R/B⌋ or ⌈R/B⌉ replicas (R replicas,
 *    B brokers); the ⌈R/B⌉ shares go to the brokers that hold the most, since
 *    that keeps the most replicas in place. Brokers over their share give up
 *    the surplus, preferring replicas that some broker with room can take,
 *    that a broker on the same rack can take, whose rack is doubled in their
 *    partition, of partitions that have lost no other replica, and that are
 *    not the preferred leader — in that order.
 * 3. Place each homeless replica on a broker with room that does not host the
 *    partition yet, preferring a rack the partition does not use. When every
 *    broker with room already hosts it, a full broker that does not takes it
 *    and hands one of its own replicas on to a broker with room — such a
 *    broker always exists (see `swap`). Then replicas being copied anyway
 *    change destination where that spreads a partition over more racks
 *    without adding a copy (see `spreadRacks`).
 * 4. Balance preferred leaders (the first replica) within one per broker
 *    where the replica placement allows it, keeping current leaders where it
 *    can.
 *
 * Guarantees (property-tested on generated clusters): every replica ends on
 * a target broker; each partition keeps its replication factor with distinct
 * replicas; replica counts per broker differ by at most one; a balanced
 * cluster gets no moves, and neither does a plan's own result; the plan does
 * not depend on input order.
 *
 * Best effort (checked against exhaustive search on small clusters, not
 * proven): the fewest copies a balanced placement allows — usually just the
 * replicas of removed brokers and the surplus above the shares, but a broker
 * at its share sometimes has to trade a replica for one only it can take;
 * no partition over fewer racks than before when the fewest copies allow
 * that; preferred leaders within one per broker when the placement allows.
 *
 * Steps 2 and 3 run twice when racks are given, once weighing racks and once
 * by load alone, and the plan with fewer copies wins (then more racks):
 * copies cost more than rack spread.
 */

import type { NodeId } from "./state.ts";

export interface Assignment {
  topic: string;
  partition: number;
  /** The preferred leader first. */
  replicas: readonly NodeId[];
}

export interface Move {
  topic: string;
  partition: number;
  from: readonly NodeId[];
  to: readonly NodeId[];
}

export interface ReassignmentOptions {
  /** `broker.rack` per broker; brokers missing here have no rack. */
  racks?: ReadonlyMap<NodeId, string>;
}

export class ReassignmentError extends Error {
  override name = "ReassignmentError";
}

/**
 * Topics whose replication factor exceeds the number of target brokers: a
 * scale-down to `brokers` would leave them nowhere to keep every replica, so
 * the controller refuses it and says which topics are in the way.
 */
export function scaleDownBlockers(
  current: readonly Assignment[],
  brokers: readonly NodeId[],
): { topic: string; replicationFactor: number }[] {
  const target = new Set(brokers).size;
  const worst = new Map<string, number>();
  for (const a of current) {
    const rf = new Set(a.replicas).size;
    if (rf > target && rf > (worst.get(a.topic) ?? 0)) worst.set(a.topic, rf);
  }
  return [...worst]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([topic, replicationFactor]) => ({ topic, replicationFactor }));
}

/** `current` with `moves` applied; partitions without a move are unchanged. */
export function applyMoves(current: readonly Assignment[], moves: readonly Move[]): Assignment[] {
  const byKey = new Map(moves.map((m) => [key(m), m]));
  return current.map((a) => {
    const move = byKey.get(key(a));
    return move ? { topic: a.topic, partition: a.partition, replicas: [...move.to] } : a;
  });
}

/**
 * Moves that put every replica on `brokers` (the target set: brokers being
 * removed are simply absent) and balance the cluster. Throws
 * `ReassignmentError` if some topic has more replicas than there are brokers.
 */
export function planReassignment(
  current: readonly Assignment[],
  brokers: readonly NodeId[],
  options: ReassignmentOptions = {},
): Move[] {
  const blockers = scaleDownBlockers(current, brokers);
  const first = blockers[0];
  if (first) {
    const target = new Set(brokers).size;
    throw new ReassignmentError(
      `topic ${first.topic} has replication factor ${first.replicationFactor} but only ` +
        `${target} broker${target === 1 ? "" : "s"} would remain` +
        (blockers.length > 1 ? ` (and ${blockers.length - 1} more topics)` : "") +
        "; lower its replication factor or keep more brokers",
    );
  }
  const attempt = (racksFirst: boolean) => {
    const plan = new Plan(current, brokers, options.racks, racksFirst);
    plan.shedSurplus();
    plan.placeHomeless();
    plan.spreadRacks();
    return plan;
  };
  // Weighing racks while placing usually spreads partitions best, but an
  // early choice for a rack can force a later extra copy; then the plan that
  // placed by load alone (and only traded for racks afterwards) wins.
  let plan = attempt(true);
  if (options.racks) {
    const byLoad = attempt(false);
    if (
      compareTuples(
        [byLoad.copies(), -byLoad.totalDiversity()],
        [plan.copies(), -plan.totalDiversity()],
      ) < 0
    ) {
      plan = byLoad;
    }
  }
  plan.balanceLeaders();
  return plan.moves();
}

interface Part {
  topic: string;
  partition: number;
  from: readonly NodeId[];
  /** The replica list being built; -1 marks a slot waiting for a broker. */
  slots: NodeId[];
}

/**
 * The working state of one planning run. A class only to share the indexes
 * between the steps; it never escapes `planReassignment`.
 */
class Plan {
  readonly parts: Part[];
  readonly brokers: NodeId[];
  readonly racks: ReadonlyMap<NodeId, string> | undefined;
  /** Partition indexes hosted by each target broker. */
  readonly hosts = new Map<NodeId, Set<number>>();
  /** Of those, the ones being copied there. */
  readonly fresh = new Map<NodeId, Set<number>>();
  /** Partition indexes each broker held before the plan. */
  readonly origin = new Map<NodeId, number[]>();
  /** Every broker ends with `floor` replicas, and `extra` of them with one more. */
  readonly floor: number;
  readonly extra: number;
  /** How many brokers hold more than `floor` right now. */
  above = 0;

  /** Whether steps 2 and 3 weigh racks, or leave them to the trades that follow. */
  readonly racksFirst: boolean;

  constructor(
    current: readonly Assignment[],
    brokers: readonly NodeId[],
    racks: ReadonlyMap<NodeId, string> | undefined,
    racksFirst: boolean,
  ) {
    this.racks = racks;
    this.racksFirst = racksFirst && racks !== undefined;
    this.brokers = [...new Set(brokers)].sort((a, b) => a - b);
    for (const b of this.brokers) {
      this.hosts.set(b, new Set());
      this.fresh.set(b, new Set());
      this.origin.set(b, []);
    }
    this.parts = [...current]
      .sort((a, b) => compareStrings(a.topic, b.topic) || a.partition - b.partition)
      .map((a) => ({ topic: a.topic, partition: a.partition, from: a.replicas, slots: [] }));
    let total = 0;
    this.parts.forEach((part, i) => {
      const seen = new Set<NodeId>();
      for (const b of part.from) {
        if (seen.has(b)) continue;
        seen.add(b);
        const host = this.hosts.get(b);
        if (host) host.add(i);
        this.origin.get(b)?.push(i);
        part.slots.push(host ? b : -1);
      }
      total += part.slots.length;
    });
    const count = Math.max(this.brokers.length, 1);
    this.floor = Math.floor(total / count);
    this.extra = total % count;
    this.above = this.brokers.filter((b) => this.count(b) > this.floor).length;
  }

  count(b: NodeId): number {
    return this.hosts.get(b)?.size ?? 0;
  }

  /** A broker at `floor` has room only while fewer than `extra` brokers hold one more. */
  hasRoom(b: NodeId): boolean {
    const c = this.count(b);
    return c < this.floor || (c === this.floor && this.above < this.extra);
  }

  rackOf(b: NodeId): string | undefined {
    return this.racks?.get(b);
  }

  /** Whether `b` would add a rack partition `i` does not use yet (ignoring slot `except`). */
  newRack(i: number, b: NodeId, except: NodeId = -1): boolean {
    const rack = this.rackOf(b);
    if (rack === undefined) return this.racks !== undefined;
    return !this.parts[i]?.slots.some((s) => s !== except && s !== -1 && this.rackOf(s) === rack);
  }

  /** Step 2: brokers over their share give up the surplus. */
  shedSurplus(): void {
    const byLoad = [...this.brokers].sort((a, b) => this.count(b) - this.count(a) || a - b);
    const loaded = byLoad.filter((b) => this.count(b) > this.floor);
    const withExtra = new Set(loaded.slice(0, this.extra));
    // Who will have room once the surplus is gone, to shed replicas that can land somewhere.
    const roomy = this.brokers.filter(
      (b) =>
        this.count(b) < this.floor || (this.count(b) === this.floor && loaded.length < this.extra),
    );
    for (const b of this.brokers) {
      const quota = this.floor + (withExtra.has(b) ? 1 : 0);
      const surplus = this.count(b) - quota;
      if (surplus <= 0) continue;
      const hosted = [...(this.hosts.get(b) ?? [])];
      const score = (i: number): number[] => {
        const part = this.parts[i];
        const takers = roomy.filter((r) => r !== b && !this.hosts.get(r)?.has(i));
        const homeless = part?.slots.filter((s) => s === -1).length ?? 0;
        const keepsRack = this.racksFirst && takers.some((r) => this.newRack(i, r, b));
        return [
          // Enough brokers with room for this and the partition's other homeless replicas?
          takers.length > homeless ? 0 : 1,
          keepsRack ? 0 : 1,
          this.racksFirst && !this.newRack(i, b, b) ? 0 : 1,
          // Spread the homeless over partitions: one that lost a replica already has fewer racks to keep.
          homeless,
          part?.slots[0] === b ? 1 : 0,
          -i,
        ];
      };
      const scores = new Map(hosted.map((i) => [i, score(i)]));
      hosted.sort((x, y) => compareTuples(scores.get(x) ?? [], scores.get(y) ?? []));
      for (const i of hosted.slice(0, surplus)) this.remove(i, b);
    }
  }

  remove(i: number, b: NodeId): void {
    const part = this.parts[i];
    if (!part) return;
    if (this.count(b) === this.floor + 1) this.above--;
    part.slots[part.slots.indexOf(b)] = -1;
    this.hosts.get(b)?.delete(i);
    this.fresh.get(b)?.delete(i);
  }

  put(i: number, slot: number, b: NodeId): void {
    const part = this.parts[i];
    if (!part) return;
    if (this.count(b) === this.floor) this.above++;
    part.slots[slot] = b;
    this.hosts.get(b)?.add(i);
    if (!part.from.includes(b)) this.fresh.get(b)?.add(i);
  }

  /** Step 3: every empty slot gets a broker, most constrained partitions first. */
  placeHomeless(): void {
    const order = this.parts
      .map((part, i) => ({ i, kept: part.slots.filter((s) => s !== -1).length }))
      .filter(({ i, kept }) => kept < (this.parts[i]?.slots.length ?? 0))
      .sort((a, b) => b.kept - a.kept || a.i - b.i);
    for (const { i } of order) {
      const part = this.parts[i];
      if (!part) continue;
      for (let slot = 0; slot < part.slots.length; slot++) {
        if (part.slots[slot] !== -1) continue;
        const direct = this.brokers.filter((b) => this.hasRoom(b) && !this.hosts.get(b)?.has(i));
        const best = minBy(direct, (b) => [
          this.racksFirst && this.newRack(i, b) ? 0 : 1,
          this.count(b) < this.floor ? 0 : 1,
          this.count(b),
          b,
        ]);
        if (best !== undefined) this.put(i, slot, best);
        else this.swap(i, slot);
      }
    }
  }

  /**
   * Every broker with room already hosts partition P, so a broker Y that does
   * not host P takes it and hands one of its own replicas, Q, to a broker X
   * with room that does not host Q. Such a Q exists for any such X and Y: if
   * X held everything Y holds, plus P, then Y would hold fewer than X and so
   * have room itself, and would have taken P directly. We prefer a Q that is
   * itself new on Y, since re-routing a replica that is moving anyway costs
   * no extra copy.
   */
  swap(i: number, slot: number): void {
    const best = this.bestSwap(i, true) ?? this.bestSwap(i, false);
    if (!best) {
      // Unreachable by the argument above; failing loudly beats a silent imbalance.
      throw new ReassignmentError(`no broker can take a replica of partition index ${i}`);
    }
    const qPart = this.parts[best.q];
    if (!qPart) return;
    const qSlot = qPart.slots.indexOf(best.y);
    this.remove(best.q, best.y);
    this.put(best.q, qSlot, best.x);
    this.put(i, slot, best.y);
  }

  /** The best (Y, Q, X) for `swap`, among replicas Q new on Y first (`freshOnly`), then among all. */
  bestSwap(i: number, freshOnly: boolean): { x: NodeId; y: NodeId; q: number } | undefined {
    let best: { score: number[]; x: NodeId; y: NodeId; q: number } | undefined;
    const roomy = this.brokers.filter((b) => this.hasRoom(b));
    for (const y of this.brokers) {
      if (this.hosts.get(y)?.has(i)) continue;
      for (const q of (freshOnly ? this.fresh : this.hosts).get(y) ?? []) {
        for (const x of roomy) {
          if (this.hosts.get(x)?.has(q)) continue;
          const rackKept =
            !this.racksFirst || this.newRack(q, x, y) || this.rackOf(x) === this.rackOf(y);
          const score = [
            this.racksFirst && this.newRack(i, y) ? 0 : 1,
            rackKept ? 0 : 1,
            this.count(x),
            y,
            q,
            x,
          ];
          if (!best || compareTuples(score, best.score) < 0) best = { score, x, y, q };
        }
      }
    }
    return best;
  }

  /**
   * Step 3 again, for racks: placing partitions one at a time can give a rack
   * away to a partition that did not need it. A replica that is being copied
   * anyway may change destination for free, so a new replica on a doubled
   * rack moves to a broker on a rack its partition lacks (see `respread`),
   * as long as that adds no copy overall. First for partitions spread over
   * fewer racks than before the plan, which may take a rack from a partition
   * that has more than it had before; then for any partition, taking from
   * none. Each change raises a bounded count (racks restored in the first
   * pass, racks in total in the second), so both passes end.
   */
  spreadRacks(): void {
    if (!this.racks) return;
    const available = this.diversity(this.brokers);
    const before = this.parts.map((part) => Math.min(this.diversity(part.from), available));
    this.tradeRacks(
      (i) => this.diversity(this.parts[i]?.slots ?? []) < (before[i] ?? 0),
      (q) => Math.min(this.diversity(this.parts[q]?.slots ?? []), before[q] ?? 0),
    );
    this.tradeRacks(
      () => true,
      (q) => this.diversity(this.parts[q]?.slots ?? []),
    );
  }

  /**
   * Distinct racks among `brokers` (with `swapOut` read as `swapIn`); a
   * broker without a rack counts as one of its own. Quadratic, but over one
   * partition's few replicas, and it allocates nothing — it runs in the
   * innermost loop of the rack trades.
   */
  diversity(brokers: readonly NodeId[], swapOut: NodeId = -2, swapIn: NodeId = -2): number {
    let distinct = 0;
    for (let i = 0; i < brokers.length; i++) {
      const b = brokers[i] === swapOut ? swapIn : (brokers[i] ?? -1);
      if (b === -1) continue;
      const rack = this.rackOf(b);
      let seen = false;
      for (let j = 0; j < i && rack !== undefined && !seen; j++) {
        const c = brokers[j] === swapOut ? swapIn : (brokers[j] ?? -1);
        seen = c !== -1 && this.rackOf(c) === rack;
      }
      if (!seen) distinct++;
    }
    return distinct;
  }

  tradeRacks(wants: (i: number) => boolean, keeps: (q: number) => number): void {
    // Whether a trade partner exists on `b` for a replica on `a` does not
    // depend on which partition asks, only on the state, which changes only
    // when a trade succeeds: remembering dead ends until then turns the many
    // hopeless searches of a large cluster into lookups.
    const deadEnds = new Set<string>();
    for (let improved = true; improved; ) {
      improved = false;
      this.parts.forEach((part, i) => {
        for (const a of [...part.slots]) {
          if (!wants(i) || part.from.includes(a) || this.newRack(i, a, a)) continue;
          if (this.respread(i, a, keeps, deadEnds)) {
            improved = true;
            deadEnds.clear();
          }
        }
      });
    }
  }

  /**
   * Gives partition `i`'s new replica on broker `a`, whose rack it doubles, a
   * rack it lacks, by moving it to a broker `b` on such a rack. Counts must
   * stay balanced, so unless `a` holds more than `b`, some partition Q comes
   * back to `a`: from `b` itself (a trade), or — when `b` is at `floor` —
   * from a broker at `floor + 1`, which moves that broker's extra replica to
   * `b`. Q must keep `keeps(q)` racks.
   */
  respread(i: number, a: NodeId, keeps: (q: number) => number, deadEnds: Set<string>): boolean {
    const part = this.parts[i];
    if (!part) return false;
    const slot = part.slots.indexOf(a);
    for (const b of this.brokers) {
      if (this.hosts.get(b)?.has(i) || !this.newRack(i, b, a)) continue;
      if (this.count(a) > this.count(b)) {
        this.remove(i, a);
        this.put(i, slot, b);
        return true;
      }
      const home = part.from.includes(b);
      const sources = this.brokers.filter(
        (d) =>
          d === b || (d !== a && this.count(b) === this.floor && this.count(d) === this.floor + 1),
      );
      for (const d of sources) {
        const q = this.tradePartner(a, d, home, keeps, deadEnds);
        if (q === undefined) continue;
        const other = this.parts[q];
        const otherSlot = other?.slots.indexOf(d) ?? -1;
        this.remove(i, a);
        this.remove(q, d);
        this.put(i, slot, b);
        this.put(q, otherSlot, a);
        return true;
      }
    }
    return false;
  }

  /**
   * A partition on `d` that may move to `a` without adding a copy (the other
   * replica's move saves one if it goes `home`) or dropping below `keeps`.
   * Whether one exists does not depend on who asks, so a miss is remembered.
   */
  tradePartner(
    a: NodeId,
    d: NodeId,
    home: boolean,
    keeps: (q: number) => number,
    deadEnds: Set<string>,
  ): number | undefined {
    const key = `${a},${d},${home}`;
    if (deadEnds.has(key)) return undefined;
    for (const q of this.tradeCandidates(a, d, home)) {
      const other = this.parts[q];
      if (!other || this.hosts.get(a)?.has(q)) continue;
      const extraCopies =
        Number(!home) - 1 + Number(!other.from.includes(a)) - Number(!other.from.includes(d));
      if (extraCopies > 0) continue;
      if (this.diversity(other.slots, d, a) < keeps(q)) continue;
      return q;
    }
    deadEnds.add(key);
    return undefined;
  }

  /**
   * Partitions on `b` that could take `a` without a net copy: any of them if
   * the replica moving to `b` goes home, else those being copied to `b`
   * anyway or that came from `a`. (Scanning every partition on `b` instead is
   * what made large clusters slow.) Set order is insertion order, which this
   * deterministic plan fixes, so no sort is needed for a stable result.
   */
  *tradeCandidates(a: NodeId, b: NodeId, home: boolean): Generator<number> {
    const onB = this.hosts.get(b);
    if (!onB) return;
    if (home) {
      yield* onB;
      return;
    }
    const fresh = this.fresh.get(b);
    if (fresh) yield* fresh;
    for (const q of this.origin.get(a) ?? []) {
      if (onB.has(q) && !fresh?.has(q)) yield q;
    }
  }

  /**
   * Step 4: each broker should lead ⌊P/B⌋ or ⌈P/B⌉ partitions. Current
   * leaders are kept up to ⌈P/B⌉; the rest are matched by augmenting paths
   * (a broker may take over leadership only of a partition it hosts). A
   * placement can make perfect balance impossible — a broker may simply host
   * too few partitions — and then the result is as even as the search finds.
   */
  balanceLeaders(): void {
    const n = this.parts.filter((part) => part.slots.length > 0).length;
    const b = this.brokers.length;
    if (n === 0 || b === 0) return;
    const low = Math.floor(n / b);
    const high = Math.ceil(n / b);
    const leader: NodeId[] = this.parts.map(() => -1);
    const led = new Map<NodeId, number>(this.brokers.map((id) => [id, 0]));
    const lead = (i: number, id: NodeId) => {
      const old = leader[i] ?? -1;
      if (old !== -1) led.set(old, (led.get(old) ?? 0) - 1);
      leader[i] = id;
      led.set(id, (led.get(id) ?? 0) + 1);
    };
    this.parts.forEach((part, i) => {
      const preferred = part.slots[0] ?? -1;
      if (part.from[0] === preferred && (led.get(preferred) ?? 0) < high) lead(i, preferred);
    });
    // Partitions whose preferred leader left, or whose leader has too many.
    this.parts.forEach((part, i) => {
      if (leader[i] !== -1 || part.slots.length === 0) return;
      const path = this.leaderPath(i, leader, (id) => (led.get(id) ?? 0) < high);
      if (path) for (const [p, id] of path) lead(p, id);
      else lead(i, minBy(part.slots, (id) => [led.get(id) ?? 0, id]) ?? -1);
    });
    // Raise brokers below ⌊P/B⌋ by taking leadership from ones above it.
    for (const id of this.brokers) {
      while ((led.get(id) ?? 0) < low) {
        const path = this.donorPath(id, leader, (donor) => (led.get(donor) ?? 0) > low);
        if (!path) break;
        for (const [p, to] of path) lead(p, to);
      }
    }
    this.parts.forEach((part, i) => {
      const id = leader[i] ?? -1;
      const at = part.slots.indexOf(id);
      if (at > 0) part.slots = [id, ...part.slots.filter((s) => s !== id)];
    });
  }

  /**
   * An alternating path that gives partition `start` a leader: it takes a
   * broker that `accepts` another, or one that hands one of its partitions on
   * along the path. Breadth-first, so the fewest leaders change.
   */
  leaderPath(
    start: number,
    leader: readonly NodeId[],
    accepts: (id: NodeId) => boolean,
  ): [number, NodeId][] | undefined {
    const via = new Map<NodeId, [number, NodeId | undefined]>();
    let frontier: [number, NodeId | undefined][] = [[start, undefined]];
    while (frontier.length > 0) {
      const next: [number, NodeId | undefined][] = [];
      for (const [p, cameFrom] of frontier) {
        for (const id of [...(this.parts[p]?.slots ?? [])].sort((a, c) => a - c)) {
          if (via.has(id) || leader[p] === id) continue;
          via.set(id, [p, cameFrom]);
          if (accepts(id)) return unwind(via, id);
          for (const q of this.hosts.get(id) ?? []) {
            if (leader[q] === id) next.push([q, id]);
          }
        }
      }
      frontier = next.sort((a, c) => a[0] - c[0]);
    }
    return undefined;
  }

  /** A path along which `taker` gains one leadership and some broker that `gives` loses one. */
  donorPath(
    taker: NodeId,
    leader: readonly NodeId[],
    gives: (id: NodeId) => boolean,
  ): [number, NodeId][] | undefined {
    // Search backwards: which partitions could `taker` lead, and who leads them now.
    const via = new Map<NodeId, [number, NodeId]>();
    const seen = new Set<NodeId>([taker]);
    let frontier: NodeId[] = [taker];
    while (frontier.length > 0) {
      const next: NodeId[] = [];
      for (const to of frontier) {
        for (const p of [...(this.hosts.get(to) ?? [])].sort((a, c) => a - c)) {
          const current = leader[p] ?? -1;
          if (current === -1 || seen.has(current)) continue;
          seen.add(current);
          via.set(current, [p, to]);
          if (gives(current)) {
            const path: [number, NodeId][] = [];
            let at: NodeId = current;
            for (let step = via.get(at); step; step = via.get(at)) {
              path.push(step);
              if (step[1] === taker) break;
              at = step[1];
            }
            return path;
          }
          next.push(current);
        }
      }
      frontier = next;
    }
    return undefined;
  }

  copies(): number {
    return this.parts.reduce(
      (n, part) => n + part.slots.filter((b) => !part.from.includes(b)).length,
      0,
    );
  }

  totalDiversity(): number {
    return this.parts.reduce((n, part) => n + this.diversity(part.slots), 0);
  }

  moves(): Move[] {
    const moves: Move[] = [];
    for (const part of this.parts) {
      if (sameList(part.from, part.slots)) continue;
      moves.push({ topic: part.topic, partition: part.partition, from: part.from, to: part.slots });
    }
    return moves;
  }
}

/** Turns the breadth-first trail into (partition, new leader) steps. */
function unwind(
  via: ReadonlyMap<NodeId, [number, NodeId | undefined]>,
  end: NodeId,
): [number, NodeId][] {
  const path: [number, NodeId][] = [];
  let at: NodeId | undefined = end;
  while (at !== undefined) {
    const step = via.get(at);
    if (!step) break;
    path.push([step[0], at]);
    at = step[1];
  }
  return path;
}

function key(a: { topic: string; partition: number }): string {
  return `${a.topic}\u0000${a.partition}`;
}

function sameList(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function minBy<T>(items: readonly T[], score: (item: T) => number[]): T | undefined {
  let best: T | undefined;
  let bestScore: number[] = [];
  for (const item of items) {
    const s = score(item);
    if (best === undefined || compareTuples(s, bestScore) < 0) {
      best = item;
      bestScore = s;
    }
  }
  return best;
}

function compareTuples(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
