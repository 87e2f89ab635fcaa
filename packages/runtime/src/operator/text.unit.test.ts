import assert from "node:assert/strict";
import { test } from "node:test";
import { ago, conditionLines, paint, progressBar, table } from "./text.ts";

test("progressBar() fills in proportion and clamps to the total", () => {
  assert.equal(progressBar(2, 3), "[#######---] 2/3");
  assert.equal(progressBar(0, 3), "[----------] 0/3");
  assert.equal(progressBar(3, 3), "[##########] 3/3");
  assert.equal(progressBar(5, 3), "[##########] 3/3");
  assert.equal(progressBar(0, 0), "[----------] 0/0");
  assert.equal(progressBar(1, 4, 4), "[#---] 1/4");
});

test("table() aligns columns by visible width, ignoring colour codes", () => {
  const colored = paint({ color: true }, "green", "yes");
  const lines = table(
    ["ID", "READY", "POD"],
    [
      ["0", colored, "a"],
      ["10", "no", "b"],
    ],
  );
  const colourCode = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
  const plain = lines.map((l) => l.replace(colourCode, ""));
  assert.deepEqual(plain, ["ID  READY  POD", "0   yes    a", "10  no     b"]);
});

test("paint() adds nothing without colour", () => {
  assert.equal(paint({ color: false }, "red", "False"), "False");
});

test("ago() counts back from now in the largest sensible unit", () => {
  const now = new Date("2026-01-01T12:00:00Z");
  assert.equal(ago("2026-01-01T11:59:58Z", now), "just now");
  assert.equal(ago("2026-01-01T11:59:30Z", now), "30s ago");
  assert.equal(ago("2026-01-01T11:55:00Z", now), "5m ago");
  assert.equal(ago("2026-01-01T09:58:00Z", now), "2h2m ago");
  assert.equal(ago("2025-12-28T12:00:00Z", now), "4d ago");
  assert.equal(ago("yesterday", now), undefined);
});

test("conditionLines() tables the conditions, Ready True green and Degraded True red", () => {
  const at = "2026-01-01T00:00:00Z";
  const style = { color: true };
  const lines = conditionLines(
    [
      { type: "Ready", status: "True", reason: "Running", message: "", lastTransitionTime: at },
      {
        type: "Degraded",
        status: "True",
        reason: "BadSpec",
        message: "fix it",
        lastTransitionTime: at,
      },
    ],
    style,
  );
  assert.equal(lines[0], "Conditions:");
  assert.ok(lines[2]?.includes(paint(style, "green", "True")), String(lines[2]));
  assert.ok(lines[3]?.includes(paint(style, "red", "True")), String(lines[3]));
  assert.match(lines[2] ?? "", /Running\s+-$/);
  assert.deepEqual(conditionLines([], style), ["Conditions: none reported yet"]);
});
