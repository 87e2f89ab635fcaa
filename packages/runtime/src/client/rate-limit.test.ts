import assert from "node:assert/strict";
import { test } from "node:test";
import { ClientRateLimiter, type LimiterClock, resourceOfPath, TokenBucket } from "./rate-limit.ts";

function fakeClock(): LimiterClock & { waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  };
}

test("TokenBucket lets a burst through at once, then paces at qps", async () => {
  const clock = fakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 3 }, clock);
  for (let i = 0; i < 3; i++) await bucket.take();
  assert.deepEqual(clock.waits, []);
  await bucket.take();
  await bucket.take();
  assert.equal(clock.waits.length, 2);
  assert.ok(Math.abs((clock.waits[0] ?? 0) - 100) < 1e-6, `first wait ${clock.waits[0]}`);
  // The second waiter's clock already advanced by the first wait: one more token-time.
  assert.ok(Math.abs((clock.waits[1] ?? 0) - 100) < 1e-6, `second wait ${clock.waits[1]}`);
});

test("TokenBucket defaults to 20 qps with a burst of 30", () => {
  const bucket = new TokenBucket();
  assert.equal(bucket.qps, 20);
  assert.equal(bucket.burst, 30);
});

test("TokenBucket gives the token back when the waiting request is aborted", async () => {
  let now = 0;
  const sleeps: number[] = [];
  const bucket = new TokenBucket(
    { qps: 1, burst: 1 },
    {
      now: () => now,
      sleep: (ms, signal) => {
        sleeps.push(ms);
        return new Promise((_resolve, reject) => {
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
      },
    },
  );
  await bucket.take();
  const controller = new AbortController();
  const waiting = bucket.take(controller.signal);
  controller.abort(new Error("gave up"));
  await assert.rejects(waiting, /gave up/);
  assert.equal(sleeps.length, 1);
  // One second refills exactly one token: enough only if the aborted reservation was returned.
  now = 1000;
  await bucket.take();
  assert.equal(sleeps.length, 1);
});

test("TokenBucket rejects a non-positive qps, naming it", () => {
  assert.throws(() => new TokenBucket({ qps: 0 }), /qps=0/);
});

test("resourceOfPath names the resource a path addresses, subresources and namespaces aside", () => {
  const cases: [string, string][] = [
    ["/api/v1/namespaces/a/configmaps", "/configmaps"],
    ["/api/v1/namespaces/a/configmaps/x?fieldManager=m", "/configmaps"],
    ["/api/v1/namespaces/a/pods/p/status", "/pods"],
    ["/api/v1/namespaces", "/namespaces"],
    ["/api/v1/namespaces/a", "/namespaces"],
    ["/api/v1/nodes/n1", "/nodes"],
    ["/apis/apps/v1/namespaces/a/deployments/d/scale", "apps/deployments"],
    ["/apis/bench.ballast.dev/v1/namespaces/a/widgets/w/status", "bench.ballast.dev/widgets"],
    ["/apis/rbac.authorization.k8s.io/v1/clusterroles", "rbac.authorization.k8s.io/clusterroles"],
    ["/apis/apps/v1", "apis/apps/v1"],
    ["/api/v1", "api/v1"],
    ["/apis", "apis"],
    ["/version", "version"],
  ];
  for (const [path, resource] of cases) assert.equal(resourceOfPath(path), resource, path);
});

test("ClientRateLimiter gives each resource its own bucket unless told to share one", async () => {
  const perResource = fakeClock();
  const limiter = new ClientRateLimiter({ qps: 10, burst: 2 }, perResource);
  for (let i = 0; i < 2; i++) await limiter.take("/api/v1/namespaces/a/configmaps");
  // The ConfigMap bucket is empty, the Widget bucket full.
  await limiter.take("/apis/bench.ballast.dev/v1/namespaces/a/widgets/w/status");
  assert.deepEqual(perResource.waits, []);
  await limiter.take("/api/v1/namespaces/a/configmaps/x");
  assert.equal(perResource.waits.length, 1);

  const shared = fakeClock();
  const one = new ClientRateLimiter({ qps: 10, burst: 2, per: "client" }, shared);
  for (let i = 0; i < 2; i++) await one.take("/api/v1/namespaces/a/configmaps");
  await one.take("/apis/bench.ballast.dev/v1/namespaces/a/widgets/w/status");
  assert.equal(shared.waits.length, 1);
});

test("ClientRateLimiter refuses nonsense settings when it is made", () => {
  assert.throws(() => new ClientRateLimiter({ qps: 0 }), /qps > 0/);
});
