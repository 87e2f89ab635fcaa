import assert from "node:assert/strict";
import { test } from "node:test";
import Type from "typebox";
import { defineResource } from "../crd/define.ts";
import { crdInstallRules, leaderElectionRules, operatorRules, toPolicyRule } from "./rbac.ts";

const Gadget = defineResource({
  group: "example.ballast.dev",
  version: "v1",
  kind: "Gadget",
  plural: "gadgets",
  scope: "Namespaced",
  description: "For tests.",
  spec: Type.Object({}),
});
const Widget = defineResource({
  group: "example.ballast.dev",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  scope: "Namespaced",
  description: "For tests.",
  spec: Type.Object({}),
});

test("crdInstallRules() limits get and patch to the CRDs' names; create stays unnamed", () => {
  const rules = crdInstallRules([Widget, Gadget]).map(toPolicyRule);
  assert.deepEqual(rules, [
    {
      apiGroups: ["apiextensions.k8s.io"],
      resources: ["customresourcedefinitions"],
      verbs: ["get", "patch"],
      resourceNames: ["gadgets.example.ballast.dev", "widgets.example.ballast.dev"],
    },
    {
      apiGroups: ["apiextensions.k8s.io"],
      resources: ["customresourcedefinitions"],
      verbs: ["create"],
    },
  ]);
});

test("crdInstallRules() of no CRDs grants nothing", () => {
  assert.deepEqual(crdInstallRules([]), []);
});

test("operatorRules() adds the CRD installer's and the elector's rules to the declared ones", () => {
  const events = { apiGroups: [""], resources: ["configmaps"], verbs: ["list"], why: "x.ts" };
  const nodes = { apiGroups: [""], resources: ["nodes"], verbs: ["get"], why: "y.ts" };
  const rules = operatorRules({
    crds: [Gadget],
    rules: { namespaced: [events], cluster: [nodes] },
  });
  assert.deepEqual(rules.namespaced, [events]);
  assert.deepEqual(rules.cluster, [nodes, ...crdInstallRules([Gadget])]);
  assert.deepEqual(rules.leaderElection, leaderElectionRules);
  // Copies: a caller changing them changes no descriptor.
  rules.namespaced[0]?.verbs.push("watch");
  assert.deepEqual(events.verbs, ["list"]);
});

test("toPolicyRule() drops why and leaves resourceNames out when there are none", () => {
  const rule = toPolicyRule({
    apiGroups: ["a"],
    resources: ["b"],
    verbs: ["get"],
    why: "c",
  } as never);
  assert.deepEqual(rule, { apiGroups: ["a"], resources: ["b"], verbs: ["get"] });
  assert.ok(!("resourceNames" in rule) && !("why" in rule));
});
