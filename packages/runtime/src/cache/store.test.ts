import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { KubeObject } from "../client/types.ts";
import { namespaceIndex, ownerIndex, Store, UnknownIndexError } from "./store.ts";

function object(namespace: string, name: string, owners: string[], color: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace,
      labels: { color },
      ownerReferences: owners.map((uid) => ({ apiVersion: "v1", kind: "X", name: uid, uid })),
    },
  };
}

const ops = fc.array(
  fc.oneof(
    fc.record({
      op: fc.constant("upsert" as const),
      namespace: fc.constantFrom("a", "b"),
      name: fc.constantFrom("n1", "n2", "n3"),
      owners: fc.subarray(["u1", "u2", "u3"]),
      color: fc.constantFrom("red", "blue"),
    }),
    fc.record({
      op: fc.constant("remove" as const),
      key: fc.constantFrom("a/n1", "a/n2", "b/n1", "b/n3"),
    }),
  ),
  { maxLength: 40 },
);

test("Store indexes always agree with a scan of the stored objects, whatever the write sequence", () => {
  fc.assert(
    fc.property(ops, (sequence) => {
      const store = new Store({ color: (o) => [o.metadata.labels?.color ?? ""] });
      for (const step of sequence) {
        if (step.op === "upsert")
          store.upsert(object(step.namespace, step.name, step.owners, step.color));
        else store.remove(step.key);
      }
      const all = store.list();
      const names = (list: KubeObject[]) =>
        list.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
      for (const ns of ["a", "b"]) {
        assert.deepEqual(
          names(store.byIndex(namespaceIndex, ns)),
          names(all.filter((o) => o.metadata.namespace === ns)),
        );
      }
      for (const uid of ["u1", "u2", "u3"]) {
        assert.deepEqual(
          names(store.byIndex(ownerIndex, uid)),
          names(all.filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === uid))),
        );
      }
      for (const color of ["red", "blue"]) {
        assert.deepEqual(
          names(store.byIndex("color", color)),
          names(all.filter((o) => o.metadata.labels?.color === color)),
        );
      }
    }),
  );
});

test("Store.upsert returns the previous object and remove returns the last one stored", () => {
  const store = new Store();
  const first = object("a", "n", [], "red");
  const second = object("a", "n", [], "blue");
  assert.equal(store.upsert(first), undefined);
  assert.equal(store.upsert(second), first);
  assert.equal(store.get("a/n"), second);
  assert.equal(store.remove("a/n"), second);
  assert.equal(store.remove("a/n"), undefined);
  assert.equal(store.size, 0);
});

test("Store.addIndexer indexes objects already stored", () => {
  const store = new Store();
  store.upsert(object("a", "n1", [], "red"));
  store.addIndexer("color", (o) => [o.metadata.labels?.color ?? ""]);
  assert.deepEqual(
    store.byIndex("color", "red").map((o) => o.metadata.name),
    ["n1"],
  );
});

test("Store.byIndex of an unregistered index throws, naming the index", () => {
  assert.throws(
    () => new Store().byIndex("colour", "red"),
    (e: unknown) => e instanceof UnknownIndexError && /"colour"/.test(e.message),
  );
});

test("cluster-scoped objects are keyed by name alone", () => {
  const store = new Store();
  store.upsert({ apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system" } });
  assert.ok(store.get("kube-system"));
  assert.equal(store.byIndex(namespaceIndex, "").length, 1);
});
