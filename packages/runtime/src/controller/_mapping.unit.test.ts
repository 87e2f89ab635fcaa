import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../client/types.ts";
import { controllerOwnerKey, groupOf, keysOf, refersTo } from "./_mapping.ts";
import { allOf, generationChanged } from "./predicate.ts";

const Greeting = { apiVersion: "example.ballast.dev/v1", kind: "Greeting" };

function owned(
  ownerReferences: NonNullable<KubeObject["metadata"]["ownerReferences"]>,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cm", namespace: "ns", ownerReferences },
  };
}

describe("owner mapping", () => {
  test("groupOf() reads the group, empty for the core group", () => {
    assert.equal(groupOf("apps/v1"), "apps");
    assert.equal(groupOf("v1"), "");
  });

  test("refersTo() matches kind and group, whatever the version", () => {
    const ref = {
      apiVersion: "example.ballast.dev/v1beta1",
      kind: "Greeting",
      name: "a",
      uid: "u",
    };
    assert.equal(refersTo(ref, Greeting), true);
    assert.equal(refersTo({ ...ref, apiVersion: "other.dev/v1" }, Greeting), false);
    assert.equal(refersTo({ ...ref, kind: "Farewell" }, Greeting), false);
  });

  test("controllerOwnerKey() follows only the controller reference, in the object's namespace", () => {
    const ref = { apiVersion: Greeting.apiVersion, kind: "Greeting", name: "hello", uid: "u" };
    assert.equal(
      controllerOwnerKey(owned([{ ...ref, controller: true }]), Greeting, true),
      "ns/hello",
    );
    assert.equal(controllerOwnerKey(owned([ref]), Greeting, true), undefined);
    assert.equal(
      controllerOwnerKey(owned([{ ...ref, controller: false }]), Greeting, true),
      undefined,
    );
    assert.equal(controllerOwnerKey(owned([]), Greeting, true), undefined);
    assert.equal(
      controllerOwnerKey(owned([{ ...ref, controller: true }]), Greeting, false),
      "hello",
    );
  });

  test("controllerOwnerKey() ignores a controller of another kind", () => {
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      name: "rs",
      uid: "u",
      controller: true,
    };
    assert.equal(controllerOwnerKey(owned([rs]), Greeting, true), undefined);
  });

  test("keysOf() deduplicates", () => {
    assert.deepEqual(
      [...keysOf([{ namespace: "a", name: "x" }, { namespace: "a", name: "x" }, { name: "y" }])],
      ["a/x", "y"],
    );
  });
});

describe("predicates", () => {
  const at = (generation?: number): KubeObject => ({
    apiVersion: "v1",
    kind: "X",
    metadata: { name: "x", ...(generation === undefined ? {} : { generation }) },
  });

  test("generationChanged passes an update only when the generation moved", () => {
    assert.equal(generationChanged.update?.(at(1), at(1)), false);
    assert.equal(generationChanged.update?.(at(1), at(2)), true);
    assert.equal(generationChanged.update?.(at(), at()), true);
  });

  test("allOf() passes an event only if every predicate does; absent methods pass", () => {
    const none = allOf<KubeObject>([]);
    assert.equal(none.create(at(1)), true);
    const both = allOf<KubeObject>([generationChanged, { create: () => false }]);
    assert.equal(both.create(at(1)), false);
    assert.equal(both.update(at(1), at(1)), false);
    assert.equal(both.delete(at(1)), true);
  });
});
