import assert from "node:assert/strict";
import { test } from "node:test";
import Type from "typebox";
import { defineResource } from "../crd/define.ts";
import { defineOperator, OperatorDefinitionError, watchScopes } from "./descriptor.ts";

const Gadget = defineResource({
  group: "example.ballast.dev",
  version: "v1",
  kind: "Gadget",
  plural: "gadgets",
  scope: "Namespaced",
  description: "For tests.",
  spec: Type.Object({}),
});

const spec = {
  name: "gadget",
  crds: [Gadget],
  rules: { namespaced: [] },
  entry: "/src/gadget/main.ts",
  build: () => ({ controllers: [] }),
};

test("defineOperator() names the lease and field manager after the operator by default", () => {
  const gadget = defineOperator(spec);
  assert.equal(gadget.leaseName, "ballast-gadget-operator");
  assert.equal(gadget.fieldManager, "ballast-gadget-operator");
  const named = defineOperator({ ...spec, leaseName: "l", fieldManager: "f" });
  assert.equal(named.leaseName, "l");
  assert.equal(named.fieldManager, "f");
  assert.ok(Object.isFrozen(gadget));
});

test("defineOperator() refuses a descriptor that cannot work, naming the bad value", () => {
  const refused = (override: object, message: RegExp) =>
    assert.throws(
      () => defineOperator({ ...spec, ...override }),
      (e: unknown) => e instanceof OperatorDefinitionError && message.test(e.message),
    );
  refused({ name: "Gadget" }, /"Gadget" must be a lower-case DNS label/);
  refused({ name: "" }, /"" must be/);
  refused({ crds: [Gadget, Gadget] }, /CRD gadgets.example.ballast.dev is listed twice/);
  const Other = defineResource({
    ...Gadget,
    kind: "Other",
    plural: "others",
    description: "x",
    spec: Type.Object({}),
  } as never);
  refused(
    { restart: { annotation: "a/b", kinds: [Other] } },
    /restart kind Other is not one of its crds/,
  );
  refused({ entry: "src/main.ts" }, /entry "src\/main.ts" must be an absolute path/);
});

test("watchScopes() is one unnamed scope for all namespaces, else one per namespace, suffixed when several", () => {
  assert.deepEqual(watchScopes([]), [{ namespace: undefined, suffix: "" }]);
  assert.deepEqual(watchScopes(["a"]), [{ namespace: "a", suffix: "" }]);
  assert.deepEqual(watchScopes(["a", "b"]), [
    { namespace: "a", suffix: "-a" },
    { namespace: "b", suffix: "-b" },
  ]);
});
