/**
 * An operator's Kubernetes permissions, declared as data next to the code
 * that needs them, so a Helm chart's RBAC can be generated rather than
 * written by hand, and tests can prove the rules are exactly what is used.
 *
 * Three scopes, because a chart binds them differently:
 * - `namespaced`: what the controllers touch inside the namespaces they
 *   watch; a ClusterRole when watching all namespaces, one Role per
 *   namespace otherwise.
 * - `cluster`: cluster-scoped kinds, here the operator's own CRDs, which
 *   `--install-crds` applies and upgrades; always a ClusterRole.
 * - `leaderElection`: the Lease in the operator's own namespace.
 *
 * The operator declares only the first (and any cluster-scoped kinds of its
 * own); `operatorRules()` adds what the runtime itself calls: the CRD
 * installer's rules, limited by name to the operator's CRDs, and the
 * leader elector's.
 */
import type { ResourceDefinition } from "../crd/define.ts";

/** One RBAC PolicyRule, as a Role or ClusterRole lists it. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** Only these objects; RBAC cannot limit `create` (or `list`/`watch`) by name. */
  resourceNames?: string[];
}

/** A rule together with the code that needs it (a sentence naming the source files). */
export interface DeclaredRule extends PolicyRule {
  why: string;
}

/** The three scopes a chart binds, each rule with its reason. */
export interface OperatorRules {
  namespaced: DeclaredRule[];
  cluster: DeclaredRule[];
  leaderElection: DeclaredRule[];
}

/** The rule as RBAC stores it (without `why`; `resourceNames` only when set). */
export function toPolicyRule(rule: PolicyRule): PolicyRule {
  return {
    apiGroups: [...rule.apiGroups],
    resources: [...rule.resources],
    verbs: [...rule.verbs],
    ...(rule.resourceNames ? { resourceNames: [...rule.resourceNames] } : {}),
  };
}

/**
 * What `installCrds()` calls for these CRDs: a server-side apply (PATCH by
 * name; authorized as `create` too when it creates the CRD) and then GETs
 * by name until the CRD is Established. It never lists, watches or deletes.
 *
 * `get` and `patch` are limited to the CRDs' names, so the operator can
 * neither read nor change anyone else's CRD. `create` stays unnamed: RBAC
 * does not promise to check names for create (the object's name is not
 * part of the URL of a POST), so a named create rule is not relied on.
 */
export function crdInstallRules(crds: readonly ResourceDefinition[]): DeclaredRule[] {
  if (crds.length === 0) return [];
  const names = [...new Set(crds.map((c) => c.crdName))].sort();
  const group = ["apiextensions.k8s.io"];
  const resource = ["customresourcedefinitions"];
  return [
    {
      apiGroups: group,
      resources: resource,
      verbs: ["get", "patch"],
      resourceNames: names,
      why: "--install-crds (runtime operator/run.ts): runtime crd/install.ts server-side apply, then get until Established, of these CRDs only",
    },
    {
      apiGroups: group,
      resources: resource,
      verbs: ["create"],
      why: "--install-crds (runtime operator/run.ts): runtime crd/install.ts server-side apply that creates a CRD (RBAC cannot limit create by name)",
    },
  ];
}

/** What the runtime's LeaderElector calls on its Lease. */
export const leaderElectionRules: readonly DeclaredRule[] = [
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    verbs: ["get", "create", "update"],
    why: "runtime leader/elector.ts (get, create when missing, update to acquire/renew)",
  },
];

/** What the runtime's EventRecorder calls: for operators that record Events. */
export const eventRecorderRule: DeclaredRule = {
  apiGroups: ["events.k8s.io"],
  resources: ["events"],
  verbs: ["create", "patch"],
  why: "runtime events/recorder.ts (create, then patch the series of a repeated event)",
};

/** The rules an operator declares in its descriptor. */
export interface DeclaredOperatorRules {
  /** Everything its controllers call in the namespaces they watch. */
  namespaced: readonly DeclaredRule[];
  /** Cluster-scoped kinds it uses besides its own CRDs (which the runtime adds). */
  cluster?: readonly DeclaredRule[];
}

/**
 * Every permission of an operator, in the three scopes: its declared rules,
 * plus the CRD installer's (limited to `crds`) and the leader elector's.
 */
export function operatorRules(operator: {
  crds: readonly ResourceDefinition[];
  rules: DeclaredOperatorRules;
}): OperatorRules {
  return {
    namespaced: operator.rules.namespaced.map(copy),
    cluster: [...(operator.rules.cluster ?? []), ...crdInstallRules(operator.crds)].map(copy),
    leaderElection: leaderElectionRules.map(copy),
  };
}

function copy(rule: DeclaredRule): DeclaredRule {
  return { ...toPolicyRule(rule), why: rule.why };
}
