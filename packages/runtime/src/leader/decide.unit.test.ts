import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  decide,
  expiresAt,
  type LeaseRecord,
  type Observation,
  observe,
  releasedRecord,
} from "./decide.ts";

const self = { identity: "me", leaseDurationSeconds: 15 };

const record = (overrides: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: "other",
  leaseDurationSeconds: 15,
  acquireTime: "2026-11-23T10:00:00.000000Z",
  renewTime: "2026-11-23T10:00:05.000000Z",
  leaseTransitions: 3,
  ...overrides,
});

const arbRecord = fc.record({
  holderIdentity: fc.constantFrom("", "me", "other", "third"),
  leaseDurationSeconds: fc.integer({ min: 0, max: 60 }),
  acquireTime: fc.option(fc.constant("2026-11-23T10:00:00.000000Z"), { nil: undefined }),
  renewTime: fc.option(
    fc.integer({ min: 0, max: 10 ** 12 }).map((ms) => new Date(1.7e12 + ms).toISOString()),
    { nil: undefined },
  ),
  leaseTransitions: fc.nat(1000),
});
const arbObservation = fc.record({
  record: arbRecord,
  observedAt: fc.integer({ min: -1e6, max: 1e6 }),
});
const arbNow = fc.record({
  monotonic: fc.integer({ min: -1e6, max: 2e6 }),
  wall: fc.integer({ min: 1.6e12, max: 1.9e12 }),
});

test("decide() never writes a lease someone else holds and has not let expire", () => {
  fc.assert(
    fc.property(arbObservation, arbNow, (observation, now) => {
      const decision = decide(observation, now, self);
      const holder = observation.record.holderIdentity;
      const unexpired =
        now.monotonic < observation.observedAt + observation.record.leaseDurationSeconds * 1000;
      if (holder !== "" && holder !== self.identity && unexpired) {
        assert.equal(decision.kind, "wait");
      } else {
        assert.equal(decision.kind, "write");
      }
    }),
  );
});

test("decide() writes a record held by us whose renew time always moves forward", () => {
  fc.assert(
    fc.property(arbObservation, arbNow, (observation, now) => {
      const decision = decide(observation, now, self);
      if (decision.kind !== "write") return;
      assert.equal(decision.record.holderIdentity, self.identity);
      assert.equal(decision.record.leaseDurationSeconds, self.leaseDurationSeconds);
      const before = observation.record.renewTime;
      if (before) assert.ok(Date.parse(decision.record.renewTime ?? "") > Date.parse(before));
      // A renewal always changes the record, so observers restart their count.
      assert.notDeepEqual(decision.record, observation.record);
    }),
  );
});

test("decide() counts a transition only when the holder changes", () => {
  fc.assert(
    fc.property(arbObservation, arbNow, (observation, now) => {
      const decision = decide(observation, now, self);
      if (decision.kind !== "write") return;
      const renewing = observation.record.holderIdentity === self.identity;
      assert.equal(decision.acquiring, !renewing);
      assert.equal(
        decision.record.leaseTransitions,
        observation.record.leaseTransitions + (renewing ? 0 : 1),
      );
      if (renewing && observation.record.acquireTime) {
        assert.equal(decision.record.acquireTime, observation.record.acquireTime);
      }
    }),
  );
});

test("decide() ages a lease from our own sighting, not from the holder's clock", () => {
  // The holder's clock is a day ahead: its renew time is in our future. It is
  // still expired 15 s after we first saw that record.
  const skewed = record({ renewTime: "2026-11-24T10:00:05.000000Z" });
  const seen = observe(undefined, skewed, 1_000);
  const wall = Date.parse("2026-11-23T10:00:30.000Z");
  assert.equal(decide(seen, { monotonic: 15_999, wall }, self).kind, "wait");
  assert.equal(decide(seen, { monotonic: 16_000, wall }, self).kind, "write");
  // And a holder whose clock is a day behind is not expired early.
  const behind = observe(undefined, record({ renewTime: "2026-11-22T10:00:05.000000Z" }), 1_000);
  assert.equal(decide(behind, { monotonic: 2_000, wall }, self).kind, "wait");
});

test("observe() keeps the first sighting while the record is unchanged, and restarts on any change", () => {
  fc.assert(
    fc.property(arbRecord, arbRecord, fc.integer(), fc.integer(), (a, b, t1, t2) => {
      const first = observe(undefined, a, t1);
      assert.equal(first.observedAt, t1);
      assert.equal(observe(first, { ...a }, t2).observedAt, t1);
      const changed = observe(first, b, t2);
      const same = JSON.stringify(a) === JSON.stringify(b);
      assert.equal(changed.observedAt, same ? t1 : t2);
    }),
  );
});

test("decide() creates a lease held by us when none exists", () => {
  const decision = decide(undefined, { monotonic: 0, wall: Date.UTC(2026, 10, 23) }, self);
  assert.deepEqual(decision, {
    kind: "create",
    record: {
      holderIdentity: "me",
      leaseDurationSeconds: 15,
      acquireTime: "2026-11-23T00:00:00.000000Z",
      renewTime: "2026-11-23T00:00:00.000000Z",
      leaseTransitions: 0,
    },
  });
});

test("a released lease is free at once for everyone", () => {
  fc.assert(
    fc.property(arbRecord, arbNow, (previous, now) => {
      const released = releasedRecord(previous, now.wall);
      const seen: Observation = observe(undefined, released, now.monotonic);
      assert.equal(decide(seen, now, self).kind, "write");
      assert.equal(decide(seen, now, { ...self, identity: "third" }).kind, "write");
      assert.equal(released.leaseTransitions, previous.leaseTransitions);
      assert.ok(expiresAt(seen) <= now.monotonic + 1000);
    }),
  );
});
