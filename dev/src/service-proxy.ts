/**
 * Services with cluster IPs: one kube-proxy per cluster, in nftables mode,
 * serving all the cluster's local nodes (they share the host's network
 * namespace), and what the host needs for its rules to carry pod traffic.
 *
 * Why each cluster's table is renamed: kube-proxy names its nftables tables
 * with a constant (`kubeProxyTable = "kube-proxy"` in
 * pkg/proxy/nftables/proxier.go; not configurable), so two kube-proxies on
 * one host would share `table ip kube-proxy` and each sync would erase the
 * other cluster's Services. This cluster's kube-proxy finds on its PATH an
 * `nft` that renames that one table to `kube-proxy-bst<N>` in each command it
 * runs, and changes nothing else (knftables, which kube-proxy uses, writes
 * the table only as `<verb> <object> <family> kube-proxy`, and never checks
 * the table name in what `nft` answers). Every chain, set and map then lives
 * in a table of this cluster's name, and its rules match only this cluster's
 * service CIDR and its NodePorts on its own bridge's address.
 *
 * What this kernel needs for pod → ClusterIP → pod on one bridge (tried on
 * 6.18 with the tests of dev/test/service-proxy.test.ts; see dev/README.md):
 * 1. Forwarding on the bridge alone: a pod's packet to a cluster IP reaches
 *    the host, is DNATed to another pod and leaves by the bridge it came in
 *    on (br_netfilter re-bridges it: no IP forward, no ICMP redirect). The
 *    host's `net.ipv4.ip_forward` stays as it was. Forwarding on the bridge
 *    would also let pods' other packets leave by the host's other links (to
 *    another cluster's pods, or out of the machine), so a table of ours,
 *    `ballast-bst<N>`, refuses those as the host did before (ICMP host
 *    unreachable), after kube-proxy's own filter chains.
 * 2. br_netfilter on the bridge (`nf_call_iptables`): the answering pod
 *    replies straight to the client over the bridge, and only conntrack on
 *    the bridged path turns its source back into the cluster IP. With it,
 *    kube-proxy needs no --masquerade-all: pods see their clients' own IPs.
 * 3. Hairpin mode on each pod's bridge port (network.ts): a pod reaching
 *    itself through its own Service is masqueraded by kube-proxy, but the
 *    bridge still refuses to send the packet back out the port it came from.
 *
 * No route for the service CIDR: as on a real node, the host's own
 * connections to a cluster IP leave by its default route and are DNATed in
 * `output`. (A route on the bridge made every packet to a cluster IP without
 * endpoints an IP forward in and out of the bridge, answered with ICMP
 * redirects that pods then followed into a timeout instead of a refusal.)
 *
 * Clean-up: the sysctl and the bridge option go with the bridge; the tables
 * are deleted with the cluster network (network.ts), also by the sweep that
 * removes a crashed cluster's network.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { DevClusterError } from "./errors.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { ClusterNetwork } from "./node/network.ts";
import type { Pki } from "./pki.ts";
import { installFix, locate } from "./system-packages.ts";

const run = promisify(execFile);

/** The nftables table (in the `ip` and `ip6` families) that holds this cluster's Services. */
export function proxyTable(net: ClusterNetwork): string {
  return `kube-proxy-${net.bridge}`;
}

/** Our own table (family `ip`): what forwarding on the bridge must not let through. */
export function guardTable(net: ClusterNetwork): string {
  return `ballast-${net.bridge}`;
}

/** Every table a cluster with a service proxy adds, as [family, name]. */
function tablesOf(net: ClusterNetwork): [string, string][] {
  return [
    ["ip", proxyTable(net)],
    ["ip6", proxyTable(net)],
    ["ip", guardTable(net)],
  ];
}

/** The path of `nft`; a DevClusterError naming Debian's package when it is missing. */
export function requireNft(env: NodeJS.ProcessEnv = process.env): string {
  const path = locate("nft", env);
  if (path) return path;
  throw new DevClusterError(
    "The service proxy needs nftables, and `nft` is not on PATH: kube-proxy writes each Service as nftables rules.",
    installFix("nft"),
  );
}

/** Points 1 and 2 of the module comment. */
export async function prepareBridgeForServices(net: ClusterNetwork, nft: string): Promise<void> {
  const guard = guardTable(net);
  await runWithInput(
    nft,
    ["-f", "-"],
    // Priority filter + 10: after kube-proxy's reject of a Service without
    // endpoints, so a pod still sees "connection refused" there.
    `table ip ${guard} {
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
    iifname "${net.bridge}" oifname != "${net.bridge}" reject with icmp type host-unreachable
  }
}
`,
  );
  await run("ip", ["link", "set", net.bridge, "type", "bridge", "nf_call_iptables", "1"]);
  writeFileSync(`/proc/sys/net/ipv4/conf/${net.bridge}/forwarding`, "1");
}

function runWithInput(command: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`${command} ${args.join(" ")}: ${stderr || error.message}`))
        : resolve(),
    );
    child.stdin?.end(input);
  });
}

export interface KubeProxyInput {
  /** The cluster's directory: kube-proxy's files go under `kube-proxy/`. */
  dir: string;
  pki: Pki;
  server: string;
  clusterName: string;
  net: ClusterNetwork;
  /**
   * The Node kube-proxy says it runs on. It waits for that Node to exist, and
   * `internalTrafficPolicy: Local` keeps only that node's endpoints.
   */
  nodeName: string;
  healthzPort: number;
  metricsPort: number;
  /** The real nft (requireNft()). */
  nft: string;
}

export interface KubeProxyLaunch {
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Its metrics: kubeProxySynced() tells from them when its rules are written. */
  metrics: string;
}

/**
 * kube-proxy has written its IPv4 rules once: its metric of the last
 * successful sync exists. (Its /healthz cannot tell: the sync loop marks
 * itself updated when it starts, "in case Sync() never succeeds".)
 */
export function kubeProxySynced(result: { status: number; body: string }): boolean {
  if (result.status !== 200) return false;
  const sample =
    /^kubeproxy_sync_proxy_rules_last_timestamp_seconds\{ip_family="IPv4"\} (\S+)$/m.exec(
      result.body,
    );
  return Number(sample?.[1] ?? 0) > 0;
}

/** Writes kube-proxy's kubeconfig, configuration and `nft`; returns how to start it. */
export function writeKubeProxyFiles(input: KubeProxyInput): KubeProxyLaunch {
  const home = join(input.dir, "kube-proxy");
  const bin = join(home, "bin");
  mkdirSync(bin, { recursive: true });
  const client = input.pki.client("kubeProxy");
  const kubeconfig = join(home, "kubeconfig");
  writeKubeconfig(kubeconfig, {
    clusterName: input.clusterName,
    server: input.server,
    caCertPath: input.pki.caCert,
    user: "system:kube-proxy",
    clientCertPath: client.cert,
    clientKeyPath: client.key,
  });
  const nft = join(bin, "nft");
  writeFileSync(nft, nftShim(proxyTable(input.net), input.nft));
  chmodSync(nft, 0o755);
  const healthz = `127.0.0.1:${input.healthzPort}`;
  const config = join(home, "config.json");
  writeFileSync(
    config,
    `${JSON.stringify(kubeProxyConfig(input, kubeconfig, healthz), null, 2)}\n`,
  );
  return {
    args: [`--config=${config}`],
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` },
    metrics: `http://127.0.0.1:${input.metricsPort}/metrics`,
  };
}

function kubeProxyConfig(input: KubeProxyInput, kubeconfig: string, healthz: string) {
  return {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    hostnameOverride: input.nodeName,
    healthzBindAddress: healthz,
    metricsBindAddress: `127.0.0.1:${input.metricsPort}`,
    mode: "nftables",
    // Traffic from the pod network is the cluster's own: not masqueraded, so
    // servers see their clients' pod IPs, as with kube-proxy on a real node.
    detectLocalMode: "ClusterCIDR",
    clusterCIDR: input.net.podCidr,
    // NodePorts on this cluster's bridge address only: every cluster allocates
    // from 30000-32767, so on "every local address" two clusters would clash.
    nodePortAddresses: [`${input.net.gateway}/32`],
    // Leave the host's conntrack sysctls and our OOM score as they are.
    conntrack: {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: "0s",
      tcpCloseWaitTimeout: "0s",
    },
    oomScoreAdj: 0,
    enableProfiling: false,
  };
}

/** The `nft` kube-proxy runs: the real one, with its table renamed (see the module comment). */
export function nftShim(table: string, nft: string): string {
  return `#!/bin/sh
# Written by Ballast's local cluster (dev/src/service-proxy.ts) for one cluster's
# kube-proxy: its nftables table is "${table}", not the constant "kube-proxy".
for arg in "$@"; do
  shift
  case "$arg" in
    kube-proxy) arg=${table} ;;
    -) script=1 ;;
  esac
  set -- "$@" "$arg"
done
if [ -n "\${script:-}" ]; then
  sed -E 's/^([a-z]+ [a-z]+ (ip|ip6|inet)) kube-proxy( |$)/\\1 ${table}\\3/' | ${nft} "$@"
  exit $?
fi
exec ${nft} "$@"
`;
}

/** Deletes this cluster's tables; a no-op when there are none (or no nft at all). */
export async function deleteServiceRules(net: ClusterNetwork): Promise<void> {
  const nft = locate("nft");
  if (!nft) return;
  for (const [family, table] of tablesOf(net)) {
    await run(nft, ["delete", "table", family, table]).catch(() => {});
  }
}

/** Deletes every cluster's tables whose network is not `inUse`: what crashed clusters left. */
export async function sweepLeftoverServiceRules(inUse: (octet: number) => boolean): Promise<void> {
  const nft = locate("nft");
  if (!nft) return;
  const { stdout } = await run(nft, ["list", "tables"]).catch(() => ({ stdout: "" }));
  for (const match of stdout.matchAll(/^table (ip6?) ((?:kube-proxy|ballast)-bst(\d+))$/gm)) {
    const [, family, table, octet] = match;
    if (!family || !table || inUse(Number(octet))) continue;
    await run(nft, ["delete", "table", family, table]).catch(() => {});
  }
}
