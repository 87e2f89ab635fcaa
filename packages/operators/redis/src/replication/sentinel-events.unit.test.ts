import assert from "node:assert/strict";
import { test } from "node:test";
import type { RedisPort, SentinelAddress, SentinelSubscription } from "../admin/port.ts";
import { RedisPortError } from "../admin/port.ts";
import { SentinelEvents, type SetRef, wakingEvents } from "./sentinel-events.ts";

/** A port whose only working call is `subscribe`; each subscription can publish and be ended. */
function fakePort(refuse: ReadonlySet<string> = new Set()) {
  const open = new Map<string, { publish: (channel: string) => void; end: () => void }>();
  let made = 0;
  const port = {
    async subscribe(
      s: SentinelAddress,
      channels: readonly string[],
      onEvent: (channel: string, message: string) => void,
    ): Promise<SentinelSubscription> {
      made++;
      const at = `${s.host}:${s.port}`;
      if (refuse.has(at)) throw new RedisPortError("unreachable", at, `refused at ${at}`);
      let end = () => {};
      const ended = new Promise<void>((resolve) => {
        end = resolve;
      });
      const done = () => {
        if (open.get(at)?.end === done) open.delete(at);
        end();
      };
      open.set(at, {
        publish: (channel) => {
          if (channels.includes(channel)) onEvent(channel, "master rr 10.0.0.9 6379");
        },
        end: done,
      });
      return { ended, close: done };
    },
  } as unknown as RedisPort;
  return { port, open, made: () => made };
}

const sentinel = (id: number, ip: string): SentinelAddress => ({ id, host: ip, port: 26379 });
const ref: SetRef = { namespace: "ns", name: "rr" };
const tick = () => new Promise((r) => setImmediate(r));

test("SentinelEvents subscribes once to each sentinel of a set, and each event that changes a plan wakes the set", async () => {
  const woken: SetRef[] = [];
  const events = new SentinelEvents((r) => woken.push(r));
  const { port, open, made } = fakePort();
  const three = [sentinel(0, "10.0.0.1"), sentinel(1, "10.0.0.2"), sentinel(2, "10.0.0.3")];
  events.follow(ref, three, port);
  events.follow(ref, three, port);
  await tick();
  assert.equal(made(), 3, "steady state: no new subscription");
  assert.equal(events.held(ref), 3);
  open.get("10.0.0.2:26379")?.publish("+promoted-slave");
  open.get("10.0.0.1:26379")?.publish("__sentinel__:hello");
  assert.deepEqual(woken, [ref]);
  assert.ok(wakingEvents.includes("+switch-master"));
  assert.ok(!(wakingEvents as readonly string[]).includes("__sentinel__:hello"));
});

test("SentinelEvents replaces the subscription of a sentinel whose pod has a new IP, and makes again one that ended", async () => {
  const events = new SentinelEvents(() => {});
  const { port, open, made } = fakePort();
  events.follow(ref, [sentinel(0, "10.0.0.1"), sentinel(1, "10.0.0.2")], port);
  await tick();
  events.follow(ref, [sentinel(0, "10.0.0.1"), sentinel(1, "10.0.0.7")], port);
  await tick();
  assert.deepEqual([...open.keys()].sort(), ["10.0.0.1:26379", "10.0.0.7:26379"]);
  open.get("10.0.0.1:26379")?.end();
  await tick();
  assert.equal(events.held(ref), 1, "an ended subscription is dropped");
  events.follow(ref, [sentinel(0, "10.0.0.1"), sentinel(1, "10.0.0.7")], port);
  await tick();
  assert.equal(made(), 4);
  assert.equal(events.held(ref), 2);
});

test("SentinelEvents drops a subscription that could not be made and tries again at the next follow", async () => {
  const events = new SentinelEvents(() => {});
  const { port, made } = fakePort(new Set(["10.0.0.1:26379"]));
  events.follow(ref, [sentinel(0, "10.0.0.1")], port);
  await tick();
  assert.equal(events.held(ref), 0);
  events.follow(ref, [sentinel(0, "10.0.0.1")], port);
  await tick();
  assert.equal(made(), 2);
});

test("SentinelEvents closes a forgotten set's subscriptions, and everything at close, even one still being made", async () => {
  const woken: SetRef[] = [];
  const events = new SentinelEvents((r) => woken.push(r));
  const { port, open } = fakePort();
  events.follow(ref, [sentinel(0, "10.0.0.1")], port);
  await tick();
  events.forget(ref);
  assert.equal(open.size, 0);
  const other: SetRef = { namespace: "ns", name: "other" };
  events.follow(other, [sentinel(0, "10.0.1.1")], port);
  events.close();
  await tick();
  assert.equal(open.size, 0, "a subscription made after close is closed at once");
  events.follow(other, [sentinel(0, "10.0.1.1")], port);
  await tick();
  assert.equal(open.size, 0, "nothing is subscribed after close");
  assert.deepEqual(woken, []);
});
