import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { MemberReport } from "../admin/port.ts";
import { describeBlocker } from "./blockers.ts";
import { nextAddition, nextRemoval } from "./reconfig.ts";
import { chooseNextRestart, restartedBlockers } from "./restart.ts";
import { type EnsembleObservation, majority, observe, serving } from "./state.ts";

/** A healthy ensemble of `voters` led by `leader`, plus `others` (non-voters), all serving. */
function ensemble(voters: number[], leader: number, others: number[] = []): MemberReport[] {
  const config = new Map(voters.map((id) => [id, "participant" as const]));
  return [...voters, ...others].map((id) => ({
    id,
    reachable: true,
    state: id === leader ? ("leader" as const) : ("follower" as const),
    broadcast: true,
    zxid: "0x100000001",
    config,
    ...(id === leader ? { syncedVotingFollowers: voters.length - 1 } : {}),
  }));
}

function down(reports: MemberReport[], ...ids: number[]): MemberReport[] {
  return reports.map((r) =>
    ids.includes(r.id) ? { id: r.id, reachable: false, state: "unknown", broadcast: false } : r,
  );
}

/** A generated ensemble: 1–7 voters, some down, the leader's synced count possibly lagging. */
const arbObservation = fc
  .record({
    size: fc.constantFrom(1, 3, 5, 7),
    leaderIndex: fc.nat(6),
    downMask: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
    lag: fc.nat(2),
    leaderDown: fc.boolean(),
  })
  .map(({ size, leaderIndex, downMask, lag, leaderDown }) => {
    const voters = Array.from({ length: size }, (_, i) => i + 1);
    const leader = voters[leaderIndex % size] ?? 1;
    const downIds = voters.filter((id, i) => downMask[i] && (id !== leader || leaderDown));
    let reports = down(ensemble(voters, leader), ...downIds);
    reports = reports.map((r) =>
      r.id === leader && r.syncedVotingFollowers !== undefined
        ? { ...r, syncedVotingFollowers: Math.max(0, size - 1 - downIds.length - lag) }
        : r,
    );
    return { voters, obs: observe(reports) };
  });

function servingVoters(obs: EnsembleObservation, without?: number): number {
  return (obs.voters ?? []).filter((id) => id !== without && serving(obs.reports.get(id))).length;
}

test("chooseNextRestart() restarts followers in id order and the leader last", () => {
  const obs = observe(ensemble([1, 2, 3], 2));
  assert.deepEqual(chooseNextRestart([1, 2, 3], obs), { restart: 1 });
  assert.deepEqual(chooseNextRestart([2, 3], obs), { restart: 3 });
  assert.deepEqual(chooseNextRestart([2], obs), { restart: 2 });
});

test("chooseNextRestart() waits while another voter is down, and says which", () => {
  const obs = observe(down(ensemble([1, 2, 3], 1), 3));
  const decision = chooseNextRestart([2], obs);
  assert.ok("wait" in decision);
  assert.deepEqual(decision.wait.map(describeBlocker), ["member 3 is a voter and is not serving"]);
});

test("chooseNextRestart() waits while the leader counts fewer synced voting followers than it has", () => {
  const reports = ensemble([1, 2, 3], 1).map((r) =>
    r.id === 1 ? { ...r, syncedVotingFollowers: 1 } : r,
  );
  const decision = chooseNextRestart([2, 3], observe(reports));
  assert.deepEqual(decision, { wait: [{ kind: "FollowersNotSynced", synced: 1, expected: 2 }] });
});

test("chooseNextRestart() may restart a stale member that is itself down", () => {
  const reports = down(ensemble([1, 2, 3], 1), 3).map((r) =>
    r.id === 1 ? { ...r, syncedVotingFollowers: 1 } : r,
  );
  assert.deepEqual(chooseNextRestart([3], observe(reports)), { restart: 3 });
});

test("chooseNextRestart() never takes the ensemble below a majority of its voters", () => {
  fc.assert(
    fc.property(
      arbObservation,
      fc.subarray([1, 2, 3, 4, 5, 6, 7], { minLength: 1 }),
      ({ voters, obs }, pendingAll) => {
        const pending = pendingAll.filter((id) => voters.includes(id));
        if (pending.length === 0) return;
        const decision = chooseNextRestart(pending, obs);
        if (!("restart" in decision)) return;
        const id = decision.restart;
        // Every other voter serves, so one more down still leaves a majority (one voter: no choice).
        assert.equal(servingVoters(obs, id), voters.length - 1);
        if (voters.length >= 3) assert.ok(servingVoters(obs, id) >= majority(voters.length));
        if (id === obs.leader)
          assert.deepEqual(pending, [id], "the leader only when it is the last pending");
      },
    ),
  );
});

test("restartedBlockers() holds the roll until the member is back, a voter and synced", () => {
  const healthy = ensemble([1, 2, 3], 1);
  assert.deepEqual(restartedBlockers(2, observe(down(healthy, 2))), [
    { kind: "NotBack", id: 2, why: "down" },
  ]);
  const looking = healthy.map((r) =>
    r.id === 2 ? { ...r, state: "looking" as const, broadcast: false } : r,
  );
  assert.deepEqual(restartedBlockers(2, observe(looking)), [
    { kind: "NotBack", id: 2, why: "not-serving" },
  ]);
  const unsynced = healthy.map((r) => (r.id === 1 ? { ...r, syncedVotingFollowers: 1 } : r));
  assert.deepEqual(restartedBlockers(2, observe(unsynced)), [
    { kind: "FollowersNotSynced", synced: 1, expected: 2 },
  ]);
  assert.deepEqual(restartedBlockers(2, observe(healthy)), []);
});

test("nextAddition() adds one joiner at a time, lowest id first, once it follows the leader", () => {
  const joiners = ensemble([1, 2, 3], 1, [4, 5]);
  assert.deepEqual(nextAddition([4, 5], observe(joiners)), { kind: "add", id: 4 });
  const notYet = down(joiners, 4);
  const step = nextAddition([4, 5], observe(notYet));
  assert.deepEqual(step, { kind: "wait", blockers: [{ kind: "JoinerNotSynced", id: 4 }] });
  const added = ensemble([1, 2, 3, 4], 1, [5]);
  assert.deepEqual(nextAddition([4, 5], observe(added)), { kind: "add", id: 5 });
  assert.deepEqual(nextAddition([4, 5], observe(ensemble([1, 2, 3, 4, 5], 1))), { kind: "done" });
});

test("nextRemoval() removes the highest id first, never the last voter, and is done once none is listed", () => {
  assert.deepEqual(nextRemoval([4, 5], observe(ensemble([1, 2, 3, 4, 5], 5))), {
    kind: "remove",
    id: 5,
  });
  assert.deepEqual(nextRemoval([4, 5], observe(ensemble([1, 2, 3, 4], 1))), {
    kind: "remove",
    id: 4,
  });
  assert.deepEqual(nextRemoval([4, 5], observe(ensemble([1, 2, 3], 1))), { kind: "done" });
  assert.deepEqual(nextRemoval([1], observe(ensemble([1], 1))), {
    kind: "wait",
    blockers: [{ kind: "LastVoter", id: 1 }],
  });
});

test("a reconfig is planned only when every voter that stays serves, so both configurations keep a majority", () => {
  fc.assert(
    fc.property(arbObservation, fc.subarray([1, 2, 3, 4, 5, 6, 7]), ({ voters, obs }, ids) => {
      const removal = nextRemoval(ids, obs);
      if (removal.kind === "remove") {
        assert.ok(voters.includes(removal.id));
        const staying = voters.filter((id) => id !== removal.id);
        assert.ok(staying.length >= 1);
        assert.equal(servingVoters(obs, removal.id), staying.length);
        assert.ok(servingVoters(obs, removal.id) >= majority(voters.length - 1));
      }
      const joiners = ids.filter((id) => !voters.includes(id));
      const addition = nextAddition(joiners, obs);
      if (addition.kind === "add") {
        assert.equal(servingVoters(obs), voters.length);
        assert.ok(joiners.includes(addition.id));
      }
      if (removal.kind === "wait" || addition.kind === "wait") {
        const blockers =
          removal.kind === "wait"
            ? removal.blockers
            : addition.kind === "wait"
              ? addition.blockers
              : [];
        assert.ok(blockers.length > 0, "a wait always says why");
      }
    }),
  );
});
