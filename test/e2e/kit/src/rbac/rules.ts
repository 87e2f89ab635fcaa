/**
 * An operator's declared RBAC rules against the requests it made: which
 * rule allows a request, and which declared permission no request needed.
 * Pure, so the matcher is tested without an API server; it follows the
 * RBAC authorizer's rules: `*` for any group, resource or verb, a
 * `*` before a subresource for that subresource of any resource, and
 * `resourceNames` for named objects only.
 */
import type { OperatorRules, PolicyRule } from "@ballast/runtime";
import type { Access } from "./trace.ts";

export type { PolicyRule };

/** An operator's rules in the three scopes a chart binds differently (the runtime's, reasons optional). */
export type DeclaredRbac = { readonly [Scope in keyof OperatorRules]: readonly PolicyRule[] };

/** What one request asked the authorizer. */
export type Check = Pick<Access, "group" | "resource" | "verb" | "name">;

/** Whether `rule` allows `check`, as the RBAC authorizer decides it. */
export function allows(rule: PolicyRule, check: Check): boolean {
  const any = (values: readonly string[], value: string) =>
    values.includes("*") || values.includes(value);
  if (!any(rule.apiGroups, check.group) || !any(rule.verbs, check.verb)) return false;
  const sub = check.resource.includes("/") ? check.resource.slice(check.resource.indexOf("/")) : "";
  const resourceAllowed =
    any(rule.resources, check.resource) || (sub !== "" && rule.resources.includes(`*${sub}`));
  if (!resourceAllowed) return false;
  if (!rule.resourceNames?.length) return true;
  return check.name !== undefined && rule.resourceNames.includes(check.name);
}

/**
 * The checks a traced request made. A server-side apply (PATCH) that
 * created its object (201) was also authorized as `create`, with the name.
 */
export function checksOf(access: Access): Check[] {
  const { group, resource, verb, name } = access;
  const base = { group, resource, ...(name !== undefined ? { name } : {}) };
  const checks: Check[] = [{ ...base, verb }];
  if (verb === "patch" && access.status === 201) checks.push({ ...base, verb: "create" });
  return checks;
}

/** The refused requests: 401 or 403. */
export function refused(accesses: readonly Access[]): Access[] {
  return accesses.filter((a) => a.status === 401 || a.status === 403);
}

/** `group|resource|verb`, with `|name` for a rule limited to names. */
export type PermissionKey = string;

/** Every single permission `rules` grant: one per group, resource, verb and name. */
export function permissions(
  rules: readonly PolicyRule[],
): { key: PermissionKey; rule: PolicyRule }[] {
  return rules.flatMap((r) =>
    r.apiGroups.flatMap((g) =>
      r.resources.flatMap((res) =>
        r.verbs.flatMap((v) => {
          const one = { apiGroups: [g], resources: [res], verbs: [v] };
          if (!r.resourceNames?.length) return [{ key: `${g}|${res}|${v}`, rule: one }];
          return r.resourceNames.map((n) => ({
            key: `${g}|${res}|${v}|${n}`,
            rule: { ...one, resourceNames: [n] },
          }));
        }),
      ),
    ),
  );
}

/**
 * The declared permissions no allowed request used, as keys, leaving out
 * `notARequest`: permissions checked some other way (admission's
 * OwnerReferencesPermissionEnforcement, say), never by a request of their own.
 */
export function unexercised(
  rules: readonly PolicyRule[],
  accesses: readonly Access[],
  notARequest: Iterable<PermissionKey> = [],
): PermissionKey[] {
  const skip = new Set(notARequest);
  const denied = new Set(refused(accesses));
  const checks = accesses.filter((a) => !denied.has(a)).flatMap(checksOf);
  return permissions(rules)
    .filter((p) => !skip.has(p.key) && !checks.some((c) => allows(p.rule, c)))
    .map((p) => p.key);
}
