/**
 * A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler, configured like a production
 * cluster (RBAC, the default admission plugins with Pod Security, service
 * account tokens, every controller running under its own service account).
 *
 * Start-up order, and why:
 * 1. etcd — the API server refuses to serve without its storage.
 * 2. kube-apiserver, until /readyz: its post-start hooks create the RBAC
 *    bootstrap roles the other components need.
 * 3. kube-controller-manager and kube-scheduler, until /healthz.
 * 4. The `default` ServiceAccount exists: created by the controller-manager,
 *    and required by admission before any pod can be created. Only now is the
 *    cluster "ready" for a test.
 * 5. With nodes: the addons, the nodes and (with `serviceProxy`) kube-proxy,
 *    side by side; kube-proxy waits for the Node it names. The pod network
 *    of a cluster with a service proxy is chosen before step 1, because the
 *    API server's service range and its certificate derive from it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DevClusterError } from "./errors.ts";
import { componentFailed, get, PortInUse, waitHealthy } from "./health.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import {
  type ClusterNetwork,
  clusterNetworkOf,
  createClusterNetwork,
  deleteClusterNetwork,
  registerNetworkUsers,
} from "./node/network.ts";
import {
  addonsMain,
  grantAddonsRole,
  nodeMain,
  waitForLog,
  waitForNodeReady,
  writeAddonsConfig,
  writeNodeConfig,
  zoneOf,
} from "./nodes.ts";
import { ensurePki, kubernetesServiceIp, type Pki } from "./pki.ts";
import { assertPortFree, freePort } from "./ports.ts";
import {
  isRunning,
  type Lifetime,
  type ProcessRecord,
  type Started,
  sleep,
  startProcess,
  stopProcess,
} from "./process.ts";
import {
  kubeProxySynced,
  prepareBridgeForServices,
  requireNft,
  writeKubeProxyFiles,
} from "./service-proxy.ts";
import { type BinaryName, ensureBinaries, readVersions } from "./toolchain.ts";

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

export interface ControlPlaneOptions {
  /** Holds everything of this cluster: data, certificates, logs, kubeconfigs. */
  dir: string;
  /** Cluster (and kubeconfig context) name. */
  name?: string;
  lifetime: Lifetime;
  /** Ports the user chose; the rest are picked free. */
  ports?: Partial<Ports>;
  /** Progress lines for a person watching. */
  onProgress?: (message: string) => void;
  /** @default 120000 */
  timeoutMs?: number;
  /** Local nodes that run pods as real processes. @default 0 */
  nodes?: number;
  /** Zones the nodes are spread over, round-robin. @default ["zone-a", "zone-b", "zone-c"] */
  zones?: string[];
  /**
   * Services get working cluster IPs: kube-proxy (nftables) runs for the
   * cluster, its service range is its own (10.<octet-100>.0.0/16, see
   * network.ts), and DNS answers a ClusterIP Service with its cluster IP.
   * `false`: no kube-proxy, and a Service name resolves to its ready pods'
   * IPs, as if it were headless. A cluster without nodes has no pods to
   * proxy for and never runs one. @default true
   */
  serviceProxy?: boolean;
}

/** The service range of a cluster without a service proxy (nothing routes it). */
export const defaultServiceCidr = "10.96.0.0/16";

/** What `dev status` and `dev down` read back: written once the cluster is up. */
export interface ClusterState {
  name: string;
  server: string;
  kubeconfig: string;
  ports: Ports;
  kubernetesVersion: string;
  processes: ProcessRecord[];
  /** The pods' network, when the cluster has nodes. */
  networkOctet?: number;
  /** `--service-cluster-ip-range`. */
  serviceCidr: string;
  /** kube-proxy runs: cluster IPs work (ControlPlaneOptions.serviceProxy). */
  serviceProxy?: boolean;
  nodes: string[];
  startedAt: string;
}

export type ComponentName =
  | "etcd"
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kube-proxy"
  | "addons"
  | `node-${number}`;

export interface ControlPlane extends ClusterState {
  dir: string;
  pki: Pki;
  /**
   * Stops one component (SIGTERM, then SIGKILL after `graceMs`) and starts it
   * again with the same flags and data, resolving once it is healthy. For
   * fault tests: an API server restart, an etcd restart.
   */
  restart(component: ComponentName, options?: { graceMs?: number }): Promise<void>;
  /** Stops one component and leaves it stopped (a node going down, for fault tests). */
  stopComponent(component: ComponentName, options?: { graceMs?: number }): Promise<void>;
  /** Starts a stopped component again and waits until it is healthy. */
  startComponent(component: ComponentName): Promise<void>;
  /** Stops every process and, unless `keepData`, deletes `dir`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

const stateFile = (dir: string) => join(dir, "state.json");

export function readState(dir: string): ClusterState | undefined {
  if (!existsSync(stateFile(dir))) return undefined;
  return JSON.parse(readFileSync(stateFile(dir), "utf8")) as ClusterState;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const explicit = options.ports ?? {};
  const flags: Record<keyof Ports, string> = {
    etcdClient: "--etcd-port",
    etcdPeer: "--etcd-peer-port",
    apiserver: "--port",
    controllerManager: "--controller-manager-port",
    scheduler: "--scheduler-port",
  };
  for (const [key, port] of Object.entries(explicit) as [keyof Ports, number][]) {
    await assertPortFree(port, flags[key]);
  }
  assertNoStaleCluster(options.dir);

  const progress = options.onProgress ?? (() => {});
  const names: BinaryName[] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
  ];
  if (withServiceProxy(options)) {
    requireNft();
    names.push("kube-proxy");
  }
  const binaries = await ensureBinaries(names, {
    onBuild: (name, version) =>
      progress(`building ${name} (${version}) from Go modules — first run on this machine only`),
  });

  // Free ports are only free until someone binds them; on a clash, start over
  // on new ones (explicit ports are never changed).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, binaries, await choosePorts(explicit), progress);
    } catch (error) {
      const clash = error instanceof DevClusterError && error.cause instanceof PortInUse;
      if (!clash || attempt >= 3 || Object.keys(explicit).length > 0) throw error;
      progress("a port was taken during start-up; retrying on other ports");
    }
  }
}

function withServiceProxy(options: ControlPlaneOptions): boolean {
  return (options.serviceProxy ?? true) && (options.nodes ?? 0) > 0;
}

async function choosePorts(explicit: Partial<Ports>): Promise<Ports> {
  return {
    etcdClient: explicit.etcdClient ?? (await freePort()),
    etcdPeer: explicit.etcdPeer ?? (await freePort()),
    apiserver: explicit.apiserver ?? (await freePort()),
    controllerManager: explicit.controllerManager ?? (await freePort()),
    scheduler: explicit.scheduler ?? (await freePort()),
  };
}

/** A data directory whose processes are gone is what a crashed run leaves. */
function assertNoStaleCluster(dir: string): void {
  const state = readState(dir);
  const leftovers = existsSync(join(dir, "etcd"));
  if (!state && !leftovers) return;
  if (state?.processes.some(isRunning)) {
    throw new DevClusterError(
      `A cluster "${state.name}" is already running from ${dir} (API server ${state.server}).`,
      "Use it (`npx ballast dev status`), or stop it first with `npx ballast dev down`.",
    );
  }
  throw new DevClusterError(
    `${dir} holds the data of a cluster that is no longer running (a previous run crashed or was killed).`,
    "Run `npx ballast dev down` to remove it, then start again.",
  );
}

async function startOnce(
  options: ControlPlaneOptions,
  binaries: Record<string, string>,
  ports: Ports,
  progress: (message: string) => void,
): Promise<ControlPlane> {
  const name = options.name ?? "ballast";
  const dir = options.dir;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const serviceProxy = withServiceProxy(options);
  mkdirSync(join(dir, "logs"), { recursive: true });
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const started: Started[] = [];
  type Spec = { command: string; args: string[]; env?: NodeJS.ProcessEnv };
  const specs = new Map<ComponentName, Spec>();
  const log = (component: string) => join(dir, "logs", `${component}.log`);
  const launch = (
    component: ComponentName,
    command: string,
    args: string[],
    env?: NodeJS.ProcessEnv,
  ) => {
    const spec: Spec = { command, args, ...(env ? { env } : {}) };
    specs.set(component, spec);
    const s = startProcess({
      name: component,
      ...spec,
      logFile: log(component),
      lifetime: options.lifetime,
    });
    started.push(s);
    return s;
  };
  let network: ClusterNetwork | undefined;
  const stopAll = async () => {
    for (const s of [...started].reverse()) await stopProcess(s.record);
  };

  try {
    if (serviceProxy) network = await createClusterNetwork();
    const serviceCidr = network?.serviceCidr ?? defaultServiceCidr;
    const pki = await ensurePki(
      join(dir, "pki"),
      network?.kubernetesServiceIp ?? kubernetesServiceIp,
    );
    const admin = pki.client("admin");
    const adminTls = { ca: pki.caCert, cert: admin.cert, key: admin.key };
    const healthChecks: Record<
      string,
      {
        url: string;
        tls?: typeof adminTls;
        accept?: (r: { status: number; body: string }) => boolean;
      }
    > = {
      etcd: {
        url: `http://127.0.0.1:${ports.etcdClient}/health`,
        accept: (r) => r.status === 200 && r.body.includes('"health":"true"'),
      },
      "kube-apiserver": { url: `${server}/readyz`, tls: adminTls },
      "kube-controller-manager": { url: `https://127.0.0.1:${ports.controllerManager}/healthz` },
      "kube-scheduler": { url: `https://127.0.0.1:${ports.scheduler}/healthz` },
    };
    const waitFor = (component: ComponentName, s: Started) =>
      component === "addons"
        ? waitForLog(component, log(component), /"addons ready"/, timeoutMs, s.exited)
        : component.startsWith("node-")
          ? waitForNodeReady(
              server,
              adminTls,
              `${name}-${component}`,
              timeoutMs,
              log(component),
              s.exited,
            )
          : waitHealthy({
              component,
              ...(healthChecks[component] as { url: string }),
              timeoutMs,
              logFile: log(component),
              exited: s.exited,
            });

    progress(`starting etcd on 127.0.0.1:${ports.etcdClient}`);
    await waitFor("etcd", launch("etcd", binaries.etcd as string, etcdArgs(dir, ports)));

    progress(`starting kube-apiserver on ${server}`);
    await waitFor(
      "kube-apiserver",
      launch(
        "kube-apiserver",
        binaries["kube-apiserver"] as string,
        apiserverArgs(pki, ports, serviceCidr),
      ),
    );

    const kubeconfigs = {
      admin: join(dir, "kubeconfig"),
      controllerManager: join(dir, "controller-manager.kubeconfig"),
      scheduler: join(dir, "scheduler.kubeconfig"),
    };
    for (const [identity, path] of Object.entries(kubeconfigs)) {
      const client = pki.client(identity);
      writeKubeconfig(path, {
        clusterName: name,
        server,
        caCertPath: pki.caCert,
        user: identity,
        clientCertPath: client.cert,
        clientKeyPath: client.key,
      });
    }

    progress("starting kube-controller-manager and kube-scheduler");
    const kcm = launch(
      "kube-controller-manager",
      binaries["kube-controller-manager"] as string,
      controllerManagerArgs(dir, pki, ports, name, kubeconfigs.controllerManager),
    );
    const scheduler = launch(
      "kube-scheduler",
      binaries["kube-scheduler"] as string,
      schedulerArgs(dir, ports, kubeconfigs.scheduler),
    );
    await Promise.all([
      waitFor("kube-controller-manager", kcm),
      waitFor("kube-scheduler", scheduler),
    ]);
    await waitForDefaultServiceAccount(server, adminTls, timeoutMs, log("kube-controller-manager"));

    const nodeNames: string[] = [];
    if ((options.nodes ?? 0) > 0) {
      network ??= await createClusterNetwork();
      progress(
        `starting ${options.nodes} local nodes (pods on ${network.bridge}, ${network.podCidr})${serviceProxy ? ` and kube-proxy (services on ${serviceCidr})` : ""}`,
      );
      if (serviceProxy) await prepareBridgeForServices(network, requireNft());
      await grantAddonsRole(server, adminTls);
      const addonsConfig = writeAddonsConfig(dir, pki, server, name, network.octet, serviceProxy);
      const launches = [
        waitFor("addons", launch("addons", process.execPath, [addonsMain, addonsConfig])),
      ];
      for (let i = 1; i <= (options.nodes ?? 0); i++) {
        const nodeName = `${name}-node-${i}`;
        const component: ComponentName = `node-${i}`;
        const config = await writeNodeConfig({
          dir,
          pki,
          server,
          clusterName: name,
          nodeName,
          index: i,
          zone: zoneOf(options.zones, i),
          networkOctet: network.octet,
          kubeletPort: await freePort(),
          ...(serviceProxy ? { serviceProxy } : {}),
        });
        nodeNames.push(nodeName);
        launches.push(waitFor(component, launch(component, process.execPath, [nodeMain, config])));
      }
      if (serviceProxy) {
        const proxy = writeKubeProxyFiles({
          dir,
          pki,
          server,
          clusterName: name,
          net: network,
          nodeName: `${name}-node-1`,
          healthzPort: await freePort(),
          metricsPort: await freePort(),
          nft: requireNft(),
        });
        healthChecks["kube-proxy"] = { url: proxy.metrics, accept: kubeProxySynced };
        const kubeProxy = launch(
          "kube-proxy",
          binaries["kube-proxy"] as string,
          proxy.args,
          proxy.env,
        );
        launches.push(waitFor("kube-proxy", kubeProxy));
      }
      await Promise.all(launches);
      registerNetworkUsers(
        network,
        started.map((s) => s.record.pid),
      );
    }

    const state: ClusterState = {
      name,
      server,
      kubeconfig: kubeconfigs.admin,
      ports,
      kubernetesVersion: readVersions().kubernetes,
      processes: started.map((s) => s.record),
      ...(network ? { networkOctet: network.octet } : {}),
      serviceCidr,
      ...(serviceProxy ? { serviceProxy } : {}),
      nodes: nodeNames,
      startedAt: new Date().toISOString(),
    };
    writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
    const find = (component: ComponentName) => {
      const index = started.findIndex((s) => s.record.name === component);
      const spec = specs.get(component);
      const previous = started[index];
      if (index < 0 || !spec || !previous) throw new Error(`no component named ${component}`);
      return { index, spec, previous };
    };
    const stopComponent = async (component: ComponentName, { graceMs = 10_000 } = {}) => {
      await stopProcess(find(component).previous.record, graceMs);
    };
    const startComponent = async (component: ComponentName) => {
      const { index, spec, previous } = find(component);
      if (isRunning(previous.record)) throw new Error(`${component} is already running`);
      const again = startProcess({
        name: component,
        ...spec,
        logFile: log(component),
        lifetime: options.lifetime,
      });
      started[index] = again;
      controlPlane.processes = started.map((s) => s.record);
      await waitFor(component, again);
    };
    const restart = async (component: ComponentName, options: { graceMs?: number } = {}) => {
      await stopComponent(component, options);
      await startComponent(component);
    };
    const controlPlane: ControlPlane = {
      ...state,
      dir,
      pki,
      restart,
      stopComponent,
      startComponent,
      stop: async ({ keepData = false } = {}) => {
        await stopAll();
        if (network) await deleteClusterNetwork(network);
        if (!keepData) rmSync(dir, { recursive: true, force: true });
      },
    };
    return controlPlane;
  } catch (error) {
    await stopAll();
    if (network) await deleteClusterNetwork(network);
    // Nothing of a failed start is worth keeping but its logs. (The serving
    // certificate names the network's kubernetes Service IP: a retry may get
    // another network.)
    rmSync(join(dir, "etcd"), { recursive: true, force: true });
    if (network) rmSync(join(dir, "pki", "apiserver.crt"), { force: true });
    rmSync(stateFile(dir), { force: true });
    throw error;
  }
}

async function waitForDefaultServiceAccount(
  server: string,
  tls: { ca: string; cert: string; key: string },
  timeoutMs: number,
  kcmLog: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls);
    if (result.status === 200) return;
    await sleep(250);
  }
  throw componentFailed(
    "kube-controller-manager",
    kcmLog,
    "did not create the default ServiceAccount",
  );
}

/** Stops a cluster started by another process (`dev down`), from its state file. */
export async function stopCluster(dir: string): Promise<{ stopped: string[] }> {
  const state = readState(dir);
  const stopped: string[] = [];
  for (const record of [...(state?.processes ?? [])].reverse()) {
    if (isRunning(record)) {
      await stopProcess(record);
      stopped.push(record.name);
    }
  }
  if (state?.networkOctet !== undefined)
    await deleteClusterNetwork(clusterNetworkOf(state.networkOctet));
  rmSync(dir, { recursive: true, force: true });
  return { stopped };
}

function etcdArgs(dir: string, ports: Ports): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    "--name=default",
    `--data-dir=${join(dir, "etcd")}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    // A throwaway cluster: durability across power loss buys nothing here.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
}

function apiserverArgs(pki: Pki, ports: Ports, serviceCidr: string): string[] {
  const kubeletClient = pki.client("kubeletClient");
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${ports.apiserver}`,
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.caCert}`,
    "--authorization-mode=Node,RBAC",
    // On top of the defaults (which include PodSecurity and ServiceAccount).
    "--enable-admission-plugins=NodeRestriction",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    `--service-cluster-ip-range=${serviceCidr}`,
    // Local nodes' hostnames resolve nowhere; their kubelet API is on 127.0.0.1.
    "--kubelet-preferred-address-types=InternalIP,Hostname",
    `--kubelet-client-certificate=${kubeletClient.cert}`,
    `--kubelet-client-key=${kubeletClient.key}`,
    // The aggregation layer (metrics-server and other extension API servers).
    `--requestheader-client-ca-file=${pki.frontProxyCaCert}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${pki.frontProxyClientCert}`,
    `--proxy-client-key-file=${pki.frontProxyClientKey}`,
    "--allow-privileged=true",
    "--profiling=false",
  ];
}

function controllerManagerArgs(
  dir: string,
  pki: Pki,
  ports: Ports,
  name: string,
  kubeconfig: string,
): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${ports.controllerManager}`,
    `--cert-dir=${join(dir, "controller-manager-serving")}`,
    "--leader-elect=false",
    `--cluster-name=${name}`,
    "--controllers=*",
    // Each controller acts as its own service account, so RBAC is exercised
    // the way it is in a real cluster.
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    // Published into every namespace as kube-root-ca.crt, which projected
    // service account volumes need.
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    // Notice a stopped local node in ~20 s rather than the default 50 s.
    "--node-monitor-period=2s",
    "--node-monitor-grace-period=20s",
    "--profiling=false",
  ];
}

function schedulerArgs(dir: string, ports: Ports, kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${ports.scheduler}`,
    `--cert-dir=${join(dir, "scheduler-serving")}`,
    "--leader-elect=false",
    "--profiling=false",
  ];
}
