/**
 * The local cluster's addons, in one process: cluster DNS on the pod
 * network's gateway and the `local` StorageClass with its provisioner.
 * Started by the control plane when the cluster has nodes.
 */
import { readFileSync } from "node:fs";
import { authFromKubeconfig } from "../api.ts";
import { Kube } from "../node/kube.ts";
import { clusterNetworkOf } from "../node/network.ts";
import { startDns } from "./dns-server.ts";
import { ensureStorageClass, startProvisioner } from "./provisioner.ts";

export interface AddonsConfig {
  kubeconfig: string;
  clusterDir: string;
  networkOctet: number;
  clusterDomain: string;
  /** The cluster runs kube-proxy: DNS answers a ClusterIP Service with its cluster IP. */
  serviceProxy?: boolean;
}

const config = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as AddonsConfig;
const log = (message: string, fields: Record<string, unknown> = {}) =>
  console.log(
    JSON.stringify({
      time: new Date().toISOString(),
      component: "addons",
      msg: message,
      ...fields,
    }),
  );
const kube = new Kube(authFromKubeconfig(config.kubeconfig));
const stop = new AbortController();
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    stop.abort();
    process.exit(0);
  });
}

await ensureStorageClass(kube);
startProvisioner({ kube, clusterDir: config.clusterDir, signal: stop.signal, log });
await startDns({
  kube,
  address: clusterNetworkOf(config.networkOctet).gateway,
  domain: config.clusterDomain,
  clusterIps: config.serviceProxy === true,
  signal: stop.signal,
  log,
});
log("addons ready");
