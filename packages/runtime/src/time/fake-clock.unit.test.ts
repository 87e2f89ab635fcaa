import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeClock } from "./fake-clock.ts";

describe("FakeClock", () => {
  test("advance() fires due timers in deadline order, each at its own instant", () => {
    const clock = new FakeClock(100);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(["late", clock.now()]), 30);
    clock.setTimeout(() => fired.push(["early", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["same-1", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["same-2", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["never", clock.now()]), 31);
    clock.advance(30);
    assert.deepEqual(fired, [
      ["early", 110],
      ["same-1", 120],
      ["same-2", 120],
      ["late", 130],
    ]);
    assert.equal(clock.now(), 130);
    assert.equal(clock.pendingTimers, 1);
  });

  test("advance() fires timers set by callbacks when they fall within the step", () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    assert.deepEqual(fired, [5, 10]);
  });

  test("clearTimeout() stops a timer from firing", () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimeout(() => {
      fired = true;
    }, 1);
    clock.clearTimeout(handle);
    clock.advance(10);
    assert.equal(fired, false);
    assert.equal(clock.pendingTimers, 0);
  });

  test("advance() rejects a negative step", () => {
    assert.throws(() => new FakeClock().advance(-1), /-1/);
  });
});
