/** Starting the local nodes: their configuration, identities, and readiness. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentFailed, get, type TlsClient } from "./health.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { NodeConfig } from "./node/main.ts";
import type { Pki } from "./pki.ts";
import { sleep } from "./process.ts";
import { readVersions } from "./toolchain.ts";

export const nodeMain = fileURLToPath(new URL("./node/main.ts", import.meta.url));

export const defaultZones = ["zone-a", "zone-b", "zone-c"];

export function zoneOf(zones: string[] | undefined, index: number): string {
  const list = zones && zones.length > 0 ? zones : defaultZones;
  return list[(index - 1) % list.length] as string;
}

export interface NodeConfigInput {
  dir: string;
  pki: Pki;
  server: string;
  clusterName: string;
  nodeName: string;
  index: number;
  zone: string;
  networkOctet: number;
  kubeletPort: number;
}

/** Writes the node's kubeconfig (as system:node:<name>) and config file; returns the config's path. */
export async function writeNodeConfig(input: NodeConfigInput): Promise<string> {
  const nodeDir = join(input.dir, "nodes", input.nodeName);
  mkdirSync(nodeDir, { recursive: true });
  const identity = await input.pki.node(input.nodeName);
  const kubeconfig = join(nodeDir, "kubeconfig");
  writeKubeconfig(kubeconfig, {
    clusterName: input.clusterName,
    server: input.server,
    caCertPath: input.pki.caCert,
    user: `system:node:${input.nodeName}`,
    clientCertPath: identity.clientCert,
    clientKeyPath: identity.clientKey,
  });
  const config: NodeConfig = {
    name: input.nodeName,
    index: input.index,
    zone: input.zone,
    kubeconfig,
    dir: nodeDir,
    networkOctet: input.networkOctet,
    kubeletPort: input.kubeletPort,
    kubeletTls: {
      cert: identity.servingCert,
      key: identity.servingKey,
      clientCa: input.pki.caCert,
    },
    kubernetesVersion: readVersions().kubernetes,
    clusterDomain: "cluster.local",
  };
  const path = join(nodeDir, "config.json");
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

interface NodeObject {
  spec?: { taints?: { key: string }[] };
  status?: { conditions?: { type: string; status: string; lastHeartbeatTime?: string }[] };
}

/**
 * Waits until the Node reports Ready with a heartbeat from this run, and the
 * node lifecycle controller has lifted its not-ready taints — only then will
 * the scheduler place pods on it.
 */
export async function waitForNodeReady(
  server: string,
  tls: TlsClient,
  nodeName: string,
  timeoutMs: number,
  logFile: string,
  exited: Promise<unknown>,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  // Heartbeat times have one-second resolution.
  const since = Math.floor(Date.now() / 1000) * 1000 - 1000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw componentFailed(nodeName, logFile, "exited during start-up");
    const res = await get(`${server}/api/v1/nodes/${nodeName}`, tls);
    if (res.status === 200) {
      const node = JSON.parse(res.body) as NodeObject;
      const ready = node.status?.conditions?.find((c) => c.type === "Ready");
      const fresh = ready?.lastHeartbeatTime && Date.parse(ready.lastHeartbeatTime) >= since;
      const tainted = node.spec?.taints?.some((t) => t.key.startsWith("node.kubernetes.io/"));
      if (ready?.status === "True" && fresh && !tainted) return;
    }
    await sleep(250);
  }
  throw componentFailed(nodeName, logFile, `did not become Ready within ${timeoutMs / 1000}s`);
}
