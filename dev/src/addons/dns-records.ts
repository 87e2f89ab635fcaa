/**
 * Cluster DNS names, computed from Services and EndpointSlices (pure).
 *
 * - `<service>.<ns>.svc.<domain>` → with `clusterIps` (the cluster runs
 *   kube-proxy), a Service's cluster IP, as CoreDNS answers; a headless
 *   Service (`clusterIP: None`) → its ready endpoints' pod IPs. Without
 *   `clusterIps` a cluster IP would lead nowhere, so every Service resolves
 *   the way a headless one does.
 * - `<hostname>.<service>.<ns>.svc.<domain>` → one endpoint that carries a
 *   hostname (StatefulSet pods under their headless service); with
 *   `clusterIps`, as in CoreDNS, for headless Services only.
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

export interface ServiceInfo {
  namespace: string;
  name: string;
  /** `spec.clusterIPs`: `["None"]` for a headless Service, absent for ExternalName. */
  clusterIPs?: string[];
}

export interface RecordOptions {
  /** Answer a Service that has a cluster IP with it. @default false */
  clusterIps?: boolean;
}

const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function buildRecords(
  services: ServiceInfo[],
  slices: Slice[],
  domain: string,
  options: RecordOptions = {},
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
  // Services answered with their cluster IP: their endpoints are not published.
  const proxied = new Set<string>();
  for (const service of services) {
    const base = `${service.name}.${service.namespace}.svc.${domain}`;
    add(base, "");
    const clusterIPs = (service.clusterIPs ?? []).filter((ip) => ipv4.test(ip));
    if (options.clusterIps && clusterIPs.length > 0) {
      proxied.add(base);
      for (const ip of clusterIPs) add(base, ip);
    }
  }
  for (const slice of slices) {
    const base = `${slice.service}.${slice.namespace}.svc.${domain}`;
    if (proxied.has(base)) continue;
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
