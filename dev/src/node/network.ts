/**
 * Pod networking for the local nodes: one Linux bridge per cluster, one
 * network namespace per pod joined to it by a veth pair.
 *
 *   host ── bridge bst<N> 10.<N>.0.1/16 ──┬── veth ── [netns of pod a] eth0 10.<N>.1.2
 *                                         └── veth ── [netns of pod b] eth0 10.<N>.2.7
 *
 * Every pod reaches every other pod and the host on one L2 segment, with no
 * NAT or iptables. A pod's MAC address follows from its IP (`macFor`): a
 * pod made again once its predecessor is gone usually gets the address
 * it freed (`NodeIpam` hands out the lowest free one), and with a new random MAC every neighbour
 * cache that knew the address — the host's, other pods' — would keep
 * sending to the old one until the entry expired: a PostgreSQL primary's
 * replacement pod was unreachable for 10–38 s after a switchover (bench P2). Node i hands out addresses from 10.<N>.i.0/24. `ip netns
 * exec` bind-mounts /etc/netns/<netns>/{resolv.conf,hosts} over /etc in the
 * pod's processes, which is how each pod gets its own DNS settings.
 *
 * The cluster's Services get 10.<N-100>.0.0/16, outside every pod network, so
 * a pod sends service traffic to its gateway (the host), where the cluster's
 * kube-proxy rewrites it (service-proxy.ts). Two clusters never share either
 * range: both derive from the bridge's octet.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { deleteServiceRules, sweepLeftoverServiceRules } from "../service-proxy.ts";

const run = promisify(execFile);

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run("ip", args);
  return stdout;
}

/** The cluster-wide network: chosen once by the control plane. */
export interface ClusterNetwork {
  /** The second octet: 10.<octet>.0.0/16. */
  octet: number;
  bridge: string;
  /** The bridge's address: the host as seen from pods, and where DNS listens. */
  gateway: string;
  /** The pods' addresses: 10.<octet>.0.0/16. */
  podCidr: string;
  /** The Services' cluster IPs, when the cluster has a service proxy: 10.<octet-100>.0.0/16. */
  serviceCidr: string;
  /** The first address of `serviceCidr`: the `kubernetes` Service's cluster IP. */
  kubernetesServiceIp: string;
  /**
   * Pods' bridge ports in hairpin mode, so a pod reaches itself through its
   * own Service (see service-proxy.ts). Set only for clusters with a service proxy.
   */
  hairpin?: boolean;
}

export function clusterNetworkOf(
  octet: number,
  options: { hairpin?: boolean } = {},
): ClusterNetwork {
  const services = octet - 100;
  return {
    octet,
    bridge: `bst${octet}`,
    gateway: `10.${octet}.0.1`,
    podCidr: `10.${octet}.0.0/16`,
    serviceCidr: `10.${services}.0.0/16`,
    kubernetesServiceIp: `10.${services}.0.1`,
    ...(options.hairpin ? { hairpin: true } : {}),
  };
}

/**
 * Networks are machine-wide, and a cluster killed with SIGKILL cannot delete
 * its own. Each network records the processes that use it; a network none of
 * whose processes is alive is a leftover and is removed by the next cluster
 * that starts.
 */
const registry = "/run/ballast/networks";

export function registerNetworkUsers(net: ClusterNetwork, pids: number[]): void {
  mkdirSync(registry, { recursive: true });
  writeFileSync(join(registry, String(net.octet)), JSON.stringify({ pids }));
}

async function sweepLeftoverNetworks(): Promise<void> {
  const inUse = new Set<number>();
  for (const entry of safeReaddir(registry)) {
    const octet = Number(entry);
    let pids: number[] = [];
    try {
      pids = (JSON.parse(readFileSync(join(registry, entry), "utf8")) as { pids: number[] }).pids;
    } catch {
      // Unreadable: treat as abandoned.
    }
    if (!pids.some(alive)) {
      await deleteClusterNetwork(clusterNetworkOf(octet));
    } else {
      inUse.add(octet);
    }
  }
  // Rules whose network's registry entry is gone too (e.g. /run was cleared).
  await sweepLeftoverServiceRules((octet) => inUse.has(octet));
}

/** A zombie counts as dead: a SIGKILLed cluster's processes are ones until init reaps them. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Picks a 10.x.0.0/16 that no route on this machine uses yet, and creates its bridge. */
export async function createClusterNetwork(): Promise<ClusterNetwork> {
  await sweepLeftoverNetworks();
  const routes = await ip("-4", "route", "show");
  const links = await ip("-o", "link", "show");
  for (let octet = 200; octet < 250; octet++) {
    const net = clusterNetworkOf(octet);
    const taken = [`10.${octet}.`, `10.${octet - 100}.`].some((prefix) => routes.includes(prefix));
    if (taken || links.includes(`${net.bridge}:`)) continue;
    // Creating the bridge is the claim: a cluster starting at the same moment
    // may have taken this octet since we listed the links.
    const claimed = await ip("link", "add", net.bridge, "type", "bridge").then(
      () => true,
      (error: { stderr?: string }) => {
        if (/File exists/.test(error.stderr ?? "")) return false;
        throw error;
      },
    );
    if (!claimed) continue;
    await ip("addr", "add", `${net.gateway}/16`, "dev", net.bridge);
    await ip("link", "set", net.bridge, "up");
    registerNetworkUsers(net, [process.pid]);
    return net;
  }
  throw new Error("no free 10.200-249.0.0/16 network for the local cluster's pods");
}

export async function deleteClusterNetwork(net: ClusterNetwork): Promise<void> {
  for (const ns of await listNetns()) {
    if (ns.startsWith(`${net.bridge}-`)) await deletePodNetwork(ns);
  }
  // The bridge takes its sysctls and options with it; the rules are named for it.
  await ip("link", "del", net.bridge).catch(() => {});
  await deleteServiceRules(net);
  rmSync(join(registry, String(net.octet)), { force: true });
}

async function listNetns(): Promise<string[]> {
  const out = await ip("netns", "list").catch(() => "");
  return out
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter(Boolean);
}

export interface PodNetwork {
  netns: string;
  ip: string;
  hostVeth: string;
}

/** Per-node address bookkeeping: a file per used address, so a node restart keeps its pods' IPs. */
export class NodeIpam {
  readonly #dir: string;
  readonly #prefix: string;

  constructor(stateDir: string, net: ClusterNetwork, nodeIndex: number) {
    this.#dir = join(stateDir, "ipam");
    this.#prefix = `10.${net.octet}.${nodeIndex}`;
    mkdirSync(this.#dir, { recursive: true });
  }

  /** The address held for `podUid`, or a newly allocated one. */
  allocate(podUid: string): string {
    for (const file of readdirSync(this.#dir)) {
      if (readFileSync(join(this.#dir, file), "utf8") === podUid) return `${this.#prefix}.${file}`;
    }
    for (let host = 2; host < 255; host++) {
      const file = join(this.#dir, String(host));
      if (!existsSync(file)) {
        writeFileSync(file, podUid, { flag: "wx" });
        return `${this.#prefix}.${host}`;
      }
    }
    throw new Error(`node address range ${this.#prefix}.0/24 is full`);
  }

  release(podUid: string): void {
    for (const file of readdirSync(this.#dir)) {
      if (readFileSync(join(this.#dir, file), "utf8") === podUid) rmSync(join(this.#dir, file));
    }
  }
}

/**
 * The MAC a pod with IPv4 `address` gets: locally administered, unicast
 * (0x02 first), the address's four bytes last — one MAC per IP, so a stale
 * neighbour entry for a reused IP is still right.
 */
export function macFor(address: string): string {
  const bytes = address.split(".").map(Number);
  if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255))
    throw new Error(`not an IPv4 address: ${address}`);
  return ["02", "42", ...bytes.map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

export function netnsName(net: ClusterNetwork, podUid: string): string {
  return `${net.bridge}-${podUid.replaceAll("-", "").slice(0, 12)}`;
}

/** Creates (or finds) the pod's namespace, its veth pair and address. Idempotent. */
export async function ensurePodNetwork(
  net: ClusterNetwork,
  podUid: string,
  address: string,
  files: { resolvConf: string; hosts: string },
): Promise<PodNetwork> {
  const netns = netnsName(net, podUid);
  const hostVeth = `v${net.octet}${podUid.replaceAll("-", "").slice(0, 10)}`;
  // `ip netns exec` mounts these over /etc/resolv.conf and /etc/hosts.
  const etc = join("/etc/netns", netns);
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, "resolv.conf"), files.resolvConf);
  writeFileSync(join(etc, "hosts"), files.hosts);

  if (!(await listNetns()).includes(netns)) {
    await ip("netns", "add", netns);
    await ip("link", "add", hostVeth, "type", "veth", "peer", "name", `${hostVeth}p`);
    await ip("link", "set", `${hostVeth}p`, "netns", netns);
    const inPod = (...args: string[]) => ip("-n", netns, ...args);
    await inPod("link", "set", `${hostVeth}p`, "name", "eth0");
    await inPod("link", "set", "eth0", "address", macFor(address));
    await inPod("addr", "add", `${address}/16`, "dev", "eth0");
    await inPod("link", "set", "eth0", "up");
    await inPod("link", "set", "lo", "up");
    await inPod("route", "add", "default", "via", net.gateway);
    await ip("link", "set", hostVeth, "master", net.bridge);
    if (net.hairpin) await ip("link", "set", hostVeth, "type", "bridge_slave", "hairpin", "on");
    await ip("link", "set", hostVeth, "up");
  }
  return { netns, ip: address, hostVeth };
}

export async function deletePodNetwork(netns: string): Promise<void> {
  // Deleting the namespace destroys its end of the veth, and with it the pair.
  await ip("netns", "del", netns).catch(() => {});
  rmSync(join("/etc/netns", netns), { recursive: true, force: true });
}

/** Rewrites the pod's /etc/hosts in place: the file is bind-mounted, so it must keep its inode. */
export function updatePodHosts(netns: string, hosts: string): void {
  const path = join("/etc/netns", netns, "hosts");
  if (existsSync(path)) writeFileSync(path, hosts);
}
