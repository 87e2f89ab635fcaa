/** Starting the local nodes: their configuration, identities, and readiness. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddonsConfig } from "./addons/main.ts";
import { apiRequest } from "./api.ts";
import { componentFailed, get, type TlsClient } from "./health.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { NodeConfig } from "./node/main.ts";
import type { Pki } from "./pki.ts";
import { sleep } from "./process.ts";
import { readVersions } from "./toolchain.ts";

export const nodeMain = fileURLToPath(new URL("./node/main.ts", import.meta.url));
export const addonsMain = fileURLToPath(new URL("./addons/main.ts", import.meta.url));

/** What the addons process may do: read what DNS serves, provision and reclaim local volumes. */
const addonsRole = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  metadata: { name: "ballast:local-addons" },
  rules: [
    {
      apiGroups: [""],
      resources: ["services", "persistentvolumeclaims"],
      verbs: ["get", "list", "watch"],
    },
    {
      apiGroups: ["discovery.k8s.io"],
      resources: ["endpointslices"],
      verbs: ["get", "list", "watch"],
    },
    {
      apiGroups: [""],
      resources: ["persistentvolumes"],
      verbs: ["get", "list", "watch", "create", "delete"],
    },
    { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "create"] },
  ],
};

/** Grants the addons identity its role (as admin, once per cluster). */
export async function grantAddonsRole(server: string, tls: TlsClient): Promise<void> {
  const auth = {
    server,
    ca: readFileSync(tls.ca as string),
    cert: readFileSync(tls.cert as string),
    key: readFileSync(tls.key as string),
  };
  const roleRes = await apiRequest(auth, "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
    method: "POST",
    body: addonsRole,
  });
  const bindingRes = await apiRequest(
    auth,
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    {
      method: "POST",
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "ballast:local-addons" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "ballast:local-addons",
        },
        subjects: [
          {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "User",
            name: "system:ballast-local-addons",
          },
        ],
      },
    },
  );
  for (const res of [roleRes, bindingRes]) {
    if (res.status !== 201 && res.status !== 409)
      throw new Error(`granting the addons role: ${res.status}`);
  }
}

export function writeAddonsConfig(
  dir: string,
  pki: Pki,
  server: string,
  clusterName: string,
  networkOctet: number,
  serviceProxy = false,
): string {
  const client = pki.client("addons");
  const kubeconfig = join(dir, "addons.kubeconfig");
  writeKubeconfig(kubeconfig, {
    clusterName,
    server,
    caCertPath: pki.caCert,
    user: "system:ballast-local-addons",
    clientCertPath: client.cert,
    clientKeyPath: client.key,
  });
  const config: AddonsConfig = {
    kubeconfig,
    clusterDir: dir,
    networkOctet,
    clusterDomain: "cluster.local",
    ...(serviceProxy ? { serviceProxy } : {}),
  };
  const path = join(dir, "addons.json");
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

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
  /** The cluster runs kube-proxy: pods' bridge ports in hairpin mode. */
  serviceProxy?: boolean;
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
    ...(input.serviceProxy ? { serviceProxy: true } : {}),
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

/** Waits until a component's log shows `pattern` (for components with no health endpoint). */
export async function waitForLog(
  component: string,
  logFile: string,
  pattern: RegExp,
  timeoutMs: number,
  exited: Promise<unknown>,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw componentFailed(component, logFile, "exited during start-up");
    let text = "";
    try {
      text = readFileSync(logFile, "utf8");
    } catch {
      // Not written yet.
    }
    if (pattern.test(text)) return;
    await sleep(100);
  }
  throw componentFailed(component, logFile, `did not report ready within ${timeoutMs / 1000}s`);
}
