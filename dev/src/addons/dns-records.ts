/**
 * Cluster DNS names, computed from Services and EndpointSlices (pure).
 *
 * - `<service>.<ns>.svc.<domain>` → the service's ready endpoints' pod IPs.
 *   There is no kube-proxy on the local cluster, so a ClusterIP would lead
 *   nowhere: every service resolves the way a headless one does.
 * - `<hostname>.<service>.<ns>.svc.<domain>` → one endpoint that carries a
 *   hostname (StatefulSet pods under their headless service).
 * - `<a-b-c-d>.<ns>.pod.<domain>` → a-b-c-d read as an address.
 */

export interface SliceEndpoint {
  addresses: string[];
  hostname?: string;
  conditions?: { ready?: boolean };
}

export interface Slice {
  namespace: string;
  /** The `kubernetes.io/service-name` label. */
  service: string;
  endpoints: SliceEndpoint[];
}

export type Lookup =
  | { kind: "answer"; addresses: string[] }
  /** The name exists but has nothing of this type (e.g. AAAA, or no ready endpoint). */
  | { kind: "nodata" }
  | { kind: "nxdomain" };

export function buildRecords(
  services: { namespace: string; name: string }[],
  slices: Slice[],
  domain: string,
): Map<string, string[]> {
  const records = new Map<string, Set<string>>();
  const add = (name: string, address: string) => {
    let set = records.get(name);
    if (!set) {
      set = new Set();
      records.set(name, set);
    }
    if (address) set.add(address);
  };
  for (const service of services) add(`${service.name}.${service.namespace}.svc.${domain}`, "");
  for (const slice of slices) {
    const base = `${slice.service}.${slice.namespace}.svc.${domain}`;
    for (const endpoint of slice.endpoints) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) {
        add(base, address);
        if (endpoint.hostname) add(`${endpoint.hostname}.${base}`, address);
      }
    }
  }
  return new Map([...records].map(([name, set]) => [name, [...set].sort()]));
}

const podName = /^(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})\.[a-z0-9-]+\.pod\.(.+)$/;

export function lookup(records: Map<string, string[]>, name: string, domain: string): Lookup {
  const key = name.toLowerCase().replace(/\.$/, "");
  const known = records.get(key);
  if (known) return known.length > 0 ? { kind: "answer", addresses: known } : { kind: "nodata" };
  const pod = podName.exec(key);
  if (pod && pod[5] === domain) {
    const octets = pod.slice(1, 5).map(Number);
    if (octets.every((o) => o <= 255)) return { kind: "answer", addresses: [octets.join(".")] };
  }
  return { kind: "nxdomain" };
}
