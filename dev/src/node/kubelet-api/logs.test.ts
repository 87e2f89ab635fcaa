import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LogQueryError, parseLogOptions } from "./logs.ts";

const query = (s: string) => new URLSearchParams(s);

describe("parseLogOptions()", () => {
  it("reads the PodLogOptions the API server forwards", () => {
    assert.deepEqual(
      parseLogOptions(
        query("follow=true&previous=1&timestamps=true&tailLines=10&limitBytes=500&sinceSeconds=60"),
      ),
      {
        follow: true,
        previous: true,
        timestamps: true,
        tailLines: 10,
        limitBytes: 500,
        sinceSeconds: 60,
      },
    );
    assert.deepEqual(parseLogOptions(query("")), {
      follow: false,
      previous: false,
      timestamps: false,
    });
  });

  it("accepts the old tail parameter, where all means no limit", () => {
    assert.equal(parseLogOptions(query("tail=5")).tailLines, 5);
    assert.equal(parseLogOptions(query("tail=all&tailLines=5")).tailLines, undefined);
  });

  it("turns sinceTime into whole seconds, rounded up", () => {
    const now = new Date("2026-01-01T00:01:00.000Z");
    assert.equal(
      parseLogOptions(query("sinceTime=2026-01-01T00:00:00.500Z"), now).sinceSeconds,
      60,
    );
  });

  it("rejects bad values, naming them", () => {
    assert.throws(() => parseLogOptions(query("tailLines=-1")), /tailLines=-1 must be at least 0/);
    assert.throws(() => parseLogOptions(query("limitBytes=0")), LogQueryError);
    assert.throws(() => parseLogOptions(query("follow=maybe")), /follow="maybe"/);
    assert.throws(
      () => parseLogOptions(query("sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z")),
      /at most one/,
    );
    assert.throws(() => parseLogOptions(query("stream=Stderr")), /only "All"/);
  });
});
