import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { allows, type PolicyRule, permissions, unexercised } from "./rules.ts";
import { parseTraceLine } from "./trace.ts";

const trace = (...lines: string[]) =>
  lines.map((l) => {
    const a = parseTraceLine(l);
    if (!a) throw new Error(`not a resource request: ${l}`);
    return a;
  });

const word = fc.constantFrom("a", "b", "c", "");
/** A request, with a name or without one (a list, a create). */
const check = fc.record(
  {
    group: word,
    resource: fc.constantFrom("pods", "pods/status", "leases", "configmaps"),
    verb: fc.constantFrom("get", "list", "create", "patch"),
    name: fc.constantFrom("x", "y", "z"),
  },
  { requiredKeys: ["group", "resource", "verb"] },
);

test("allows() a rule with resourceNames allows only requests for those names", () => {
  fc.assert(
    fc.property(
      check,
      fc.uniqueArray(fc.constantFrom("x", "y", "z"), { minLength: 1 }),
      (c, names) => {
        const rule = { apiGroups: ["*"], resources: ["*"], verbs: ["*"], resourceNames: names };
        assert.equal(allows(rule, c), c.name !== undefined && names.includes(c.name));
      },
    ),
  );
});

test("allows() is what the rule's expanded permissions allow, one of them at least", () => {
  const rule = fc.record({
    apiGroups: fc.uniqueArray(word, { minLength: 1, maxLength: 2 }),
    resources: fc.uniqueArray(fc.constantFrom("pods", "pods/status", "leases"), {
      minLength: 1,
      maxLength: 2,
    }),
    verbs: fc.uniqueArray(fc.constantFrom("get", "list", "patch"), { minLength: 1, maxLength: 2 }),
    resourceNames: fc.uniqueArray(fc.constantFrom("x", "y"), { maxLength: 2 }),
  });
  fc.assert(
    fc.property(rule, check, (r, c) => {
      const any = permissions([r]).some((p) => allows(p.rule, c));
      assert.equal(any, allows(r, c));
    }),
  );
});

test("allows() matches wildcards and a wildcard subresource as RBAC does", () => {
  const c = { group: "apps", resource: "deployments/scale", verb: "patch" };
  assert.ok(allows({ apiGroups: ["apps"], resources: ["*/scale"], verbs: ["patch"] }, c));
  assert.ok(allows({ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, c));
  assert.ok(!allows({ apiGroups: ["apps"], resources: ["deployments"], verbs: ["patch"] }, c));
  assert.ok(!allows({ apiGroups: ["apps"], resources: ["*/status"], verbs: ["patch"] }, c));
  assert.ok(!allows({ apiGroups: [""], resources: ["*"], verbs: ["*"] }, c));
});

test("unexercised() lists a permission only no allowed request used", () => {
  const rules: PolicyRule[] = [
    { apiGroups: [""], resources: ["pods"], verbs: ["list", "delete"] },
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["a", "b"] },
  ];
  const accesses = trace(
    "GET /api/v1/namespaces/ns/pods 200",
    "GET /api/v1/namespaces/ns/configmaps/a 404",
    // Refused: it exercised nothing.
    "DELETE /api/v1/namespaces/ns/pods/p 403",
    // Another name than the rule's.
    "GET /api/v1/namespaces/ns/configmaps/c 200",
  );
  assert.deepEqual(unexercised(rules, accesses), ["|pods|delete", "|configmaps|get|b"]);
  assert.deepEqual(unexercised(rules, accesses, ["|pods|delete"]), ["|configmaps|get|b"]);
});

test("unexercised() counts an apply that created its object as create, with the name", () => {
  const rules: PolicyRule[] = [
    { apiGroups: [""], resources: ["services"], verbs: ["create", "patch"], resourceNames: ["s"] },
  ];
  assert.deepEqual(
    unexercised(rules, trace("PATCH /api/v1/namespaces/ns/services/s?fieldManager=op 201")),
    [],
  );
  assert.deepEqual(
    unexercised(rules, trace("PATCH /api/v1/namespaces/ns/services/s?fieldManager=op 200")),
    ["|services|create|s"],
  );
});
