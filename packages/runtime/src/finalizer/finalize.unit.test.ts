import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { addOps, removeOps } from "./finalize.ts";

type Op = ReturnType<typeof removeOps>[number];

/** Applies the ops to a finalizer list the way the API server would; undefined when a `test` fails. */
function apply(list: string[] | undefined, ops: Op[]): string[] | undefined {
  let out = list === undefined ? undefined : [...list];
  for (const op of ops) {
    if (op.op === "test") {
      if (JSON.stringify(out ?? null) !== JSON.stringify(op.value)) return undefined;
    } else if (op.op === "add") {
      if (op.path === "/metadata/finalizers") out = [...(op.value as string[])];
      else out = [...(out ?? []), op.value as string];
    } else {
      const index = Number(op.path.split("/").at(-1));
      assert.ok(out && index < out.length, `remove ${op.path} out of range`);
      out.splice(index, 1);
    }
  }
  return out;
}

const ours = "ours.example.com/f";
const arbList = fc.array(
  fc.constantFrom(ours, "a.example.com/x", "b.example.com/y", "c.example.com/z"),
  {
    maxLength: 8,
  },
);

test("removeOps() removes every copy of ours and keeps the others in order", () => {
  fc.assert(
    fc.property(arbList, (list) => {
      assert.deepEqual(
        apply(list, removeOps(list, ours)),
        list.filter((f) => f !== ours),
      );
    }),
  );
});

test("removeOps() and addOps() change nothing when the list changed since it was read", () => {
  fc.assert(
    fc.property(arbList, arbList, (read, live) => {
      fc.pre(JSON.stringify(read) !== JSON.stringify(live));
      assert.equal(apply(live, removeOps(read, ours)), undefined);
      assert.equal(apply(live.length ? live : undefined, addOps(read, ours)), undefined);
    }),
  );
});

test("addOps() appends ours and keeps the others", () => {
  fc.assert(
    fc.property(arbList, (list) => {
      fc.pre(!list.includes(ours));
      // The API server stores an empty list as no list at all.
      assert.deepEqual(apply(list.length ? list : undefined, addOps(list, ours)), [...list, ours]);
    }),
  );
});
