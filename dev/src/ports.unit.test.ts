import assert from "node:assert/strict";
import { test } from "node:test";
import { ephemeralRange, freePort, isPortFree, listenRange } from "./ports.ts";

test("ephemeralRange() reads the kernel's two numbers and refuses anything else", () => {
  assert.deepEqual(ephemeralRange("32768\t60999\n"), { first: 32768, last: 60999 });
  assert.equal(ephemeralRange("60999 32768"), undefined);
  assert.equal(ephemeralRange("abc"), undefined);
  assert.equal(ephemeralRange(""), undefined);
});

test("listenRange() sits below the ephemeral range, or is absent when that leaves too little", () => {
  assert.deepEqual(listenRange({ first: 32768, last: 60999 }), { first: 10_000, last: 32767 });
  assert.equal(listenRange({ first: 12_000, last: 60999 }), undefined);
  assert.equal(listenRange(undefined), undefined);
});

test("freePort() returns a port outside the ephemeral range that can be bound", async () => {
  const ephemeral = ephemeralRange();
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    assert.ok(await isPortFree(port), `port ${port} free`);
    if (listenRange(ephemeral) && ephemeral)
      assert.ok(port < ephemeral.first, `port ${port} below ${ephemeral.first}`);
  }
});
