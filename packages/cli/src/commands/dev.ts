/** `ballast dev …`: the local cluster. */
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join, relative } from "node:path";
import { stripVTControlCharacters } from "node:util";
import {
  checkSystemPackages,
  clientBinaries,
  DevClusterError,
  ensureBinaries,
  installCommand,
  isRunning,
  missingSystemPackages,
  type Ports,
  readState,
  repoRoot,
  requireTool,
  startControlPlane,
  stopCluster,
  type ToolName,
  tools,
  updateAndInstallCommand,
} from "@ballast/dev";
import { defineCommand, UsageError } from "../cli.ts";

/** `.ballast/` of this checkout: kubeconfig, client links, cluster data. */
export const ballastDir = () => process.env.BALLAST_HOME ?? join(repoRoot, ".ballast");
const clusterDir = (name: string) => join(ballastDir(), "clusters", name);
const kubeconfigPath = (name: string) =>
  name === "ballast" ? join(ballastDir(), "kubeconfig") : join(ballastDir(), `${name}.kubeconfig`);

const nameOption = { name: { type: "string", default: "ballast" } } as const;
const nameHelp = { name: "cluster name, to run several side by side (default: ballast)" };

function validName(name: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/.test(name)) {
    throw new UsageError(
      `cluster name "${name}" must be lower-case letters, digits and '-', at most 32 characters`,
    );
  }
  return name;
}

function portOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${flag} must be a TCP port number (1-65535), not "${value}"`);
  }
  return port;
}

const show = (path: string) => relative(process.cwd(), path) || ".";

export const devUp = defineCommand({
  name: "dev up",
  summary: "start a local Kubernetes cluster on 127.0.0.1 (builds its binaries the first time)",
  usage:
    "ballast dev up [--name NAME] [--nodes N] [--zones A,B,C] [--port PORT] [--no-service-proxy]",
  options: {
    ...nameOption,
    nodes: { type: "string", default: "3" },
    zones: { type: "string" },
    "no-service-proxy": { type: "boolean" },
    port: { type: "string" },
    "etcd-port": { type: "string" },
  },
  optionHelp: {
    ...nameHelp,
    nodes: "local nodes that run pods as real processes (default: 3; 0 for a control plane only)",
    zones: "zones the nodes are spread over, comma-separated (default: zone-a,zone-b,zone-c)",
    "no-service-proxy":
      "no kube-proxy: Service names resolve to their pods' IPs, as if headless (default: kube-proxy runs, cluster IPs work)",
    port: "kube-apiserver port (default: a free one)",
    "etcd-port": "etcd client port (default: a free one)",
  },
  details:
    "The cluster keeps running after this command returns; stop it with `ballast dev down`.\nBinaries are built from Go modules once per machine and cached in ~/.cache/ballast\n(or $BALLAST_CACHE_DIR).",
  async run({ values }) {
    const name = validName(values.name ?? "ballast");
    const ports: Partial<Ports> = {};
    const apiserver = portOption(values.port, "--port");
    const etcd = portOption(values["etcd-port"], "--etcd-port");
    if (apiserver !== undefined) ports.apiserver = apiserver;
    if (etcd !== undefined) ports.etcdClient = etcd;

    const nodes = Number(values.nodes ?? "3");
    if (!Number.isInteger(nodes) || nodes < 0 || nodes > 20) {
      throw new UsageError(`--nodes must be a whole number from 0 to 20, not "${values.nodes}"`);
    }
    const zones = values.zones
      ?.split(",")
      .map((z) => z.trim())
      .filter(Boolean);
    if (zones?.some((z) => !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(z))) {
      throw new UsageError(
        `--zones must be label values such as zone-a,zone-b, not "${values.zones}"`,
      );
    }
    const started = Date.now();
    const say = (message: string) => console.error(`• ${message}`);
    const cluster = await startControlPlane({
      dir: clusterDir(name),
      name,
      lifetime: "detached",
      ports,
      nodes,
      ...(zones ? { zones } : {}),
      serviceProxy: values["no-service-proxy"] !== true,
      onProgress: say,
    });
    const clients = await ensureBinaries(clientBinaries, {
      onBuild: (binary, version) =>
        say(`building ${binary} (${version}) from Go modules — first run only`),
    });
    const binDir = join(ballastDir(), "bin");
    mkdirSync(binDir, { recursive: true });
    for (const [binary, path] of Object.entries(clients)) {
      rmSync(join(binDir, binary), { force: true });
      symlinkSync(path, join(binDir, binary));
    }
    copyFileSync(cluster.kubeconfig, kubeconfigPath(name));

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      [
        `Cluster "${name}" is up in ${seconds}s: Kubernetes ${cluster.kubernetesVersion}, API server ${cluster.server}, ${cluster.nodes.length} node(s)`,
        "",
        "Use it:",
        `  export KUBECONFIG=${kubeconfigPath(name)} PATH=${binDir}:$PATH`,
        "  kubectl get nodes -L topology.kubernetes.io/zone && kubectl get pods -A -o wide",
        "",
        `Logs: ${show(join(cluster.dir, "logs"))}/   Status: npx ballast dev status${name === "ballast" ? "" : ` --name ${name}`}   Stop: npx ballast dev down${name === "ballast" ? "" : ` --name ${name}`}`,
      ].join("\n"),
    );
    return 0;
  },
});

export const devDown = defineCommand({
  name: "dev down",
  summary: "stop a local cluster and delete its data; leaves no process behind",
  usage: "ballast dev down [--name NAME]",
  options: { ...nameOption },
  optionHelp: nameHelp,
  async run({ values }) {
    const name = validName(values.name ?? "ballast");
    const dir = clusterDir(name);
    if (!existsSync(dir)) {
      console.log(`No cluster "${name}" here (${show(dir)} does not exist); nothing to stop.`);
      return 0;
    }
    const { stopped } = await stopCluster(dir);
    rmSync(kubeconfigPath(name), { force: true });
    console.log(
      stopped.length > 0
        ? `Cluster "${name}" stopped (${stopped.join(", ")}) and its data removed.`
        : `Cluster "${name}" was not running; its leftover data was removed.`,
    );
    return 0;
  },
});

export const devStatus = defineCommand({
  name: "dev status",
  summary: "show whether a local cluster runs, its processes and how to reach it",
  usage: "ballast dev status [--name NAME]",
  options: { ...nameOption },
  optionHelp: nameHelp,
  async run({ values }) {
    const name = validName(values.name ?? "ballast");
    const state = readState(clusterDir(name));
    if (!state) {
      console.log(`Cluster "${name}": not running. Start it with \`npx ballast dev up\`.`);
      return 3;
    }
    const rows = state.processes.map((p) => {
      const up = isRunning(p);
      return { up, line: `  ${p.name.padEnd(26)}${up ? `running  pid ${p.pid}` : "STOPPED"}` };
    });
    const healthy = rows.every((r) => r.up);
    console.log(
      [
        `Cluster "${name}": ${healthy ? "running" : "DEGRADED — some processes are gone"}`,
        `  API server      ${state.server}  (Kubernetes ${state.kubernetesVersion})`,
        `  kubeconfig      ${kubeconfigPath(name)}`,
        `  nodes           ${state.nodes?.length ? state.nodes.join(", ") : "none (control plane only)"}${state.networkOctet !== undefined ? `; pods on 10.${state.networkOctet}.0.0/16` : ""}`,
        `  services        ${state.serviceCidr ?? "10.96.0.0/16"}${state.serviceProxy ? " (kube-proxy, nftables)" : " (no service proxy: names resolve to pod IPs)"}`,
        `  started         ${state.startedAt}`,
        "",
        ...rows.map((r) => r.line),
        ...(healthy ? [] : ["", "Restart it: `npx ballast dev down && npx ballast dev up`."]),
      ].join("\n"),
    );
    return healthy ? 0 : 1;
  },
});

export const devDoctor = defineCommand({
  name: "dev doctor",
  summary: "check Go and the system packages the local cluster and its images need",
  usage: "ballast dev doctor",
  options: {},
  details:
    "The packages are those of dev/toolchain/system-packages.txt, the list `npm run demo` and\n`npm test` install from when run as root.",
  async run() {
    let problems = 0;
    const line = (state: string, what: string, detail: string) =>
      console.log(`  ${state.padEnd(8)} ${what.padEnd(24)} ${detail}`);
    try {
      line("ok", "go", requireTool("go"));
    } catch (error) {
      if (!(error instanceof DevClusterError)) throw error;
      problems++;
      line("MISSING", "go", `${error.message}\n           → ${error.fix}`);
    }
    const checks = checkSystemPackages();
    const missing = missingSystemPackages(checks);
    for (const pkg of new Set(checks.map((c) => c.package))) {
      const mine = checks.filter((c) => c.package === pkg);
      if (missing.includes(pkg)) {
        problems++;
        line("MISSING", pkg, `→ ${installCommand([pkg])}`);
        for (const c of mine.filter((c) => c.found === undefined)) {
          const where = c.check.startsWith("/") ? "" : " on PATH";
          console.log(`             no ${c.check}${where}: needed to ${c.purpose}`);
        }
      } else {
        const from = mine[0]?.from;
        const origin = from ? ` (${from.version} from ${from.suite}, unpacked)` : "";
        line(
          "ok",
          pkg,
          mine.map((c) => withVersion(c.check, c.found ?? c.check)).join(", ") + origin,
        );
      }
    }
    if (missing.length > 0) {
      console.log(
        [
          "",
          `Missing system packages: ${missing.join(" ")}. Install them all with:`,
          `  ${updateAndInstallCommand(missing)}`,
          "(`npm run demo` and `npm test` install them themselves when run as root.)",
        ].join("\n"),
      );
    }
    return problems === 0 ? 0 : 1;
  },
});

/** `/usr/bin/java (openjdk version "17.0.15" …)` for the listed commands that are toolchains. */
function withVersion(check: string, path: string): string {
  if (!(check in tools)) return path;
  try {
    // Maven colours its banner even in batch mode.
    const version = stripVTControlCharacters(requireTool(check as ToolName));
    return `${path} (${version})`;
  } catch {
    return path;
  }
}

export const devCommands = [devUp, devDown, devStatus, devDoctor];
