/**
 * Entry point of one local node's process: `node dev/src/node/main.ts CONFIG`.
 * The control plane writes CONFIG (JSON) and starts this like its other
 * components.
 */
import { readFileSync } from "node:fs";
import { authFromKubeconfig } from "../api.ts";
import { NodeAgent } from "./agent.ts";
import { agentRuntime } from "./api-runtime.ts";
import { Kube } from "./kube.ts";
import { startKubeletApi } from "./kubelet-api/index.ts";
import { clusterNetworkOf, NodeIpam } from "./network.ts";

export interface NodeConfig {
  name: string;
  /** 1-based: the node's pod addresses are 10.<octet>.<index>.0/24. */
  index: number;
  zone: string;
  kubeconfig: string;
  dir: string;
  networkOctet: number;
  kubeletPort: number;
  kubeletTls: { cert: string; key: string; clientCa: string };
  kubernetesVersion: string;
  clusterDomain: string;
  /** The cluster runs kube-proxy (see network.ts: hairpin). */
  serviceProxy?: boolean;
}

const configPath = process.argv[2];
if (!configPath) {
  console.error("usage: node dev/src/node/main.ts CONFIG.json");
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, "utf8")) as NodeConfig;
const log = (message: string, fields: Record<string, unknown> = {}) =>
  console.log(
    JSON.stringify({ time: new Date().toISOString(), node: config.name, msg: message, ...fields }),
  );

const net = clusterNetworkOf(config.networkOctet, { hairpin: config.serviceProxy === true });
const agent = new NodeAgent({
  context: {
    kube: new Kube(authFromKubeconfig(config.kubeconfig)),
    nodeName: config.name,
    hostIP: "127.0.0.1",
    net,
    ipam: new NodeIpam(config.dir, net, config.index),
    dir: config.dir,
    clusterDomain: config.clusterDomain,
    log,
  },
  zone: config.zone,
  kubeletPort: config.kubeletPort,
  kubernetesVersion: config.kubernetesVersion,
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log("stopping", { signal });
    void agent
      .stop()
      .then(() => kubeletApi.close())
      .finally(() => process.exit(0));
  });
}

const kubeletApi = await startKubeletApi({
  host: "127.0.0.1",
  port: config.kubeletPort,
  tls: config.kubeletTls,
  runtime: agentRuntime(agent),
});
await agent.start();
log("node is up", { kubeletPort: config.kubeletPort, zone: config.zone });
