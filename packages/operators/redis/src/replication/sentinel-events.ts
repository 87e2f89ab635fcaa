/**
 * Sentinel's own events as a source of reconciles: one kept subscription
 * to each sentinel of each set (`RedisPort.subscribe`), and any event
 * that can change what the plans decide queues the set's reconcile at
 * once. Without it the operator learns of a failover's steps only at its
 * next look (250 ms at best while one runs, `busyRequeueMs` otherwise),
 * and the master Service trails Sentinel by that much; Sentinel publishes
 * `+promoted-slave` the moment its promoted replica reports itself master,
 * the point from which `chooseMaster` may move the label (plan/master.ts
 * rule 1).
 *
 * Only a trigger: the reconcile still reads everything afresh and decides
 * from that alone, so a lost event, a broken connection or a sentinel that
 * never answered costs the usual requeue, never a wrong act. Steps:
 *
 * 1. After each reconcile, `follow` the set's sentinels (their pod IPs):
 *    subscribe to each one not subscribed yet, close those no longer
 *    listed (a replaced pod has a new IP). Nothing is sent in steady state:
 *    a set whose subscriptions stand costs no call at all.
 * 2. A subscription that ends (sentinel restarted, connection broken) or
 *    could not be made is dropped; the next reconcile makes it again.
 * 3. `forget` a deleted set; `close` everything when the controller stops.
 */
import {
  endpoint,
  type RedisPort,
  type SentinelAddress,
  type SentinelSubscription,
} from "../admin/port.ts";

/**
 * The channels listened to: the steps of a failover and the changes of a
 * member's or sentinel's state that a plan reads. Not `__sentinel__:hello`
 * (every 2 s from every peer), nor the discovery chatter.
 */
export const wakingEvents = [
  "+sdown",
  "-sdown",
  "+odown",
  "-odown",
  "+promoted-slave",
  "+switch-master",
  "+slave-reconf-done",
  "+failover-end",
  "+failover-end-for-timeout",
  "-failover-abort-not-elected",
  "-failover-abort-no-good-slave",
  "-failover-abort-slave-timeout",
  "+convert-to-slave",
  "-tilt",
] as const;

export interface SetRef {
  namespace: string;
  name: string;
}

interface Held {
  /** Undefined while the subscription is being made. */
  subscription: SentinelSubscription | undefined;
  /** Set once `forget`, `close` or a newer `follow` dropped it: a late subscribe is closed at once. */
  dropped: boolean;
}

export class SentinelEvents {
  readonly #wake: (ref: SetRef) => void;
  readonly #sets = new Map<string, Map<string, Held>>();
  #closed = false;

  /** `wake` queues the set's reconcile (the controller's `enqueue`). */
  constructor(wake: (ref: SetRef) => void) {
    this.#wake = wake;
  }

  /** Step 1: subscriptions to exactly `sentinels`, made through `port`. */
  follow(ref: SetRef, sentinels: readonly SentinelAddress[], port: RedisPort): void {
    if (this.#closed) return;
    const key = `${ref.namespace}/${ref.name}`;
    const held = this.#sets.get(key) ?? new Map<string, Held>();
    this.#sets.set(key, held);
    const wanted = new Map(sentinels.map((s) => [endpoint(s), s]));
    for (const [at, h] of held) {
      if (!wanted.has(at)) drop(held, at, h);
    }
    for (const [at, sentinel] of wanted) {
      if (held.has(at)) continue;
      const h: Held = { subscription: undefined, dropped: false };
      held.set(at, h);
      const wake = () => this.#wake({ namespace: ref.namespace, name: ref.name });
      port.subscribe(sentinel, wakingEvents, wake).then(
        (subscription) => {
          if (h.dropped) return subscription.close();
          h.subscription = subscription;
          // 2.
          void subscription.ended.then(() => {
            if (held.get(at) === h) held.delete(at);
          });
        },
        () => {
          if (held.get(at) === h) held.delete(at);
        },
      );
    }
  }

  /** How many subscriptions a set has, made or being made (for tests and metrics). */
  held(ref: SetRef): number {
    return this.#sets.get(`${ref.namespace}/${ref.name}`)?.size ?? 0;
  }

  /** Step 3: a deleted set. */
  forget(ref: SetRef): void {
    const key = `${ref.namespace}/${ref.name}`;
    const held = this.#sets.get(key);
    if (!held) return;
    for (const [at, h] of held) drop(held, at, h);
    this.#sets.delete(key);
  }

  /** Step 3: the controller stopped; nothing is subscribed again. */
  close(): void {
    this.#closed = true;
    for (const [key, held] of this.#sets) {
      for (const [at, h] of held) drop(held, at, h);
      this.#sets.delete(key);
    }
  }
}

function drop(held: Map<string, Held>, at: string, h: Held): void {
  h.dropped = true;
  h.subscription?.close();
  held.delete(at);
}
