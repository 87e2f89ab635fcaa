import assert from "node:assert/strict";
import { test } from "node:test";
import { type AckedWriteDriver, AckedWritesError, startAckedWrites } from "./checker.ts";

/** An in-memory store; `fate(seq)` decides what happens to each write. */
function memoryDriver(
  fate: (seq: number) => "ack" | "refuse" | "land-unanswered" | "ack-then-drop" = () => "ack",
) {
  const stored: number[] = [];
  let closed = 0;
  const driver: AckedWriteDriver<{ stored: number }> = {
    async write(seq) {
      const f = fate(seq);
      if (f === "refuse") throw new Error(`refused ${seq}`);
      if (f !== "ack-then-drop") stored.push(seq);
      if (f === "land-unanswered") throw new Error(`timed out ${seq}`);
    },
    async readAll() {
      return [...stored];
    },
    progress: () => ({ stored: stored.length }),
    async close() {
      closed++;
    },
  };
  return { driver, stored, closed: () => closed };
}

test("startAckedWrites() finds nothing lost when every acknowledged write is stored", async () => {
  const { driver, closed } = memoryDriver();
  const writes = startAckedWrites(driver, { intervalMs: 0 });
  await writes.waitFor({ acknowledged: 50 });
  const report = await writes.stop();
  assert.ok(report.acknowledged >= 50);
  assert.equal(report.attempted, report.acknowledged);
  assert.deepEqual(report.lost, []);
  assert.deepEqual(report.duplicated, []);
  assert.equal(closed(), 1);
});

test("startAckedWrites() reports an acknowledged write the system dropped as lost", async () => {
  const { driver } = memoryDriver((seq) => (seq === 7 ? "ack-then-drop" : "ack"));
  const writes = startAckedWrites(driver, { intervalMs: 0, maxWrites: 20 });
  await writes.waitFor({ acknowledged: 20 });
  const report = await writes.stop();
  assert.deepEqual(report.lost, [7]);
});

test("startAckedWrites() counts refused writes and notices unanswered ones that landed", async () => {
  const { driver } = memoryDriver((seq) =>
    seq % 5 === 1 ? "refuse" : seq % 5 === 2 ? "land-unanswered" : "ack",
  );
  const writes = startAckedWrites(driver, { intervalMs: 0, maxWrites: 10 });
  await assert.rejects(writes.waitFor({ acknowledged: 11 }), /ended \(maxWrites\)/);
  const report = await writes.stop();
  assert.equal(report.attempted, 10);
  assert.equal(report.failed, 4);
  assert.equal(report.acknowledged, 6);
  assert.deepEqual(report.unacknowledgedButPresent, [2, 7]);
  assert.deepEqual(report.lost, []);
});

test("startAckedWrites() waitFor() waits on the driver's own figures too", async () => {
  const { driver } = memoryDriver();
  const writes = startAckedWrites(driver, { intervalMs: 0 });
  await writes.waitFor({ stored: 30, acknowledged: 10 });
  assert.ok(writes.progress().stored >= 30);
  await writes.stop();
});

test("startAckedWrites() stops by itself after maxDurationMs", async () => {
  const { driver } = memoryDriver();
  const writes = startAckedWrites(driver, { intervalMs: 5, maxDurationMs: 100 });
  await assert.rejects(writes.waitFor({ acknowledged: 1_000_000 }, 5_000), (error: unknown) => {
    assert.ok(error instanceof AckedWritesError);
    assert.match(error.message, /maxDurationMs/);
    return true;
  });
  assert.equal(writes.progress().ended, "maxDurationMs");
  const report = await writes.stop();
  assert.deepEqual(report.lost, []);
});

test("startAckedWrites() stop() closes the driver when reading back fails, once", async () => {
  const { driver, closed } = memoryDriver();
  driver.readAll = async () => {
    throw new Error("no reader");
  };
  const writes = startAckedWrites(driver, { intervalMs: 0, maxWrites: 3 });
  await assert.rejects(writes.stop(), /no reader/);
  await assert.rejects(writes.stop(), /no reader/);
  assert.equal(closed(), 1);
});

test("startAckedWrites() gives readAll the acknowledged set and a deadline", async () => {
  const { driver } = memoryDriver((seq) => (seq === 0 ? "refuse" : "ack"));
  let given: { acknowledged: number[]; deadline: number } | undefined;
  const readAll = driver.readAll.bind(driver);
  driver.readAll = async (context) => {
    given = { acknowledged: [...context.acknowledged], deadline: context.deadline };
    return readAll(context);
  };
  const writes = startAckedWrites(driver, { intervalMs: 0, maxWrites: 4, readTimeoutMs: 9_000 });
  await assert.rejects(writes.waitFor({ acknowledged: 99 }));
  const startedStop = Date.now();
  await writes.stop();
  assert.deepEqual(given?.acknowledged, [1, 2, 3]);
  assert.ok((given?.deadline ?? 0) >= startedStop + 8_000);
});
