/**
 * Has an object drifted from what we apply? Compared on exactly the fields
 * we set: the API server adds defaults around them (a Service's clusterIP,
 * a port's protocol, managed fields), which must not count, while any field
 * we set that reads differently must — a Service selector edited by hand, a
 * label removed, a budget's minAvailable. Pure.
 */

/**
 * True when `current` holds every field of `want` with the same value.
 * Objects: every key of `want` is in `current` and matches. Arrays: same
 * length, and each element matches in order (the API server keeps list
 * order). Scalars: equal.
 */
export function holdsFields(
  current: unknown,
  want: unknown,
  exact: ReadonlySet<string> = new Set(),
  path = "",
): boolean {
  if (exact.has(path)) return JSON.stringify(sorted(current)) === JSON.stringify(sorted(want));
  if (Array.isArray(want)) {
    return (
      Array.isArray(current) &&
      current.length === want.length &&
      want.every((w, i) => holdsFields(current[i], w, exact, `${path}[]`))
    );
  }
  if (want !== null && typeof want === "object") {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return false;
    const c = current as Record<string, unknown>;
    return Object.entries(want as Record<string, unknown>).every(
      ([key, value]) =>
        value === undefined || holdsFields(c[key], value, exact, path ? `${path}.${key}` : key),
    );
  }
  return Object.is(current, want);
}

/**
 * Maps whose every key matters: a key added by hand to a selector changes
 * what it selects. Only maps the API server replaces whole on an apply
 * (atomic: a Service's selector, a LabelSelector) may be here; for a
 * granular map (a ConfigMap's data) a key someone else added survives our
 * apply, and comparing it exactly would apply again on every reconcile.
 */
export const exactMaps: ReadonlySet<string> = new Set([
  "spec.selector",
  "spec.selector.matchLabels",
]);

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sorted(v)]),
    );
  return value;
}

/**
 * The part of an applied object whose change we act on: everything but the
 * object's identity (apiVersion, kind, name and namespace match by
 * construction).
 */
export function drifted(current: object, want: { metadata: object }): boolean {
  const {
    apiVersion: _a,
    kind: _k,
    metadata,
    ...body
  } = want as Record<string, unknown> & {
    metadata: Record<string, unknown>;
  };
  const { name: _n, namespace: _ns, ...meta } = metadata;
  return !holdsFields(current, { ...body, metadata: meta }, exactMaps);
}
