import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { MemberReport, MonitoringSentinelReport, RedisAddress } from "../admin/port.ts";
import { failoverNudge } from "./nudge.ts";
import type { ReplicationObservation } from "./state.ts";

const addr = (id: number): RedisAddress => ({ host: `r-${id}.r-members`, port: 6379 });
const sentinelAddr = (id: number): RedisAddress => ({
  host: `r-sentinel-${id}.r-sentinel`,
  port: 26379,
});

function replica(id: number, offset: number): MemberReport {
  return {
    id,
    reachable: true,
    role: "replica",
    offset,
    replicationId: "H1",
    loading: false,
    following: addr(0),
    masterLinkStatus: "down",
    syncInProgress: false,
    priority: 100,
  };
}

interface View {
  odown?: boolean;
  failover?: boolean;
  knows?: readonly number[];
}

function view(id: number, o: View = {}): MonitoringSentinelReport {
  return {
    id,
    reachable: true,
    monitoring: true,
    master: addr(0),
    flags: ["s_down", "o_down", "master"],
    subjectivelyDown: true,
    objectivelyDown: o.odown ?? true,
    failoverInProgress: o.failover ?? false,
    configEpoch: 0,
    quorum: 2,
    replicas: (o.knows ?? [1, 2]).map((r) => ({
      address: addr(r),
      flags: ["slave"],
      down: false,
      masterLinkOk: false,
      offset: r * 100,
      priority: 100,
    })),
    sentinels: [0, 1, 2]
      .filter((p) => p !== id)
      .map((p) => ({ address: sentinelAddr(p), runId: `r${p}`, flags: ["sentinel"], down: false })),
  };
}

/** Master 0 lost for `silentMs`; replicas 1 and 2 answer; three sentinels with `views`. */
function lost(silentMs: number, views: View[] = [{}, {}, {}]): ReplicationObservation {
  return {
    members: [
      {
        id: 0,
        address: addr(0),
        report: {
          id: 0,
          reachable: false,
          role: "unknown",
          error: { reason: "unreachable", message: "x" },
        },
        unreachableForMs: silentMs,
      },
      { id: 1, address: addr(1), report: replica(1, 100) },
      { id: 2, address: addr(2), report: replica(2, 200) },
    ],
    sentinels: views.map((v, id) => ({ id, address: sentinelAddr(id), report: view(id, v) })),
    expectedSentinels: 3,
    lastMaster: 0,
  };
}

test("failoverNudge() asks a sentinel once the master is silent past afterMs and the sentinels agree it is down", () => {
  const nudge = failoverNudge(lost(13_000), { afterMs: 12_000 });
  assert.equal(nudge?.via, 0);
  assert.equal(nudge?.master, 0);
  assert.match(
    nudge?.reason ?? "",
    /has not answered for 13s, 3 sentinels flag it objectively down/,
  );
});

test("failoverNudge() leaves a normal election alone: too early, or a failover in progress", () => {
  assert.equal(failoverNudge(lost(11_000), { afterMs: 12_000 }), undefined);
  assert.equal(
    failoverNudge(lost(60_000, [{}, { failover: true }, {}]), { afterMs: 12_000 }),
    undefined,
  );
});

test("failoverNudge() needs a majority of the sentinels to flag the master objectively down", () => {
  assert.equal(
    failoverNudge(lost(60_000, [{}, { odown: false }, { odown: false }]), { afterMs: 1 }),
    undefined,
  );
  assert.equal(failoverNudge(lost(60_000, [{}, {}, { odown: false }]), { afterMs: 1 })?.via, 0);
});

test("failoverNudge() goes through a sentinel that knows a replica it could promote", () => {
  const nudge = failoverNudge(lost(60_000, [{ knows: [] }, { knows: [2] }, { knows: [1] }]), {
    afterMs: 1,
  });
  assert.equal(nudge?.via, 1, "the sentinel that knows the replica with the highest offset");
});

test("failoverNudge() never fires while the master answers", () => {
  fc.assert(
    fc.property(fc.nat(120_000), fc.nat(120_000), (silent, after) => {
      const obs = lost(silent);
      const answering: ReplicationObservation = {
        ...obs,
        members: obs.members.map((m) =>
          m.id === 0
            ? {
                id: 0,
                address: addr(0),
                report: {
                  id: 0,
                  reachable: true,
                  role: "master",
                  offset: 300,
                  replicationId: "H1",
                  loading: false,
                  replicas: [],
                },
              }
            : m,
        ),
      };
      assert.equal(failoverNudge(answering, { afterMs: after }), undefined);
      const nudge = failoverNudge(obs, { afterMs: after });
      if (nudge) assert.ok(silent >= after);
    }),
  );
});
